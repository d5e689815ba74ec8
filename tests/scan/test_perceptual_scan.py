"""`fellwatch scan` finds altered copies of pictures in a PDQ hash set, on a disk image.

The known set holds PDQ hashes computed by plain pdqhash on the full-size originals (as a
national set would hold them); the disk holds mirrored, rotated, bordered, resized and
recompressed copies, and distinct pictures that must not match.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image, ImageOps

from fellwatch.hashsets.store import HashSetStore
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings

KNOWN = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg")
DISTINCT = ("rocket.jpg", "camera.png", "moon.png", "brick.jpg", "coins.jpg", "clock.png")


def _jpeg(picture: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    picture.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _altered(pictures: Path) -> dict[str, tuple[bytes, str]]:
    """name on disk -> (bytes, the original it was made from)."""
    astronaut = Image.open(pictures / "astronaut.jpg")
    chelsea = Image.open(pictures / "chelsea.jpg")
    coffee = Image.open(pictures / "coffee.jpg")
    return {
        "MIRROR.JPG": (_jpeg(ImageOps.mirror(astronaut)), "astronaut.jpg"),
        "ROT90.JPG": (_jpeg(chelsea.rotate(-90, expand=True)), "chelsea.jpg"),
        "BORDER.JPG": (_jpeg(ImageOps.expand(coffee, border=40, fill="black")), "coffee.jpg"),
        "HALF.JPG": (_jpeg(astronaut.resize((astronaut.width // 2, astronaut.height // 2))),
                     "astronaut.jpg"),
        "Q40.JPG": (_jpeg(chelsea, quality=40), "chelsea.jpg"),
    }  # fmt: skip


def test_altered_copies_match_and_distinct_pictures_do_not(fixture_images, tmp_path):
    pictures = fixture_images.path("pictures")
    rows = ["pdq,quality,category"]
    for name in KNOWN:
        pixels = np.asarray(Image.open(pictures / name).convert("RGB"))
        bits, quality = pdqhash.compute(pixels)
        rows.append(f"{np.packbits(bits).tobytes().hex()},{quality},1")
    pdq_list = tmp_path / "known.pdq.csv"
    pdq_list.write_text("\n".join(rows) + "\n")

    image = tmp_path / "card.img"
    subprocess.run(["mkfs.vfat", "-C", str(image), "16384"], check=True, capture_output=True)
    altered = _altered(pictures)
    for name, (data, _) in altered.items():
        (tmp_path / name).write_bytes(data)
        subprocess.run(["mcopy", "-i", str(image), str(tmp_path / name), f"::/{name}"],
                       check=True)  # fmt: skip
    for name in DISTINCT:
        subprocess.run(["mcopy", "-i", str(image), str(pictures / name), f"::/{name.upper()}"],
                       check=True)  # fmt: skip

    report = scan(
        [str(image)],
        tmp_path / "out",
        ScanSettings(workers=1, carve=False),
        hashsets=[str(pdq_list)],
        store=HashSetStore(tmp_path / "data"),
        progress=False,
    )
    found = {i["path"]: i for i in report.findings["items"]}
    for name in altered:
        matches = found[f"/{name}"]["matches"]
        assert [m["kind"] for m in matches] == ["pdq"], name
        assert matches[0]["distance"] <= 31, name
    assert found["/MIRROR.JPG"]["matches"][0]["variant"] == "flip-lr"
    assert found["/ROT90.JPG"]["matches"][0]["variant"].startswith("rot")
    assert "trimmed" in found["/BORDER.JPG"]["matches"][0]["variant"]
    for name in DISTINCT:
        item = found[f"/{name.upper()}"]
        assert item["matches"] == [] and item["review"], name
    assert report.findings["summary"]["matched"] == len(altered)
    # The index is kept with the set: a second scan loads it instead of building it.
    assert any((tmp_path / "data" / "index").iterdir())
