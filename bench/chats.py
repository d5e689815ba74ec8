"""Chat triage benchmark: messages per second, peak memory and the time chats add to a scan.

Builds a synthetic phone extraction (a folder) with N messages across apps (Android WhatsApp
`msgstore.db`, Android `mmssms.db`, iOS `sms.db`; benign synthetic text with an indicator phrase
in one conversation in 50), then, each in a fresh process so peak RSS is its own:

- the chat stage alone (read every database in memory, store the messages, rank) at N and at
  N / 10: messages per second, and peak RSS at both sizes (flat = streamed: the messages are not
  all held; what is held is one database's page image, printed beside it);
- a whole `fellwatch scan` of the N-message extraction: run.json's chat_seconds against its
  item pass (scan_seconds) and its total, in the same run.

It also prints the rules' precision and recall on the labelled synthetic set
(tests/chats/labelled.jsonl), the figures tests/chats/test_labelled.py asserts.

With `--files N` it measures instead what chat triage adds to a scan of a phone-like
extraction: the N/10-message databases, one WhatsApp message in 50 with a picture, and N
small non-chat files (`media/0/...`), scanned whole (`--workers 1`) by the code under
`--code DIR` (default this tree; a `git archive` of another commit measures that one): the
item pass, the chat stage's seconds, and the main process's peak RSS during the item pass and
during the chat stage alone (its high-water mark reset when the stage starts,
/proc/self/clear_refs).

    python -m bench.chats [--messages 1000000] [--runs 3] [--keep DIR]
    python -m bench.chats --files 100000 [--code DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.chats import fixtures as fx  # noqa: E402

WORDS = ("ok see you later", "what time is dinner", "lol that was funny", "on my way",
         "did you finish the homework", "can you call me", "happy birthday!", "thanks x",
         "the bus is late again", "what are you doing at the weekend", "nice one",
         "i'll be there at 6")
INDICATORS = ("asl?", "this stays between us", "add me on snap", "send me a pic", "im 13",
              "ur so mature for ur age")
SHARES = (("whatsapp", 0.5), ("sms", 0.3), ("ios", 0.2))


def _text(rng: random.Random, conversation: int) -> str:
    if conversation % 50 == 0 and rng.random() < 0.2:
        return rng.choice(INDICATORS)
    return rng.choice(WORDS)


def build(root: Path, messages: int, seed: int = 7) -> dict[str, int]:
    """The extraction: three databases sharing `messages` between them."""
    rng = random.Random(seed)
    counts = {name: int(messages * share) for name, share in SHARES}
    counts["whatsapp"] += messages - sum(counts.values())
    wa = root / fx.ANDROID_WA
    wa.parent.mkdir(parents=True)
    db = sqlite3.connect(wa, isolation_level=None)
    db.executescript(fx.WHATSAPP_CURRENT_SQL + "PRAGMA journal_mode=DELETE;")
    db.execute("BEGIN")
    chats = max(1, counts["whatsapp"] // 500)
    db.executemany("INSERT INTO jid (_id, user, server, raw_string) VALUES (?, ?, ?, ?)",
                   [(i + 1, f"4477009{i:05d}", "s.whatsapp.net",
                     f"4477009{i:05d}@s.whatsapp.net") for i in range(chats)])
    db.executemany("INSERT INTO chat (_id, jid_row_id) VALUES (?, ?)",
                   [(i + 1, i + 1) for i in range(chats)])
    db.executemany(
        "INSERT INTO message (chat_row_id, from_me, key_id, timestamp, message_type, text_data, "
        "sort_id) VALUES (?, ?, ?, ?, 0, ?, ?)",
        ((i % chats + 1, i % 2, f"K{i:010d}", fx.KNOWN_UNIX_MS + i * 1000,
          _text(rng, i % chats), i) for i in range(counts["whatsapp"])))
    db.execute("COMMIT")
    db.close()
    sms = root / fx.ANDROID_SMS
    sms.parent.mkdir(parents=True)
    db = sqlite3.connect(sms, isolation_level=None)
    db.executescript(fx.MMSSMS_SQL)
    db.execute("BEGIN")
    threads = max(1, counts["sms"] // 300)
    db.executemany(
        "INSERT INTO sms (thread_id, address, date, type, body) VALUES (?, ?, ?, ?, ?)",
        ((i % threads + 1, f"+4477009{i % threads:05d}", fx.KNOWN_UNIX_MS + i * 1000,
          1 + i % 2, _text(rng, i % threads)) for i in range(counts["sms"])))
    db.execute("COMMIT")
    db.close()
    ios = root / fx.IOS_SMS
    ios.parent.mkdir(parents=True)
    db = sqlite3.connect(ios, isolation_level=None)
    db.executescript(fx.IOS_SMS_SQL)
    db.execute("BEGIN")
    handles = max(1, counts["ios"] // 300)
    db.executemany("INSERT INTO handle (ROWID, id, service) VALUES (?, ?, 'iMessage')",
                   [(i + 1, f"+4477008{i:05d}") for i in range(handles)])
    db.executemany("INSERT INTO chat (ROWID, guid, chat_identifier) VALUES (?, ?, ?)",
                   [(i + 1, f"iMessage;-;+4477008{i:05d}", f"+4477008{i:05d}")
                    for i in range(handles)])
    db.executemany(
        "INSERT INTO message (ROWID, guid, text, handle_id, date, is_from_me) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ((i + 1, f"G{i:012d}", _text(rng, i % handles), i % handles + 1,
          fx.KNOWN_COCOA_NS + i * 10**9, i % 2) for i in range(counts["ios"])))
    db.executemany("INSERT INTO chat_message_join (chat_id, message_id) VALUES (?, ?)",
                   ((i % handles + 1, i + 1) for i in range(counts["ios"])))
    db.execute("COMMIT")
    db.close()
    return counts


_STAGE = """
import json, resource, sys, time
from pathlib import Path
from fellwatch.chats.stage import run_chat_stage
from fellwatch.evidence import open_evidence
ev = open_evidence(sys.argv[1])
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
started, cpu_started = time.perf_counter(), cpu()
outcome = run_chat_stage([ev], Path(sys.argv[2]))
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "cpu": cpu() - cpu_started, "messages": outcome.messages,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _stage(extraction: Path, work: Path) -> dict[str, float]:
    store = work / "stage.sqlite"
    store.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-c", _STAGE, str(extraction), str(store)],
                          capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin"})
    result: dict[str, float] = json.loads(done.stdout)
    return result


