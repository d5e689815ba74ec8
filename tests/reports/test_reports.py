"""Reports from the store: hostile names stay inert, carved duplicates are counted once."""

import csv
import json

from fellwatch.record import ItemRecord, Match
from fellwatch.reports.findings import build_findings, write_outputs
from fellwatch.reports.html import write_html
from fellwatch.store.scanstore import ScanStore


def _record(key, path, origin="filesystem", sha256="aa", matches=(), error=None, review=False):
    return ItemRecord.from_json({
        "key": key,
        "evidence": "ev.E01",
        "path": path,
        "path_spec": None,
        "partition": "p1",
        "inode": 5,
        "offset": 4096 if origin == "carved" else None,
        "size": 10,
        "allocated": True,
        "origin": origin,
        "times": {},
        "md5": "m",
        "sha1": "s",
        "sha256": sha256,
        "content_type": "image/jpeg",
        "signals": {},
        "error": error,
        "matches": list(matches),
        "known_good": False,
        "review": review,
    })


BAD = {"hashset": "caid", "set_kind": "known-bad", "kind": "md5", "category": "A", "distance": 0}


def _store(tmp_path, records):
    store = ScanStore(tmp_path / "scan.sqlite")
    store.begin({"x": 1})
    store.set_meta("settings", {})
    store.set_meta("evidence", [])
    store.set_meta("hashsets", [])
    store.commit_batch(0, [r.key for r in records], records)
    return store


def test_carved_copy_of_a_named_file_is_marked_and_not_counted_twice(tmp_path):
    store = _store(tmp_path, [
        _record("a", "/DCIM/1.jpg", matches=[BAD]),
        _record("carved/1", "carved/000000001000.jpg", origin="carved", matches=[BAD]),
        _record("carved/2", "carved/000000002000.jpg", origin="carved", sha256="bb", matches=[BAD]),
        _record("carved/3", "carved/000000003000.jpg", origin="carved", review=True),
    ])  # fmt: skip
    # The scan decides it, in the store; the reports only count what the store says.
    assert store.mark_carved_duplicates() == 2
    assert store.mark_carved_duplicates() == 2  # idempotent: a resumed scan decides the same
    marked = {r.key: r for r in store.records()}
    assert marked["carved/1"].carved_duplicate_of == "/DCIM/1.jpg"
    assert marked["carved/2"].carved_duplicate_of is None
    assert marked["carved/3"].carved_duplicate_of == "/DCIM/1.jpg"
    assert not marked["carved/3"].review
    outputs = write_outputs(store, tmp_path)
    summary = outputs.summary
    assert summary["by_category"] == {"A": 2}
    assert summary["matched"] == 2
    assert summary["carved_duplicates"] == 2
    assert summary["review"] == 0
    # Every output agrees: findings.json, inventory.csv and what the CLI prints.
    findings = json.loads((tmp_path / "findings.json").read_text())
    assert findings["summary"] == summary
    assert findings == build_findings(store)
    with (tmp_path / "inventory.csv").open(newline="") as fh:
        rows = {r["path"]: r for r in csv.DictReader(fh)}
    assert rows["carved/000000003000.jpg"]["review"] == "False"
    assert rows["carved/000000003000.jpg"]["carved_duplicate_of"] == "/DCIM/1.jpg"
    assert sum(r["review"] == "True" for r in rows.values()) == summary["review"]


def test_streamed_findings_equal_json_dumps_of_the_whole(tmp_path):
    (tmp_path / "e").mkdir()
    empty = _store(tmp_path / "e", [])
    write_outputs(empty, tmp_path / "e")
    text = (tmp_path / "e" / "findings.json").read_text()
    assert text == json.dumps(build_findings(empty), sort_keys=True, indent=1) + "\n"
    (tmp_path / "f").mkdir()
    full = _store(tmp_path / "f", [
        _record("a", "/ünï/1.jpg", matches=[BAD]),
        _record("b", "/2.jpg", review=True, error="x"),
    ])  # fmt: skip
    write_outputs(full, tmp_path / "f")
    text = (tmp_path / "f" / "findings.json").read_text(encoding="utf-8")
    whole = build_findings(full)
    assert text == json.dumps(whole, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    assert ItemRecord.from_json(whole["items"][0]).matches == [Match(**BAD)]


def test_hostile_names_are_inert_in_csv_and_html(tmp_path):
    store = _store(tmp_path, [
        _record("k1", '=HYPERLINK("http://x")', matches=[BAD]),
        _record("k2", "/<script>alert(1)</script>.jpg", error="bad <b>", review=True),
    ])  # fmt: skip
    outputs = write_outputs(store, tmp_path)
    findings = build_findings(store)
    write_html(outputs, {"seconds": 1}, tmp_path / "report.html")
    with (tmp_path / "inventory.csv").open(newline="") as fh:
        paths = [row["path"] for row in csv.DictReader(fh)]
    assert paths == ['\'=HYPERLINK("http://x")', "/<script>alert(1)</script>.jpg"]
    html = (tmp_path / "report.html").read_text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.jpg" in html
    assert json.loads(json.dumps(findings))["summary"]["errors"] == 1


def test_exif_leads_reach_inventory_and_report(tmp_path):
    import io

    import piexif
    from PIL import Image

    from fellwatch.scan.job import scan
    from fellwatch.settings import ScanSettings

    folder = tmp_path / "ev"
    folder.mkdir()
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: b"Fellwatch", piexif.ImageIFD.Model: b"Cam 2"},
            "Exif": {
                piexif.ExifIFD.BodySerialNumber: b"SN-0042",
                piexif.ExifIFD.DateTimeOriginal: b"2024:05:06 07:08:09",
            },
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((54, 1), (35, 1), (5010, 100)),
                piexif.GPSIFD.GPSLongitudeRef: b"W",
                piexif.GPSIFD.GPSLongitude: ((2, 1), (55, 1), (630, 100)),
            },
        }
    )
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(buf, "JPEG", exif=exif)
    (folder / "holiday.txt").write_bytes(buf.getvalue())  # a picture hiding behind .txt
    scan([str(folder)], tmp_path / "o", ScanSettings(workers=1), progress=False)
    with (tmp_path / "o" / "inventory.csv").open(newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["content_type"] == "image/jpeg"
    assert row["extension_mismatch"] == "True"
    assert row["camera"] == "Fellwatch Cam 2"
    assert row["camera_serial"] == "SN-0042"
    assert row["taken"] == "2024:05:06 07:08:09"
    lat, lon = (float(v) for v in row["gps"].split(","))
    assert abs(lat - (54 + 35 / 60 + 50.10 / 3600)) < 1e-6
    assert abs(lon + (2 + 55 / 60 + 6.30 / 3600)) < 1e-6
    html = (tmp_path / "o" / "report.html").read_text()
    lead = html[html.index("Victim-identification leads") :]
    assert "/holiday.txt" in lead[: lead.index("<h2>")] and "SN-0042" in lead
