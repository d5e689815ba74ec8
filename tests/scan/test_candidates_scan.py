"""`fellwatch scan` writes PDQ candidates on the item in findings.json and counts them nowhere
as matched: a faded copy of a known picture (quality below 50) and a copy pushed a few bits
past the threshold are offered for review, an unrelated picture is not."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image

from fellwatch.hashsets.store import HashSetStore
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings
from fellwatch.signals.pdq import hash_picture


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_candidates_are_written_and_never_counted(tmp_path: Path) -> None:
    astronaut = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    known = hash_picture(io.BytesIO(_png(astronaut)))
    coffee = hash_picture(io.BytesIO(_png(Image.fromarray(skimage.data.coffee()))))
    pdq_list = tmp_path / "known.pdq.csv"
    # The set holds astronaut as it is, and coffee's hash moved 34 bits: coffee on disk is
    # then three bits past the threshold.
    pdq_list.write_text(
        "pdq,quality,category\n"
        f"{known['hash']},100,1\n"
        f"{int(coffee['hash'], 16) ^ ((1 << 34) - 1):064x},100,2\n"
    )
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    arr = np.asarray(astronaut).astype(np.float64)
    faded = Image.fromarray((128 + (arr - 128) * 0.08).clip(0, 255).astype(np.uint8))
    (evidence / "faded.png").write_bytes(_png(faded))
    (evidence / "coffee.png").write_bytes(_png(Image.fromarray(skimage.data.coffee())))
    (evidence / "rocket.png").write_bytes(_png(Image.fromarray(skimage.data.rocket())))

    report = scan([str(evidence)], tmp_path / "out", ScanSettings(workers=1, carve=False),
                  hashsets=[str(pdq_list)], store=HashSetStore(tmp_path / "data"),
                  progress=False)
    items = {Path(i["path"]).name: i for i in report.findings["items"]}
    faded_item, coffee_item, rocket_item = items["faded.png"], items["coffee.png"], items[
        "rocket.png"]
    assert faded_item["matches"] == [] and faded_item["review"]
    [c] = faded_item["candidates"]
    quality = faded_item["signals"]["pdq"]["quality"]
    assert 20 <= quality < 50
    assert c["reason"] == f"quality {quality} below 50" and c["category"] == "CAM"
    assert coffee_item["matches"] == [] and coffee_item["review"]
    [c] = coffee_item["candidates"]
    assert (c["distance"], c["reason"], c["category"]) == (
        34, "distance 34 beyond threshold 31", "exploitive/age-difficult")
    assert rocket_item["candidates"] == [] and rocket_item["review"]
    summary = report.findings["summary"]
    assert (summary["matched"], summary["candidates"], summary["by_category"]) == (0, 2, {})
    assert summary["review"] == 3
