"""Reports: findings.json, inventory.csv, report.html and VICS export, from the store only."""
