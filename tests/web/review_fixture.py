"""A fixture exhibit of benign pictures (scikit-image samples), scanned for real by the engine,
for the review tests: a known picture (an exact match in a VICS set, category A), two
candidates (a faded copy of the known picture, and a picture 34 bits from a PDQ of the set),
one picture twice (a stack), and unknown pictures. The scan makes the thumbnails the gallery
serves (OUT/scan.sqlite)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import skimage.data
from PIL import Image


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _faded(img: Image.Image) -> Image.Image:
    arr = np.asarray(img.convert("RGB")).astype(np.float64)
    return Image.fromarray((128 + (arr - 128) * 0.08).clip(0, 255).astype(np.uint8))


def pictures() -> dict[str, bytes]:
    """Evidence path -> bytes."""
    astronaut = Image.fromarray(skimage.data.astronaut())
    chelsea = Image.fromarray(skimage.data.chelsea())
    coffee = _png(Image.fromarray(skimage.data.coffee()))
    return {
        "DCIM/astronaut.png": _png(astronaut),
        "DCIM/faded-astronaut.png": _png(_faded(astronaut)),
        "Downloads/chelsea.png": _png(chelsea),
        "DCIM/coffee.png": coffee,
        "Backup/coffee-copy.png": coffee,
        "Pictures/rocket.png": _png(Image.fromarray(skimage.data.rocket())),
        "Pictures/camera.png": _png(Image.fromarray(skimage.data.camera()).convert("RGB")),
    }


def vics_set(path: Path, files: dict[str, bytes]) -> Path:
    """Known-bad VICS 2.0 set: astronaut exactly (category A, with its PDQ), and a PDQ 34 bits
    from rocket's (category B): rocket is then a candidate three bits past the threshold."""
    from fellwatch.signals.pdq import hash_picture

    astronaut = files["DCIM/astronaut.png"]
    rocket = int(hash_picture(io.BytesIO(files["Pictures/rocket.png"]))["hash"], 16)
    media = [
        {"MediaID": 1, "Category": "A", "MD5": hashlib.md5(astronaut).hexdigest(),
         "SHA1": hashlib.sha1(astronaut).hexdigest(), "MediaSize": len(astronaut),
         "AlternativeHashes": [{"HashName": "PDQ",
                                "HashValue": hash_picture(io.BytesIO(astronaut))["hash"]}]},
        {"MediaID": 2, "Category": "B",
         "AlternativeHashes": [{"HashName": "PDQ",
                                "HashValue": f"{rocket ^ ((1 << 34) - 1):064x}"}]},
    ]
    doc = {"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/"
                             "US/$metadata#Media", "value": media}
    path.write_text(json.dumps(doc))
    return path


def scan_exhibit(root: Path, name: str = "JD-1") -> Path:
    """Scan the fixture evidence folder; returns the scan's output directory."""
    from fellwatch.hashsets.store import HashSetStore
    from fellwatch.scan.job import scan
    from fellwatch.settings import ScanSettings

    files = pictures()
    evidence = root / name
    for rel, data in files.items():
        (evidence / rel).parent.mkdir(parents=True, exist_ok=True)
        (evidence / rel).write_bytes(data)
    (evidence / "notes.txt").write_text("shopping list\n")
    hashset = vics_set(root / "known.vics.json", files)
    out = root / f"{name}-scan"
    scan([str(evidence)], out, ScanSettings(workers=1, carve=False), hashsets=[str(hashset)],
         store=HashSetStore(root / "hashsets"), progress=False)
    return out


_CACHE: dict[str, Path] = {}


def scanned(tmp_root: Path, name: str = "JD-1") -> Path:
    """One real scan per test process, copied for each test (a test may write beside it)."""
    if name not in _CACHE:
        _CACHE[name] = scan_exhibit(tmp_root, name)
    return _CACHE[name]


def copy_scan(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def by_name(findings: Any) -> dict[str, Any]:
    return {Path(f.path).name: f for f in findings}
