"""Review and grading on a real scan of benign pictures: the whole item kept, counts equal to
findings.json, the gallery's order and filters, grades (append-only, stacks, bulk, second
opinions), seen-before suggestions in a second case, and access to all of it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.web.conftest import write_findings
from tests.web.review_fixture import by_name, copy_scan, scanned

CASE = "CUN/2026/001"


@pytest.fixture
def scan_dir(tmp_path: Path, tmp_path_factory: Any) -> Path:
    return copy_scan(scanned(tmp_path_factory.getbasetemp() / "review-scan"), tmp_path / "s1")


@pytest.fixture
def imported(world: dict[str, Any], scan_dir: Path) -> Any:
    from fellwatch.web.scans import import_scan_dir

    import_scan_dir(scan_dir, CASE, "JD/1", user="erin.examiner")
    return world["exhibit"].scans.get()


def _api(client: Client, case: Any, body: dict[str, Any]) -> Any:
    return client.post(f"/api/cases/{case.pk}/review/grades/", json.dumps(body),
                       content_type="application/json")


def test_every_field_of_every_item_is_kept_and_counts_agree(
    world: dict[str, Any], imported: Any, scan_dir: Path, client: Client
) -> None:
    from fellwatch.web.scans import finding_counts, summary_agrees

    doc = json.loads((scan_dir / "findings.json").read_text())
    kept = {(f.evidence_path, f.key): f for f in imported.findings.all()}
    assert len(kept) == len(doc["items"])
    for item in doc["items"]:
        f = kept[(item["evidence"], item["key"])]
        assert f.record == item  # the whole item, not a smaller copy
        assert (f.sha1, f.sha256, f.md5) == (item["sha1"], item["sha256"], item["md5"])
        assert f.pdq == item["signals"]["pdq"]["hash"]
        assert f.pdq_quality == item["signals"]["pdq"]["quality"]
        assert f.candidates == item.get("candidates", [])
    counts = finding_counts(imported.findings.all())
    assert summary_agrees(imported, counts), (counts, doc["summary"])
    assert counts["candidates"] == 2 and counts["matched"] == 1
    client.force_login(world["examiner"])
    url = f"/cases/{world['case'].pk}/exhibits/{world['exhibit'].pk}/scans/{imported.pk}/"
    page = client.get(url).content.decode()
    assert 'id="disagree"' not in page
    assert page.count("<tr><td>/") == len(doc["items"])
    # The page says so when the database and findings.json disagree.
    imported.summary = {**doc["summary"], "matched": 2}
    imported.save()
    assert 'id="disagree"' in client.get(url).content.decode()


def test_a_carved_copy_of_a_named_file_is_counted_once(world: dict[str, Any],
                                                       tmp_path: Path, client: Client) -> None:
    from fellwatch.web.scans import category_counts, finding_counts, import_scan_dir, summary_agrees
    from tests.web.conftest import _item

    ev = "/evidence/JD-1.E01"
    named = _item(ev, "0001", "/DCIM/a.jpg", category="A")
    carved = {**_item(ev, "0009", "carved@1000", category="A"), "origin": "carved",
              "offset": 1000, "sha256": named["sha256"], "carved_duplicate_of": "/DCIM/a.jpg"}
    out = write_findings(tmp_path / "scan", items=[named, carved])
    doc = json.loads((out / "findings.json").read_text())
    doc["summary"] = {"items": 2, "bytes": 0, "matched": 1, "known_good": 0, "errors": 0,
                      "review": 0, "carved_duplicates": 1, "candidates": 0,
                      "by_category": {"A": 1}}
    (out / "findings.json").write_text(json.dumps(doc))
    import_scan_dir(out, CASE, "JD/1")
    scan = world["exhibit"].scans.get()
    assert summary_agrees(scan, finding_counts(scan.findings.all()))
    assert category_counts(scan) == {"A": 1, "carved duplicates": 1}
    client.force_login(world["examiner"])
    page = client.get(f"/cases/{world['case'].pk}/exhibits/{world['exhibit'].pk}/").content
    assert b"A: 1 \xc2\xb7 carved duplicates: 1" in page


def test_the_stream_reader_equals_json_loads_across_chunk_edges(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from fellwatch.web import scans

    items = [{"key": f"{i:04d}", "path": f"/p/é{i}.jpg", "size": 10**i, "n": None,
              "nested": {"a": [1, 2.5, "x\\"]}} for i in range(40)]
    doc = {"evidence": [{"path": "e"}], "hashsets": [], "items": items, "schema": 1,
           "settings": {"t": 31}, "summary": {"items": 40}, "tool": {"version": "0"}}
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False))
    for chunk in (1, 7, 64, 1 << 20):
        monkeypatch.setattr(scans, "_CHUNK", chunk)
        with path.open("rb") as fh:
            stream = scans._Stream(fh)
            assert list(stream.items()) == items
        assert {k: v for k, v in stream.head.items() if k != "items"} == {
            k: v for k, v in doc.items() if k != "items"}


def test_the_gallery_shows_what_needs_a_person_and_hides_known_matches(
    world: dict[str, Any], imported: Any, client: Client
) -> None:
    case = world["case"]
    client.force_login(world["examiner"])
    api = f"/api/cases/{case.pk}/review/findings/"
    tiles = client.get(api).json()["findings"]
    names = sorted(Path(t["path"]).name for t in tiles)
    # astronaut is a known exact match: pre-graded, not shown; coffee's two copies are one tile.
    assert "astronaut.png" not in names
    assert len([n for n in names if n.startswith("coffee")]) == 1
    assert [t["stack_size"] for t in tiles if "coffee" in t["path"]] == [2]
    cands = {Path(t["path"]).name: t for t in client.get(api + "?candidate=1").json()["findings"]}
    assert sorted(cands) == ["faded-astronaut.png", "rocket.png"]
    assert cands["faded-astronaut.png"]["suggestion"] == "A"
    assert "quality 36 below 50" in cands["faded-astronaut.png"]["suggestion_source"]
    assert cands["rocket.png"]["suggestion"] == "B"
    assert cands["rocket.png"]["candidate_reason"] == "distance 34 beyond threshold 31"
    known = client.get(api + "?show=known").json()["findings"]
    assert [(Path(t["path"]).name, t["pregrade"]) for t in known] == [("astronaut.png", "A")]
    by_size = [t["size"] for t in client.get(api + "?sort=size").json()["findings"]]
    assert by_size == sorted(by_size)
    page = client.get(f"/cases/{case.pk}/review/").content.decode()
    assert 'id="n-pregraded">1<' in page and 'id="n-candidates">2<' in page
    assert "<video" not in page


def test_grades_are_append_only_and_the_latest_counts(world: dict[str, Any], imported: Any,
                                                      client: Client, make_user: Any) -> None:
    from fellwatch.web.audit.models import AppendOnlyError
    from fellwatch.web.review.grading import disputed
    from fellwatch.web.review.models import Grade

    case = world["case"]
    f = by_name(imported.findings.all())
    rocket, camera, faded = f["rocket.png"].pk, f["camera.png"].pk, f["faded-astronaut.png"].pk
    client.force_login(world["examiner"])
    # A candidate confirmed (graded as suggested) and one rejected (not indecent).
    assert _api(client, case, {"findings": [faded], "grade": "A"}).json()["grades"] == {
        str(faded): "A"}
    assert _api(client, case, {"findings": [rocket], "grade": "C"}).status_code == 200
    assert _api(client, case, {"findings": [rocket], "grade": "N", "note": "a rocket"}
                ).json()["grades"] == {str(rocket): "N"}
    assert _api(client, case, {"findings": [camera], "grade": "Q"}).status_code == 400
    assert _api(client, case, {"findings": [999999], "grade": "A"}).status_code == 400
    history = client.get(f"/api/cases/{case.pk}/review/findings/{rocket}/").json()["grades"]
    assert [(g["grade"], g["by"]) for g in history] == [("C", "erin.examiner"),
                                                        ("N", "erin.examiner")]
    entry = Grade.objects.filter(finding_id=rocket).first()
    assert entry is not None
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    # A second opinion is someone else's; a dispute says why and is listed for the supervisor.
    assert _api(client, case, {"findings": [faded], "action": "confirm"}).status_code == 400
    reviewer = make_user("rita.reviewer", "reviewer")
    case.assigned.add(reviewer)
    client.force_login(reviewer)
    assert _api(client, case, {"findings": [faded], "action": "confirm"}).status_code == 200
    assert _api(client, case, {"findings": [rocket], "action": "dispute"}).status_code == 400
    assert _api(client, case, {"findings": [rocket], "action": "dispute",
                               "note": "looks like category C"}).status_code == 200
    assert [x.pk for x in disputed(case)] == [rocket]
    client.force_login(world["supervisor"])
    page = client.get(f"/cases/{case.pk}/review/disputes/").content.decode()
    assert "looks like category C" in page
    # Graded items leave the "needs a person" view; the counts follow.
    client.force_login(world["examiner"])
    left = client.get(f"/api/cases/{case.pk}/review/findings/").json()["findings"]
    assert {t["id"] for t in left}.isdisjoint({rocket, faded})


def test_a_stack_and_a_selection_are_graded_together(world: dict[str, Any], imported: Any,
                                                     client: Client) -> None:
    from fellwatch.web.review.models import Grade

    case = world["case"]
    f = by_name(imported.findings.all())
    coffee, copy = f["coffee.png"], f["coffee-copy.png"]
    assert coffee.stack == copy.stack is not None
    client.force_login(world["examiner"])
    stack = client.get(f"/api/cases/{case.pk}/review/stacks/{coffee.stack}/").json()
    assert sorted(m["id"] for m in stack["members"]) == sorted([coffee.pk, copy.pk])
    top = coffee.stack
    assert _api(client, case, {"findings": [top], "grade": "X", "stack": True}
                ).json()["grades"] == {str(coffee.pk): "X", str(copy.pk): "X"}
    assert set(Grade.objects.filter(source="stack").values_list("finding_id", flat=True)) == {
        coffee.pk, copy.pk}
    bulk = [f["camera.png"].pk, f["chelsea.png"].pk]
    answer = _api(client, case, {"findings": bulk, "grade": "X", "source": "bulk"}).json()
    assert answer["entries"] == 2


def test_seen_before_grades_arrive_in_a_second_case(
    world: dict[str, Any], imported: Any, client: Client, tmp_path: Path,
    tmp_path_factory: Any,
) -> None:
    from fellwatch.web.records.models import Case, Exhibit, Finding
    from fellwatch.web.review.library import make_final
    from fellwatch.web.scans import import_scan_dir

    case = world["case"]
    f = by_name(imported.findings.all())
    client.force_login(world["examiner"])
    _api(client, case, {"findings": [f["camera.png"].pk], "grade": "X"})
    _api(client, case, {"findings": [f["chelsea.png"].pk], "grade": "N"})
    second = Case.objects.create(unit=world["unit"], reference="CUN/2026/002",
                                 opened_on=case.opened_on, officer_in_charge=world["examiner"])
    Exhibit.objects.create(case=second, reference="AB/1", type="usb",
                           seized_at=world["exhibit"].seized_at, seized_by="PC 1")
    other = copy_scan(scanned(tmp_path_factory.getbasetemp() / "review-scan2", "AB-1"),
                      tmp_path / "s2")
    import_scan_dir(other, "CUN/2026/002", "AB/1")
    there = by_name(Finding.objects.filter(case=second))
    assert there["camera.png"].suggestion == "X"
    assert there["camera.png"].suggestion_source.startswith(
        "seen before (the same SHA-1): graded X by erin.examiner on ")
    assert "in case CUN/2026/001" in there["camera.png"].suggestion_source
    assert there["chelsea.png"].suggestion == "N"
    assert there["camera.png"].grade == ""  # a suggestion, not a grade
    # A supervisor makes the library's exact grades final: a third case needs nobody.
    assert client.get("/review/library/").status_code == 403  # examiners: no
    client.force_login(world["supervisor"])
    page = client.post("/review/library/").content.decode()
    assert 'id="made-final">2 grades made final' in page
    assert make_final(world["unit"]) == 0
    third = Case.objects.create(unit=world["unit"], reference="CUN/2026/003",
                                opened_on=case.opened_on)
    Exhibit.objects.create(case=third, reference="CD/1", type="usb",
                           seized_at=world["exhibit"].seized_at, seized_by="PC 1")
    again = copy_scan(scanned(tmp_path_factory.getbasetemp() / "review-scan3", "CD-1"),
                      tmp_path / "s3")
    import_scan_dir(again, "CUN/2026/003", "CD/1")
    graded = by_name(Finding.objects.filter(case=third))
    assert (graded["camera.png"].grade, graded["chelsea.png"].grade) == ("X", "N")
    assert graded["camera.png"].grades.get().source == "library"


def test_a_finding_of_another_case_is_not_found_through_this_one(
    world: dict[str, Any], imported: Any, client: Client, tmp_path: Path
) -> None:
    from fellwatch.web.records.models import Case

    other = Case.objects.create(unit=world["unit"], reference="CUN/2026/099",
                                opened_on=world["case"].opened_on)
    other.assigned.add(world["examiner"])
    fid = imported.findings.first().pk
    client.force_login(world["examiner"])
    for url in (f"/cases/{other.pk}/review/findings/{fid}/thumbnail/",
                f"/cases/{other.pk}/review/findings/{fid}/reveal/",
                f"/cases/{other.pk}/review/findings/{fid}/original/",
                f"/api/cases/{other.pk}/review/findings/{fid}/"):
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url  # the finding first, then the method
    assert _api(client, other, {"findings": [fid], "grade": "A"}).status_code == 400


def _hf(img: Any) -> float:
    """High-frequency energy: mean squared difference between neighbouring pixels (a blur
    spreads an edge, so its squared steps shrink; detail is what carries the most of it)."""
    import numpy as np

    a = np.asarray(img.convert("L"), dtype=np.float64)
    return float((np.diff(a, axis=0) ** 2).mean() + (np.diff(a, axis=1) ** 2).mean())


def test_pictures_leave_the_server_blurred_and_a_reveal_is_audited(
    world: dict[str, Any], imported: Any, client: Client, scan_dir: Path
) -> None:
    import io

    from PIL import Image

    from fellwatch.store.thumbnails import read_thumbnail
    from fellwatch.web.audit.models import AuditEntry

    case = world["case"]
    f = by_name(imported.findings.all())["rocket.png"]
    url = f"/cases/{case.pk}/review/findings/{f.pk}/thumbnail/"
    client.force_login(world["examiner"])
    served = client.get(url)
    assert served["Content-Type"] == "image/jpeg"
    assert "no-store" in served["Cache-Control"]
    blurred = Image.open(io.BytesIO(served.content))
    assert blurred.mode == "L"  # greyscale: no colour of the picture leaves the server
    thumb = read_thumbnail(scan_dir, 0, f.key)
    assert thumb is not None
    original = Image.open(io.BytesIO(thumb.data))
    assert blurred.size == original.size
    assert _hf(blurred) < 0.02 * _hf(original), (_hf(blurred), _hf(original))
    # Unblurred only after a reveal of this one item, and the reveal is in the audit log.
    assert client.get(url + "?revealed=1").status_code == 403
    before = AuditEntry.objects.count()
    answer = client.post(f"/cases/{case.pk}/review/findings/{f.pk}/reveal/").json()
    assert answer["revealed"] is True
    revealed = client.get(answer["url"])
    assert revealed.status_code == 200 and "no-store" in revealed["Cache-Control"]
    shown = Image.open(io.BytesIO(revealed.content))
    assert shown.mode == "RGB" and _hf(shown) > 0.8 * _hf(original)
    actions = list(AuditEntry.objects.filter(seq__gt=before).values_list(
        "action", "object_type", "object_id", "username"))
    assert ("reveal", "finding", str(f.pk), "erin.examiner") in actions
    assert ("reveal-view", "finding", str(f.pk), "erin.examiner") in actions
    other = by_name(imported.findings.all())["camera.png"]
    assert client.get(f"/cases/{case.pk}/review/findings/{other.pk}/thumbnail/?revealed=1"
                      ).status_code == 403  # a reveal is of one item only
    # The original, read again from the evidence on an explicit request only, audited.
    where = client.get(f"/cases/{case.pk}/review/findings/{f.pk}/original/").json()
    assert where["path"] == "/Pictures/rocket.png" and "error" not in where
    before = AuditEntry.objects.count()
    got = client.post(f"/cases/{case.pk}/review/findings/{f.pk}/original/")
    assert got.status_code == 200 and "no-store" in got["Cache-Control"]
    assert got.content == (Path(f.evidence_path) / "Pictures/rocket.png").read_bytes()
    assert AuditEntry.objects.filter(seq__gt=before, action="original",
                                     object_id=str(f.pk)).count() == 1
    # A reviewer may blur more than the unit's default, never less.
    client.post("/review/welfare/", {"blur": "30", "break_minutes": "20"})
    stronger = Image.open(io.BytesIO(client.get(url).content))
    assert _hf(stronger) < _hf(blurred)
    client.post("/review/welfare/", {"blur": "1", "break_minutes": "20"})
    assert _hf(Image.open(io.BytesIO(client.get(url).content))) == pytest.approx(_hf(blurred))


def test_the_report_counts_equal_the_grades_and_vics_round_trips(
    world: dict[str, Any], imported: Any, client: Client, tmp_path: Path,
    tmp_path_factory: Any, capsys: Any,
) -> None:
    from fellwatch.cli import main
    from fellwatch.web.records.models import Case, Exhibit, Finding
    from fellwatch.web.review.report_data import report_data
    from fellwatch.web.scans import import_scan_dir

    case = world["case"]
    f = by_name(imported.findings.all())
    client.force_login(world["examiner"])
    _api(client, case, {"findings": [f["faded-astronaut.png"].pk], "grade": "A"})
    _api(client, case, {"findings": [f["rocket.png"].pk], "grade": "N"})
    _api(client, case, {"findings": [f["coffee.png"].stack], "grade": "C", "stack": True})
    _api(client, case, {"findings": [f["camera.png"].pk], "grade": "B"})
    data = report_data(case, world["exhibit"])
    c = data.counts
    # astronaut pre-graded A from its set, its faded copy graded A; coffee twice C; camera B.
    assert (c.stills.A, c.stills.B, c.stills.C, c.moving.total) == (2, 1, 2, 0)
    assert (c.not_indecent, c.not_relevant, c.ungraded) == (1, 0, 1)  # chelsea not yet
    assert c.by_location["allocated"].total == 5
    assert [(g.name, g.grades) for g in data.graders] == [("erin.examiner", 5)]
    assert main(["report", "exhibit", "--case", CASE, "--exhibit", "JD/1",
                 "--out", str(tmp_path / "report")]) == 0
    html = next((tmp_path / "report").glob("*.html")).read_text()
    assert "JD/1" in html and "<img" not in html
    assert next((tmp_path / "report").glob("*.pdf")).read_bytes().startswith(b"%PDF")
    # The VICS export of this case suggests the same grades in another unit's case.
    out = tmp_path / "case.vics.json"
    assert main(["export", "vics", "--case", CASE, "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    media = doc["value"][0]["Media"]
    assert len(media) == 5  # astronaut, faded astronaut, coffee (one picture), camera, rocket
    pre = [m for m in media if m["IsPrecategorized"]]
    assert [m["SHA1"].lower() for m in pre] == [f["astronaut.png"].sha1]
    assert sorted(len(m["MediaFiles"]) for m in media) == [1, 1, 1, 1, 2]
    second = Case.objects.create(unit=world["foreign"].officer.unit, reference="CUS/2026/010",
                                 opened_on=case.opened_on)
    Exhibit.objects.create(case=second, reference="XY/1", type="usb",
                           seized_at=world["exhibit"].seized_at, seized_by="PC 2")
    other = copy_scan(scanned(tmp_path_factory.getbasetemp() / "review-scan-x", "XY-1"),
                      tmp_path / "sx")
    import_scan_dir(other, "CUS/2026/010", "XY/1")
    capsys.readouterr()
    assert main(["review", "import-vics", str(out), "--case", "CUS/2026/010"]) == 0
    # 6: coffee is there twice.
    assert "6 findings of case CUS/2026/010 have a suggestion" in capsys.readouterr().out
    there = by_name(Finding.objects.filter(case=second))
    assert there["rocket.png"].suggestion == "X"  # N -> Project VIC 0 -> not relevant
    assert there["camera.png"].suggestion_source == (
        "VICS file case.vics.json: category 1 (same digest)")
    assert there["chelsea.png"].suggestion_source == ""
    # The same from the gallery's button, by the other unit's supervisor.
    from fellwatch.web.records.models import Finding as F

    F.objects.filter(case=second).update(suggestion="", suggestion_source="")
    client.force_login(world["foreign"])
    with out.open("rb") as fh:
        answer = client.post(f"/cases/{second.pk}/review/vics-import/", {"file": fh})
    assert answer.status_code == 302
    assert F.objects.filter(case=second).exclude(suggestion_source="").count() == 6


def test_exposure_is_counted_and_supervisors_see_totals_only(
    world: dict[str, Any], imported: Any, client: Client
) -> None:
    case = world["case"]
    f = by_name(imported.findings.all())["rocket.png"]
    client.force_login(world["examiner"])
    url = f"/cases/{case.pk}/review/exposure/"
    for _ in range(3):
        answer = client.post(url, json.dumps({"seconds": 15}),
                             content_type="application/json").json()
    assert answer["seconds_today"] == 45
    client.post(url, json.dumps({"seconds": 100000}), content_type="application/json")
    assert client.get(url).json()["seconds_today"] == 45  # a heartbeat is at most 300 s
    client.post(f"/cases/{case.pk}/review/findings/{f.pk}/reveal/")
    _api(client, case, {"findings": [f.pk], "grade": "N"})
    from fellwatch.web.records.models import Arrest

    Arrest.objects.filter(case=case).update(outcome="charged")
    page = client.get("/review/welfare/").content.decode()
    assert 'id="my-seconds">45<' in page and 'id="my-revealed">1<' in page
    assert "<td>CUN/2026/001</td>" in page  # the outcome of a case they graded
    assert 'id="unit-exposure"' not in page
    client.force_login(world["supervisor"])
    page = client.get("/review/welfare/").content.decode()
    assert "<td>erin.examiner</td><td class=\"n\">45</td><td class=\"n\">1</td>" in page
    assert "rocket" not in page  # totals, never what was looked at
    gallery = client.get(f"/cases/{case.pk}/review/").content.decode()
    assert 'data-break="2700"' in gallery  # the unit's 45 minutes


def test_near_pairs_equal_brute_force() -> None:
    import numpy as np

    from fellwatch.matching.pdq_index import hamming_brute_force
    from fellwatch.web.review.stacks import near_pairs

    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (60, 32), dtype=np.uint8)
    # Copies of some codes with a few bits flipped: near pairs at several distances.
    copies = base[:30].copy()
    for i, row in enumerate(copies):
        for bit in rng.choice(256, size=i % 20, replace=False):
            row[bit // 8] ^= 1 << (bit % 8)
    codes = np.concatenate([base, copies])
    d = hamming_brute_force(codes, codes)
    for distance in (0, 5, 10, 15, 20):
        expected = [(i, j) for i in range(len(codes)) for j in range(i + 1, len(codes))
                    if d[i, j] <= distance]
        assert near_pairs(codes, distance) == expected, distance


def _stacked_scan(out: Path) -> Path:
    """Synthetic findings: one picture three times (the same SHA-1: a stack; two of the copies
    deleted), a picture alone and a deleted picture alone, all needing a person."""
    from tests.web.conftest import _item

    ev = "/evidence/JD-1.E01"
    same = "5" * 40
    items = [
        {**_item(ev, "0001", "/DCIM/a.jpg", review=True), "sha1": same},
        {**_item(ev, "0002", "/Backup/a-copy.jpg", review=True), "sha1": same,
         "allocated": False},
        {**_item(ev, "0003", "/Backup/old/a-copy.jpg", review=True), "sha1": same,
         "allocated": False, "size": 10},
        _item(ev, "0004", "/DCIM/b.jpg", review=True),
        {**_item(ev, "0005", "/Downloads/c.jpg", review=True), "allocated": False},
    ]
    write_findings(out, items=items)
    doc = json.loads((out / "findings.json").read_text())
    doc["summary"] = {"items": 5, "bytes": 0, "matched": 0, "known_good": 0, "errors": 0,
                      "review": 5, "carved_duplicates": 0, "candidates": 0, "by_category": {}}
    (out / "findings.json").write_text(json.dumps(doc))
    return out


def test_a_filter_shows_a_stack_when_any_member_matches(
    world: dict[str, Any], tmp_path: Path, client: Client
) -> None:
    """The stack's named member is a live file; a filter on deleted pictures must still show
    the stack (as its first deleted copy, "2 of 3 match"), and grading the named member alone
    must not hide its ungraded copies."""
    from fellwatch.web.scans import import_scan_dir

    import_scan_dir(_stacked_scan(tmp_path / "scan"), CASE, "JD/1")
    case = world["case"]
    f = {x.path: x for x in world["exhibit"].scans.get().findings.all()}
    named, copy, copy2 = (f[p] for p in ("/DCIM/a.jpg", "/Backup/a-copy.jpg",
                                          "/Backup/old/a-copy.jpg"))
    assert named.stack == copy.stack == copy2.stack == named.pk
    client.force_login(world["examiner"])
    api = f"/api/cases/{case.pk}/review/findings/"

    def tiles(query: str = "") -> tuple[int, dict[str, Any]]:
        got = client.get(api + query).json()
        assert got["total"] == len(got["findings"])  # the total counts a stack once
        return got["total"], {t["path"]: t for t in got["findings"]}

    total, shown = tiles()
    assert total == 3 and sorted(shown) == ["/DCIM/a.jpg", "/DCIM/b.jpg", "/Downloads/c.jpg"]
    assert (shown["/DCIM/a.jpg"]["stack_size"], shown["/DCIM/a.jpg"]["stack_matching"]) == (3, 3)
    total, shown = tiles("?deleted=1")
    assert total == 2 and sorted(shown) == ["/Backup/a-copy.jpg", "/Downloads/c.jpg"]
    tile = shown["/Backup/a-copy.jpg"]
    assert (tile["id"], tile["stack"], tile["stack_size"], tile["stack_matching"]) == (
        copy.pk, named.pk, 3, 2)
    assert (shown["/Downloads/c.jpg"]["stack_size"],
            shown["/Downloads/c.jpg"]["stack_matching"]) == (1, 1)
    # The first matching member in the page's order: by size, the smaller deleted copy.
    total, shown = tiles("?deleted=1&sort=size")
    assert total == 2 and shown["/Backup/old/a-copy.jpg"]["id"] == copy2.pk
    page = client.get(f"/cases/{case.pk}/review/?deleted=1").content.decode()
    assert f'id="tile-{copy.pk}"' in page and f'data-stack="{named.pk}"' in page
    assert "stack of 3 (2 of 3 match)" in page and "2 to show" in page
    assert "stack of 3 (" not in client.get(f"/cases/{case.pk}/review/").content.decode()
    # The named member graded alone: its copies still need a person and show as the stack.
    assert _api(client, case, {"findings": [named.pk], "grade": "C"}).status_code == 200
    total, shown = tiles()
    assert total == 3 and "/Backup/a-copy.jpg" in shown and "/DCIM/a.jpg" not in shown
    assert shown["/Backup/a-copy.jpg"]["stack_matching"] == 2
    total, shown = tiles("?show=graded")
    assert total == 1 and shown["/DCIM/a.jpg"]["stack_matching"] == 1
    # Graded as a stack from the tile shown: the whole stack leaves "needs a person".
    assert _api(client, case, {"findings": [copy.pk], "grade": "C", "stack": True}
                ).status_code == 200
    total, shown = tiles()
    assert total == 2 and sorted(shown) == ["/DCIM/b.jpg", "/Downloads/c.jpg"]
    assert tiles("?show=graded")[0] == 1  # the named member shows the graded stack
    counts = client.get(f"/cases/{case.pk}/review/").content.decode()
    assert 'id="n-to-grade">2<' in counts and 'id="n-graded">3<' in counts


INJECTED = "OSError: encoder error -2 when writing image file (injected fault)"


def test_a_thumbnail_that_failed_in_the_scan_says_why_on_its_tile(
    world: dict[str, Any], tmp_path: Path, client: Client
) -> None:
    """End to end: a scan in which chelsea.png's thumbnail fails to encode (the declared
    fault), imported; its tile and page say why, no pixel of it is sent, and the original can
    still be read (audited)."""
    import io

    from PIL import Image

    from fellwatch.web.audit.models import AuditEntry
    from fellwatch.web.review.pictures import placeholder
    from fellwatch.web.scans import import_scan_dir
    from tests.cli_scan import cli_scan
    from tests.web.review_fixture import pictures

    evidence = tmp_path / "JD-1"
    (evidence / "DCIM").mkdir(parents=True)
    files = pictures()
    for rel in ("Downloads/chelsea.png", "DCIM/coffee.png"):
        (evidence / "DCIM" / Path(rel).name).write_bytes(files[rel])
    out = cli_scan(evidence, tmp_path / "out", tmp_path / "data", FELLWATCH_TEST_FAULTS="1",
                   FELLWATCH_FAULT_THUMBNAIL_FAIL_ON_PATH="/DCIM/chelsea.png")
    import_scan_dir(out, CASE, "JD/1")
    case = world["case"]
    found = by_name(world["exhibit"].scans.get().findings.all())
    chelsea, coffee = found["chelsea.png"], found["coffee.png"]
    assert chelsea.pdq and chelsea.error is None and chelsea.needs_person  # PDQ decoded it
    client.force_login(world["examiner"])
    tiles = {Path(t["path"]).name: t for t in
             client.get(f"/api/cases/{case.pk}/review/findings/").json()["findings"]}
    assert tiles["chelsea.png"]["thumbnail_error"] == INJECTED
    assert tiles["coffee.png"]["thumbnail_error"] == ""
    page = client.get(f"/cases/{case.pk}/review/").content.decode()
    assert page.count(f"no thumbnail: {INJECTED}") == 1
    tile = page.split(f'id="tile-{chelsea.pk}"')[1].split("</li>")[0]
    assert f"no thumbnail: {INJECTED}" in tile and 'alt="no thumbnail"' in tile
    # The picture sent is the words alone (no pixel of the item, blurred or not) ...
    words = placeholder(f"no thumbnail: {INJECTED}").data
    base = f"/cases/{case.pk}/review/findings/{chelsea.pk}/"
    assert client.get(f"{base}thumbnail/").content == words
    other = client.get(f"/cases/{case.pk}/review/findings/{coffee.pk}/thumbnail/").content
    assert Image.open(io.BytesIO(other)).size == (256, 171)  # coffee's blurred thumbnail
    # ... and after a reveal too: there is no thumbnail to reveal.
    assert client.post(f"{base}reveal/").json()["revealed"] is True
    revealed = client.get(f"{base}thumbnail/?revealed=1")
    assert revealed.status_code == 200 and revealed.content == words
    assert f"no thumbnail: {INJECTED}" in client.get(base).content.decode()
    # The original is still one audited request away, read again from the evidence.
    before = AuditEntry.objects.count()
    got = client.post(f"{base}original/")
    assert got.status_code == 200 and got["Content-Type"] == "image/png"
    assert got.content == (evidence / "DCIM" / "chelsea.png").read_bytes()
    assert AuditEntry.objects.filter(seq__gt=before, action="original",
                                     object_id=str(chelsea.pk)).count() == 1


def test_a_picture_pdq_could_not_decode_shows_its_own_error_on_its_tile(
    world: dict[str, Any], tmp_path: Path, client: Client
) -> None:
    """A picture cut short: PDQ fails on it (the item's error), so the scan made no thumbnail
    and kept no thumbnail failure either; the tile, the API and the page say "no thumbnail:
    <the item's error>" and the picture sent is those words, revealed or not."""
    from fellwatch.scan.job import scan
    from fellwatch.settings import ScanSettings
    from fellwatch.web.review import pictures
    from fellwatch.web.scans import import_scan_dir
    from tests.web.review_fixture import pictures as fixture_pictures

    evidence = tmp_path / "JD-1"
    (evidence / "DCIM").mkdir(parents=True)
    files = fixture_pictures()
    coffee_bytes = files["DCIM/coffee.png"]
    (evidence / "DCIM" / "coffee.png").write_bytes(coffee_bytes)
    (evidence / "DCIM" / "cut.png").write_bytes(coffee_bytes[:len(coffee_bytes) // 4])
    out = tmp_path / "out"
    scan([str(evidence)], out, ScanSettings(workers=1, carve=False), progress=False)
    import_scan_dir(out, CASE, "JD/1")
    case = world["case"]
    found = by_name(world["exhibit"].scans.get().findings.all())
    cut, coffee = found["cut.png"], found["coffee.png"]
    assert cut.error and cut.error.startswith("pdq:") and not cut.pdq and cut.needs_person
    why = pictures.item_error(cut.error)
    assert why == " ".join(cut.error.split()) and len(why) <= pictures.ERROR_CHARS
    client.force_login(world["examiner"])
    tiles = {Path(t["path"]).name: t for t in
             client.get(f"/api/cases/{case.pk}/review/findings/").json()["findings"]}
    assert tiles["cut.png"]["thumbnail_error"] == why and "error" not in tiles["cut.png"]
    assert tiles["coffee.png"]["thumbnail_error"] == ""
    page = client.get(f"/cases/{case.pk}/review/").content.decode()
    tile = page.split(f'id="tile-{cut.pk}"')[1].split("</li>")[0]
    assert f"no thumbnail: {why}" in tile and 'alt="no thumbnail"' in tile
    words = pictures.placeholder(f"no thumbnail: {why}").data
    base = f"/cases/{case.pk}/review/findings/{cut.pk}/"
    assert client.get(f"{base}thumbnail/").content == words
    assert client.post(f"{base}reveal/").json()["revealed"] is True
    assert client.get(f"{base}thumbnail/?revealed=1").content == words
    assert f"no thumbnail: {why}" in client.get(base).content.decode()
    # An item with an error that has a thumbnail all the same shows it, not the error.
    assert pictures.thumbnail_failures(str(out), 0, [coffee.key],
                                       {coffee.key: "exif: ValueError: bad tag"}) == {}


def test_an_items_error_on_a_tile_is_one_short_line() -> None:
    from fellwatch.web.review.pictures import ERROR_CHARS, item_error

    assert item_error("pdq: OSError:\n  broken") == "pdq: OSError: broken"
    long = item_error("pdq: " + "x" * 500)
    assert len(long) == ERROR_CHARS and long.endswith("…") and long.startswith("pdq: xxx")
    assert item_error(None) == ""


def test_a_void_case_takes_no_grade_and_no_suggestion(
    world: dict[str, Any], imported: Any, client: Client, tmp_path: Path
) -> None:
    from django.urls import reverse

    from fellwatch.web.review.models import Grade
    from fellwatch.web.review.outputs import OutputError, import_vics

    case = world["case"]
    f = by_name(imported.findings.all())
    rocket = f["rocket.png"]
    client.force_login(world["examiner"])
    assert _api(client, case, {"findings": [rocket.pk], "grade": "N"}).status_code == 200
    client.force_login(world["supervisor"])
    assert client.post(reverse("case-void", kwargs={"case_id": case.pk}),
                       {"reason": "opened twice"}).status_code == 302
    client.force_login(world["examiner"])
    before = list(Grade.objects.filter(case=case).values_list("pk", "finding_id", "grade"))
    for body in ({"findings": [rocket.pk], "grade": "C"},
                 {"findings": [rocket.pk], "grade": "C", "stack": True},
                 {"findings": [rocket.pk], "action": "dispute", "note": "not N"}):
        answer = _api(client, case, body)
        assert answer.status_code == 400
        assert "is void (opened twice)" in answer.json()["error"]
    stack = f["coffee.png"].stack
    answer = client.post(f"/api/cases/{case.pk}/review/stacks/{stack}/", json.dumps(
        {"grade": "C"}), content_type="application/json")
    assert answer.status_code == 400 and "read-only" in answer.json()["error"]
    vics = tmp_path / "other.json"
    vics.write_text(json.dumps({"value": []}))
    with pytest.raises(OutputError, match="is void"):
        import_vics(vics, case)
    rocket.refresh_from_db()
    assert rocket.grade == "N"
    assert list(Grade.objects.filter(case=case).values_list("pk", "finding_id", "grade")) == before