def _baseline_rss() -> float:
    done = subprocess.run(
        [sys.executable, "-c", "import resource, fellwatch.chats.stage, fellwatch.evidence; "
         "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"],
        capture_output=True, text=True, check=True,
        env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin"})
    return float(done.stdout)


def _scan(extraction: Path, out: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "fellwatch", "scan", "--quiet", "--workers", "1",
                    str(extraction), "--out", str(out)], capture_output=True, check=True,
                   env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PATH": "/usr/bin",
                        "FELLWATCH_DATA_DIR": str(out.parent / "data")})
    run: dict[str, float] = json.loads((out / "run.json").read_text())
    return run


def _labelled() -> tuple[float, float]:
    from tests.chats import labelled

    from fellwatch.chats.rules import load_rules
    from fellwatch.chats.scoring import score_messages

    rules = load_rules()
    tp = fp = fn = 0
    for c in labelled.load():
        lines: list[dict[str, str]] = c["messages"]  # type: ignore[assignment]
        value, _ = score_messages([(str(i), m["from"], (), m["text"])
                                   for i, m in enumerate(lines)], rules)
        risk = c["label"] == "risk"
        flagged = value >= rules.threshold
        tp += risk and flagged
        fp += (not risk) and flagged
        fn += risk and not flagged
    return tp / (tp + fp), tp / (tp + fn)


def phone_like(root: Path, files: int, messages: int) -> int:
    """The databases of `build`, a picture for one WhatsApp message in 50, and `files` small
    files in folders of 1000 (what fills a phone besides its chats). Returns attachments."""
    build(root, messages)
    media = root / "media/0/WhatsApp/Media/WhatsApp Images"
    media.mkdir(parents=True)
    db = sqlite3.connect(root / fx.ANDROID_WA, isolation_level=None)
    ids = [r[0] for r in db.execute("SELECT _id, chat_row_id FROM message WHERE _id % 50 = 0")]
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO message_media (message_row_id, chat_row_id, file_path, mime_type, "
        "transferred) SELECT _id, chat_row_id, ?, 'image/jpeg', 1 FROM message WHERE _id = ?",
        [(f"Media/WhatsApp Images/IMG-{i:07d}-WA0001.jpg", i) for i in ids])
    db.execute("COMMIT")
    db.close()
    for i in ids:
        (media / f"IMG-{i:07d}-WA0001.jpg").write_bytes(f"not a picture {i}\n".encode())
    for i in range(files):
        folder = root / "media/0/Android/data" / f"app{i // 1000:04d}" / "files"
        if i % 1000 == 0:
            folder.mkdir(parents=True)
        (folder / f"note{i:06d}.txt").write_text(f"note {i} " * 8, encoding="utf-8")
    return len(ids)


