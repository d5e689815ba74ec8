"""`fellwatch demo`: the main job on built-in sample data (benign generated pictures).

Scans `demo.E01` against the demo known-bad VICS set and the demo NSRL known-good set. The hash
sets are imported into a store inside the output folder so the demo never touches the
examiner's own data directory.
"""

from __future__ import annotations

from pathlib import Path

from fellwatch.hashsets.store import HashSetStore
from fellwatch.scan.job import ScanReport, scan
from fellwatch.settings import ScanSettings

DEMO_DIR = Path(__file__).resolve().parent
EVIDENCE = DEMO_DIR / "demo.E01"
# The names the sets are imported under (expected.json names them so).
HASHSETS = {"demo": DEMO_DIR / "demo-hashset.json", "demo-nsrl": DEMO_DIR / "demo-nsrl.db"}


def run_demo(out_dir: Path, progress: bool = True) -> ScanReport:
    store = HashSetStore(out_dir / "hashsets")
    for name, path in HASHSETS.items():
        store.import_file(path, name=name)
    return scan(
        [str(EVIDENCE)],
        out_dir,
        ScanSettings.from_env(),
        hashsets=list(HASHSETS),
        store=store,
        restart=True,
        progress=progress,
    )
