"""Chats through the whole `fellwatch scan`: one timeline, ranked conversations, same counts
everywhere, byte-identical reruns, resume without double counting, failures on their items."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fellwatch.chats import stage
from tests.chats import fixtures as fx
from tests.chats.outputs import messages_csv, scan_findings


def _timeline(out: Path) -> list[tuple[str, ...]]:
    return [(r["time"], r["app"], r["conversation"], r["message_id"], r["direction"],
             r["sender"], r["text"], r["source_path"], r["indicators"]) for r in messages_csv(out)]


@pytest.fixture(scope="module")
def android_zip_scan(chat_trees: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("scan") / "zip"
    return out, scan_findings(chat_trees["android.zip"], out)


def test_every_message_on_one_timeline(android_zip_scan) -> None:
    out, _ = android_zip_scan
    rows = messages_csv(out)
    wa = len(fx.RISK) + len(fx.PARENT) + len(fx.CLUB)
    telegram = len(fx.TELEGRAM) + 1  # and a service message
    assert len(rows) == (wa + len(fx.WAL_ONLY) + wa + len(fx.SMS) + len(fx.MMS) + telegram
                         + len(fx.KIK))
    times = [r["time"] for r in rows]
    assert times == sorted(times)
    assert rows[0]["time"] == fx.KNOWN_ISO
    texts = {r["text"] for r in rows}
    assert {"wal only message one", "wal only message two"} <= texts  # only in the WAL


def test_same_counts_in_every_output(android_zip_scan) -> None:
    out, findings = android_zip_scan
    summary = findings["summary"]
    doc = json.loads((out / "conversations.json").read_text())
    assert summary["messages"] == len(messages_csv(out)) == sum(
        c["messages"] for c in doc["conversations"])
    assert summary["conversations"] == len(doc["conversations"])
    flagged = [c for c in doc["conversations"] if c["flagged"]]
    assert summary["flagged_conversations"] == len(flagged) == 2
    assert json.loads((out / "findings.json").read_text())["summary"] == summary
    html = (out / "report.html").read_text()
    assert f'<tr><th>Flagged conversations</th><td class="num">{len(flagged)}</td></tr>' in html
    assert "hey saw ur post asl?" in html  # the indicator's excerpt
    assert "training moved" not in html  # text that is no indicator is not in the report


def test_the_risk_conversation_is_ranked_first_with_its_reasons(android_zip_scan) -> None:
    out, _ = android_zip_scan
    doc = json.loads((out / "conversations.json").read_text())
    top = doc["conversations"][0]
    assert top["conversation"] == fx.CONTACT_A and top["flagged"]
    rules = [i["rule"] for i in top["indicators"]]
    for rule in ("age-asked", "age-stated", "secrecy", "platform-move", "image-request", "gifts",
                 "meeting", "flattery-isolation", "minor-contact"):
        assert rule in rules
    age = next(i for i in top["indicators"] if i["rule"] == "age-stated")
    assert (age["age"], age["excerpt"], age["sender"]) == (12, "im 12 f, u?", fx.CONTACT_A)
    assert top["source"]["path"] == "/" + fx.ANDROID_WA or top["source"]["path"].endswith(
        "msgstore.db")
    benign = [c for c in doc["conversations"] if c["conversation"] in (fx.CONTACT_B, fx.GROUP)]
    assert benign and not any(c["flagged"] for c in benign)
    otp = [c for c in doc["conversations"] if fx.OTP in c["participants"]]
    assert otp and otp[0]["score"] == 0


def test_attachments_are_items_of_the_evidence(android_zip_scan) -> None:
    out, findings = android_zip_scan
    photo = next(r for r in messages_csv(out)
                 if r["app"] == "WhatsApp" and r["attachments"].endswith("WA0001.jpg"))
    assert photo["attachment_items"] == "/" + fx.ANDROID_MEDIA
    item = next(i for i in findings["items"] if i["path"] == "/" + fx.ANDROID_MEDIA)
    assert item["review"] and item["sha256"]  # hashed and sent to review like any picture


def test_unreadable_databases_are_errors_on_their_items(android_zip_scan) -> None:
    _, findings = android_zip_scan
    errors = {i["path"]: i["error"] for i in findings["items"] if i["error"]}
    assert "encrypted database" in errors["/" + fx.ANDROID_SIGNAL]


def test_folder_zip_tar_and_ext4_give_the_same_messages(
    chat_trees: dict[str, Path], android_zip_scan, tmp_path: Path,
) -> None:
    zip_out, _ = android_zip_scan
    expected = _timeline(zip_out)
    for kind in ("android", "android.tar", "android.ext4"):
        scan_findings(chat_trees[kind], tmp_path / kind)
        assert _timeline(tmp_path / kind) == expected, kind


def test_ios_extraction_as_tar(chat_trees: dict[str, Path], tmp_path: Path) -> None:
    findings = scan_findings(chat_trees["ios.tar"], tmp_path / "ios")
    rows = messages_csv(tmp_path / "ios")
    apps = {r["app"] for r in rows}
    assert apps == {"iMessage/SMS", "WhatsApp", "Kik"}
    assert fx.IOS_ATTRIBUTED in {r["text"] for r in rows}
    attachment = next(r for r in rows if r["attachments"] == fx.IOS_ATTACHMENT)
    assert attachment["attachment_items"] == "/" + fx.IOS_SMS_MEDIA
    assert findings["evidence"][0]["format"] == "tar-extraction"
    assert findings["summary"]["messages"] == len(fx.IOS) + sum(
        len(lines) for _, lines in fx.CONVERSATIONS) + len(fx.KIK)


def test_rerun_is_byte_identical(chat_trees: dict[str, Path], android_zip_scan,
                                 tmp_path: Path) -> None:
    first, _ = android_zip_scan
    scan_findings(chat_trees["android.zip"], tmp_path / "again")
    for name in ("findings.json", "messages.csv", "conversations.json"):
        assert (first / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_a_killed_chat_stage_resumes_without_double_counting(
    chat_trees: dict[str, Path], android_zip_scan, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    complete, _ = android_zip_scan
    out = tmp_path / "killed"
    real = stage.ChatStore.commit_source
    calls: list[str] = []

    def die_after_two(self, *args, **kwargs):  # the scan is killed after two databases
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args[1])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(stage.ChatStore, "commit_source", die_after_two)
    with pytest.raises(KeyboardInterrupt):
        scan_findings(chat_trees["android.zip"], out)
    monkeypatch.setattr(stage.ChatStore, "commit_source", real)
    scan_findings(chat_trees["android.zip"], out)
    for name in ("findings.json", "messages.csv", "conversations.json"):
        assert (complete / name).read_bytes() == (out / name).read_bytes(), name


def test_hostile_databases(chat_trees: dict[str, Path], tmp_path: Path) -> None:
    findings = scan_findings(chat_trees["hostile"], tmp_path / "hostile")
    errors = {i["path"]: i["error"] for i in findings["items"] if i["error"]}
    assert "truncated database" in errors["/data/data/com.whatsapp/databases/msgstore.db"]
    unknown = errors["/data/data/com.whatsapp.w4b/databases/msgstore.db"]
    assert "unknown schema (user_version 999" in unknown
    assert "encrypted database" in errors["/" + fx.ANDROID_SIGNAL]
    assert findings["summary"]["messages"] == 0
    assert findings["summary"]["errors"] == 3


def test_cli_summary_and_a_bad_rule_file(chat_trees: dict[str, Path], tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "fellwatch", "scan", "--quiet", str(chat_trees["ios.tar"]), "--out",
         str(tmp_path / "cli")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    findings = json.loads((tmp_path / "cli" / "findings.json").read_text())
    assert f"messages        {findings['summary']['messages']}" in done.stdout
    (tmp_path / "bad.toml").write_text("[[rule]]\nid='x'\n", encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "fellwatch", "scan", "--quiet", str(chat_trees["ios.tar"]), "--out",
         str(tmp_path / "bad"), "--chat-rules", str(tmp_path / "bad.toml")],
        capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert "needs id, kind and weight" in bad.stderr
    assert not (tmp_path / "bad").exists()


def test_deleted_messages_reach_the_timeline_marked(tmp_path: Path) -> None:
    path = tmp_path / "phone" / fx.ANDROID_WA
    path.parent.mkdir(parents=True)
    fx.msgstore_current(path)
    texts = set(fx.delete_some(path, "whatsapp"))
    findings = scan_findings(tmp_path / "phone", tmp_path / "out")
    rows = messages_csv(tmp_path / "out")
    deleted = [r for r in rows if r["deleted"] == "True"]
    assert deleted and {r["text"] for r in deleted} <= texts
    assert not [r for r in rows if r["deleted"] == "False" and r["text"] in texts]
    assert findings["summary"]["messages"] == len(rows)


def test_a_deleted_database_file_is_read(tmp_path: Path) -> None:
    """On a FAT card a deleted file keeps its clusters until reused; The Sleuth Kit names it
    "_sgstore.db" (FAT overwrote the first character)."""
    from tests.evidence._image_builders import fat_image, mtools

    db = tmp_path / "msgstore.db"
    fx.msgstore_current(db)
    image = tmp_path / "card.raw"
    spec = fat_image(image, 8 << 20)
    for folder in ("::/data", "::/data/com.whatsapp", "::/data/com.whatsapp/databases"):
        mtools(spec, "mmd", folder)
    mtools(spec, "mcopy", db, "::/data/com.whatsapp/databases/msgstore.db")
    mtools(spec, "mdel", "::/data/com.whatsapp/databases/msgstore.db")
    findings = scan_findings(image, tmp_path / "out")
    assert findings["summary"]["messages"] == sum(len(lines) for _, lines in fx.CONVERSATIONS)
    doc = json.loads((tmp_path / "out" / "conversations.json").read_text())
    (source,) = doc["sources"]
    assert source["allocated"] == 0 and source["path"].endswith("/_sgstore.db")
    assert all(c["source"]["deleted"] for c in doc["conversations"])


def test_evidence_without_chat_databases_gets_no_chat_files(tmp_path: Path) -> None:
    (tmp_path / "ev").mkdir()
    (tmp_path / "ev" / "notes.txt").write_text("nothing to see", encoding="utf-8")
    findings = scan_findings(tmp_path / "ev", tmp_path / "out")
    assert not (tmp_path / "out" / "messages.csv").exists()
    assert not (tmp_path / "out" / "conversations.json").exists()
    summary = findings["summary"]
    assert (summary["messages"], summary["conversations"], summary["flagged_conversations"]) == (
        0, 0, 0)
