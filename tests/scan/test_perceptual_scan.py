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


def _photo(pictures: Path, name: str) -> Image.Image:
    """A fixture picture at a phone photo's size (2000 px long side)."""
    img = Image.open(pictures / name).convert("RGB")
    scale = 2000 / max(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)),
                      Image.Resampling.BICUBIC)


def test_turned_and_mirrored_photos_match_on_their_exact_variant(fixture_images, tmp_path):
    # Photos are hashed on PDQ's dihedral grid, where every turned and mirrored copy gives
    # back the original's hash up to recompression noise: through the whole scan, each must be
    # found on the variant that names what was done to it, and distinct photos must not match.
    pictures = fixture_images.path("pictures")
    known = {name: _photo(pictures, name) for name in KNOWN}
    rows = ["pdq,quality,category"]
    for img in known.values():
        bits, quality = pdqhash.compute(np.asarray(img))  # as a national set holds them
        rows.append(f"{np.packbits(bits).tobytes().hex()},{quality},1")
    pdq_list = tmp_path / "known.pdq.csv"
    pdq_list.write_text("\n".join(rows) + "\n")
    T = Image.Transpose
    copies = {
        "P-LR.JPG": ("astronaut.jpg", T.FLIP_LEFT_RIGHT, "flip-lr"),
        "P-TB.JPG": ("chelsea.jpg", T.FLIP_TOP_BOTTOM, "flip-tb"),
        "P-ROT90.JPG": ("coffee.jpg", T.ROTATE_270, "rot90"),  # Pillow turns anticlockwise
        "P-ROT180.JPG": ("astronaut.jpg", T.ROTATE_180, "rot180"),
        "P-ROT270.JPG": ("chelsea.jpg", T.ROTATE_90, "rot270"),
        "P-TRANSV.JPG": ("coffee.jpg", T.TRANSVERSE, "transverse"),
    }
    image = tmp_path / "card.img"
    subprocess.run(["mkfs.vfat", "-C", str(image), "32768"], check=True, capture_output=True)
    files = {name: _jpeg(known[src].transpose(t)) for name, (src, t, _) in copies.items()}
    files |= {f"P-{n.split('.')[0].upper()}.JPG": _jpeg(_photo(pictures, n)) for n in DISTINCT[:3]}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        subprocess.run(["mcopy", "-i", str(image), str(tmp_path / name), f"::/{name}"],
                       check=True)  # fmt: skip

    report = scan([str(image)], tmp_path / "out", ScanSettings(workers=1, carve=False),
                  hashsets=[str(pdq_list)], store=HashSetStore(tmp_path / "data"),
                  progress=False)
    found = {i["path"]: i for i in report.findings["items"]}
    for name, (_, _, variant) in copies.items():
        [match] = found[f"/{name}"]["matches"]
        assert (match["kind"], match["variant"]) == ("pdq", variant), name
        # Plain pdqhash at full size against the grid: the grid's drift plus JPEG's noise,
        # 2-6 bits on these (bit-exactness itself is tested in tests/signals/test_pdq.py).
        assert match["distance"] <= 12, (name, match["distance"])
    for name in DISTINCT[:3]:
        assert found[f"/P-{name.split('.')[0].upper()}.JPG"]["matches"] == [], name
    assert report.findings["summary"]["matched"] == len(copies)