_WHOLE = """
import json, sys, time
from pathlib import Path
sys.path[:0] = [sys.argv[3] + "/src", sys.argv[3]]
import fellwatch.scan.pipeline as pipeline
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings

def status(name):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(name + ":"):
                return int(line.split()[1]) / 1024

marks = {}
real = pipeline.run_chat_stage

def timed(*args, **kwargs):
    marks["rss_at_stage_start"] = status("VmRSS")
    marks["peak_item_pass"] = status("VmHWM")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # the high-water mark from here on is the stage's own
    started = time.perf_counter()
    result = real(*args, **kwargs)
    marks["stage_seconds"] = time.perf_counter() - started
    marks["peak_stage"] = status("VmHWM")
    return result

pipeline.run_chat_stage = timed
started = time.perf_counter()
report = scan([sys.argv[1]], Path(sys.argv[2]), ScanSettings(workers=1), progress=False)
marks["total"] = time.perf_counter() - started
marks["messages"] = report.findings["summary"]["messages"]
marks["items"] = report.findings["summary"].get("items")
run = json.loads((Path(sys.argv[2]) / "run.json").read_text())
marks["scan_seconds"] = run["scan_seconds"]
print(json.dumps(marks))
"""


def _whole(tree: Path, out: Path, code: Path) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run([sys.executable, "-c", _WHOLE, str(tree), str(out), str(code)],
                          capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin", "FELLWATCH_DATA_DIR": str(out.parent / "data")})
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main_files(args: argparse.Namespace, work: Path) -> None:
    tree = work / f"phone-{args.files}"
    if not tree.exists():
        started = time.perf_counter()
        attachments = phone_like(tree, args.files, args.messages // 10)
        print(f"built {args.files} files, {args.messages // 10} messages, {attachments} "
              f"attachments in {time.perf_counter() - started:.1f} s")
    for _ in range(args.runs):
        m = _whole(tree, work / "whole-out", args.code)
        print(f"{args.code}: {m['messages']} messages; scan {m['total']:.2f} s, item pass "
              f"{m['scan_seconds']:.2f} s, chat stage {m['stage_seconds']:.2f} s; main process "
              f"peak RSS item pass {m['peak_item_pass']:.0f} MiB, chat stage "
              f"{m['peak_stage']:.0f} MiB ({m['peak_stage'] - m['rss_at_stage_start']:+.0f} "
              f"over its start, {m['rss_at_stage_start']:.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--files", type=int, default=0)
    parser.add_argument("--code", type=Path, default=ROOT)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="fellwatch-bench-chats-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.files:
        try:
            main_files(args, work)
        finally:
            if args.keep is None:
                shutil.rmtree(work, ignore_errors=True)
        return
    try:
        precision, recall = _labelled()
        print(f"labelled set: precision {precision:.3f}, recall {recall:.3f}")
        sizes = {"small": args.messages // 10, "large": args.messages}
        trees = {}
        for name, n in sizes.items():
            tree = work / name
            if not tree.exists():
                started = time.perf_counter()
                build(tree, n)
                print(f"built {n} messages in {time.perf_counter() - started:.1f} s")
            trees[name] = tree
            biggest = max(p.stat().st_size for p in tree.rglob("*.db"))
            print(f"  {name}: largest database {biggest / 2**20:.1f} MiB")
        baseline = _baseline_rss()
        print(f"baseline: the interpreter with the chat modules loaded, {baseline:.0f} MiB RSS")
        for tree in trees.values():
            runs = [_stage(tree, work) for _ in range(args.runs)]
            seconds = statistics.median(r["seconds"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            rss = max(r["peak_rss_mib"] for r in runs)
            n = int(runs[0]["messages"])
            # CPU time too: on a shared machine it is steadier than wall time.
            print(f"chat stage, {n:>9} messages: {seconds:7.2f} s wall, {cpu:7.2f} s CPU "
                  f"(medians of {args.runs}): {n / seconds:8.0f} messages/s wall, "
                  f"{n / cpu:8.0f} per CPU second; peak RSS {rss:5.0f} MiB "
                  f"({rss - baseline:+.0f} over baseline)")
        run = _scan(trees["large"], work / "scan-out")
        total = run["seconds"]
        print(f"fellwatch scan of the {sizes['large']}-message extraction: {total:.2f} s total, "
              f"item pass {run['scan_seconds']:.2f} s, chats {run['chat_seconds']:.2f} s "
              f"({run['chat_seconds'] / total:.0%} of the scan; "
              f"{run['chat_seconds'] / max(run['scan_seconds'], 1e-9):.1f}x the item pass)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
