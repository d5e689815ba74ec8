"""The VICS 2.0 export: graded pictures of one scan, written as a #Cases document, imported
through the project's own VICS reader as a hash set, find the same pictures in another scan
(exact copies by MD5/SHA-1, an altered copy by PDQ)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import skimage.data
from PIL import Image, ImageOps

from fellwatch.hashsets.store import HashSetStore
from fellwatch.hashsets.vics import VicsJson, read_suggestions
from fellwatch.reports.vics_export import (
    VicsCase,
    VicsExportError,
    VicsFile,
    VicsMedia,
    load_grade_map,
    write_vics,
    write_vics_file,
)
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings

GRADES = {"astronaut.png": "A", "coffee.jpg": "C", "camera.png": "N"}


def _save(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, fmt)
    return buf.getvalue()


def _pictures() -> dict[str, bytes]:
    return {
        "astronaut.png": _save(Image.fromarray(skimage.data.astronaut()), "PNG"),
        "coffee.jpg": _save(Image.fromarray(skimage.data.coffee()), "JPEG"),
        "camera.png": _save(Image.fromarray(skimage.data.camera()), "PNG"),
    }


def _media(items: list[dict]) -> list[VicsMedia]:
    media = [
        VicsMedia(
            md5=i["md5"], sha1=i["sha1"], size=i["size"], grade=GRADES[Path(i["path"]).name],
            pdq=i["signals"]["pdq"]["hash"],
            files=(VicsFile(f"JD/1{i['path']}", deleted=False, unallocated=False),),
        )
        for i in items
    ]
    return sorted(media, key=lambda m: (m.md5, m.sha1))


@pytest.fixture(scope="module")
def first_scan(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("first")
    evidence = root / "evidence"
    evidence.mkdir()
    for name, data in _pictures().items():
        (evidence / name).write_bytes(data)
    report = scan([str(evidence)], root / "out", ScanSettings(workers=1, carve=False),
                  store=HashSetStore(root / "data"), progress=False)
    return report.findings


def test_export_shape_and_categories_through_the_grade_map(first_scan: dict,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    assert write_vics_file(out, VicsCase("OP-1"), _media(first_scan["items"])) == 3
    assert out.stat().st_mode & 0o777 == 0o600
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["@odata.context"].endswith("/2.0.xml/Default/$metadata#Cases")
    [case] = doc["value"]
    assert case["CaseID"] == "OP-1"
    by_path = {m["MediaFiles"][0]["FilePath"]: m for m in case["Media"]}
    assert {p: m["Category"] for p, m in by_path.items()} == {
        "JD/1/astronaut.png": 1, "JD/1/coffee.jpg": 1, "JD/1/camera.png": 0}
    m = by_path["JD/1/coffee.jpg"]
    item = next(i for i in first_scan["items"] if i["path"] == "/coffee.jpg")
    assert (m["MD5"], m["SHA1"], m["MediaSize"]) == (item["md5"].upper(), item["sha1"].upper(),
                                                     item["size"])
    assert m["AlternativeHashes"] == [{"HashName": "PDQ",
                                       "HashValue": item["signals"]["pdq"]["hash"]}]
    assert m["MediaFiles"] == [{"FilePath": "JD/1/coffee.jpg", "Deleted": False,
                                "Unallocated": False}]
    assert m["IsPrecategorized"] is False
    assert [x["MediaID"] for x in case["Media"]] == [1, 2, 3]
    # Deterministic: the same media give the same bytes.
    again = io.StringIO()
    write_vics(again, VicsCase("OP-1"), _media(first_scan["items"]))
    assert again.getvalue() == out.read_text(encoding="utf-8")
    assert VicsJson().sniff(out.read_bytes()[:4096], out)


def test_import_as_a_hash_set_finds_the_same_pictures(first_scan: dict, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    write_vics_file(out, VicsCase("OP-1"), _media(first_scan["items"]))
    pictures = _pictures()
    evidence = tmp_path / "second"
    evidence.mkdir()
    (evidence / "copy-of-astronaut.png").write_bytes(pictures["astronaut.png"])
    (evidence / "camera.png").write_bytes(pictures["camera.png"])
    coffee = Image.open(io.BytesIO(pictures["coffee.jpg"]))
    (evidence / "mirrored-coffee.jpg").write_bytes(_save(ImageOps.mirror(coffee), "JPEG"))
    (evidence / "rocket.png").write_bytes(_save(Image.fromarray(skimage.data.rocket()), "PNG"))
    report = scan([str(evidence)], tmp_path / "out", ScanSettings(workers=1, carve=False),
                  hashsets=[str(out)], store=HashSetStore(tmp_path / "data"), progress=False)
    [hashset] = report.findings["hashsets"]
    assert (hashset["format"], hashset["counts"]) == ("vics", {"md5": 3, "pdq": 3, "sha1": 3})
    found = {Path(i["path"]).name: i for i in report.findings["items"]}

    def kinds(name: str) -> set[tuple[str, str | None]]:
        return {(m["kind"], m.get("category")) for m in found[name]["matches"]}

    assert {("md5", "CAM"), ("sha1", "CAM"), ("pdq", "CAM")} <= kinds("copy-of-astronaut.png")
    assert kinds("mirrored-coffee.jpg") == {("pdq", "CAM")}
    assert found["mirrored-coffee.jpg"]["matches"][0]["variant"] == "flip-lr"
    assert ("sha1", "non-pertinent") in kinds("camera.png")
    assert found["rocket.png"]["matches"] == []


def test_suggestions_from_a_vics_file(first_scan: dict, tmp_path: Path) -> None:
    out = tmp_path / "export.json"
    media = _media(first_scan["items"])
    write_vics_file(out, VicsCase("OP-1"), media)
    suggestions = list(read_suggestions(out))
    assert [(s.md5, s.sha1, s.pdq, s.category) for s in suggestions] == [
        (m.md5, m.sha1, m.pdq, "0" if m.grade == "N" else "1") for m in media]


def test_refusals(first_scan: dict, tmp_path: Path) -> None:
    media = _media(first_scan["items"])
    with pytest.raises(VicsExportError, match="out of order"):
        write_vics(io.StringIO(), VicsCase("OP-1"), list(reversed(media)))
    with pytest.raises(VicsExportError, match="not in the grade map"):
        write_vics(io.StringIO(), VicsCase("OP-1"), [media[0].__class__(
            md5="a" * 32, sha1="b" * 40, size=1, grade="Z")])
    unit_map = tmp_path / "grades.json"
    unit_map.write_text('{"N": 2}')
    assert load_grade_map(unit_map)["N"] == 2 and load_grade_map()["N"] == 0
    unit_map.write_text('{"N": 7}')
    with pytest.raises(VicsExportError, match="not a Project VIC category"):
        load_grade_map(unit_map)
    empty = io.StringIO()
    assert write_vics(empty, VicsCase("OP-2"), []) == 0
    assert json.loads(empty.getvalue())["value"][0]["Media"] == []
