"""The unit's records: a Django project. The engine never imports this package."""
