"""The review's speed: scan import rows/s (SQLite and PostgreSQL), gallery pages, thumbnails
and grades at 100 000 findings, against a baseline measured in the same run.

    PYTHONPATH=src python bench/review.py [--findings 50000] [--postgres URL] [--repeats 7]

Each backend runs in a fresh process with a fresh store (SQLite file in a temp folder; a
throw-away PostgreSQL database, dropped after). Findings are synthetic (random digests and PDQ
hashes, names made up; thumbnails are generated noise): nothing real is in them.

1. import: two scans of N findings each into one case (`import_scan_dir`: streamed, batched),
   rows/s; baseline: `json.load` of the same file (the parse alone), and the ratio.
2. gallery: first page, next page and a page 100 pages in, of the case's 2N findings, through
   Django's test client (the whole request: access check, audit entry, query, template).
3. a blurred thumbnail served; 4. a grade posted to the JSON API and answered.
Figures are medians of --repeats runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
THUMBNAILS = 2000  # items with a thumbnail (enough to serve from; the rest would only be disk)


def write_scan(out: Path, n: int, seed: int, evidence: str) -> Path:
    """A synthetic findings.json (schema 1, sorted keys) of n listed items and its summary."""
    rng = random.Random(seed)
    out.mkdir(parents=True)
    items: list[dict[str, Any]] = []
    review = matched = duplicates = 0
    by_category: dict[str, int] = {}
    for i in range(n):
        key = f"{i:08d}"
        sha1 = rng.randbytes(20).hex()
        if i % 20 == 19:  # a copy of the picture before it: stacks
            sha1 = items[-1]["sha1"]
        known = i % 10 == 3
        carved_copy = i % 50 == 7
        folder = f"/Users/u{i % 7}/Pictures/{i % 97:02d}"
        item: dict[str, Any] = {
            "evidence": evidence, "key": key, "path": f"{folder}/IMG_{i:06d}.jpg",
            "path_spec": None, "partition": "p1", "inode": 1000 + i, "offset": None,
            "size": 20_000 + rng.randrange(2_000_000), "allocated": i % 9 != 0,
            "origin": "carved" if carved_copy else "filesystem",
            "md5": rng.randbytes(16).hex(), "sha1": sha1, "sha256": rng.randbytes(32).hex(),
            "content_type": "image/jpeg", "extension_mismatch": False,
            "times": {"mtime": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z"},
            "signals": {"pdq": {"hash": rng.randbytes(32).hex(), "quality": 90},
                        "exif": {"gps": {"lat": 53.4, "lon": -2.9}} if i % 13 == 0 else {}},
            "matches": [{"hashset": "bench", "set_kind": "known-bad", "kind": "sha1",
                         "category": "A", "distance": 0}] if known else [],
            "candidates": [], "known_good": False, "review": not known, "error": None,
        }
        if carved_copy:
            item["carved_duplicate_of"] = f"{folder}/original.jpg"
            item["review"] = False
            duplicates += 1
        else:
            review += item["review"]
            if known:
                matched += 1
                by_category["A"] = by_category.get("A", 0) + 1
        items.append(item)
    doc = {"schema": 1, "tool": {"name": "fellwatch", "version": "bench"},
           "settings": {"pdq_threshold": 31},
           "evidence": [{"path": evidence, "sha256": "0" * 64, "sha256_after": "0" * 64,
                         "format": "raw", "volumes": []}],
           "hashsets": [{"name": "bench", "kind": "known-bad", "format": "vics",
                         "version": "bench", "entries": 1}],
           "summary": {"items": n, "bytes": 0, "matched": matched, "known_good": 0,
                       "errors": 0, "review": review, "carved_duplicates": duplicates,
                       "candidates": 0, "by_category": by_category},
           "items": items}
    (out / "findings.json").write_text(json.dumps(doc, sort_keys=True, indent=1))
    _thumbnails(out, [it["key"] for it in items[:THUMBNAILS]], rng)
    return out


def _thumbnails(out: Path, keys: list[str], rng: random.Random) -> None:
    import numpy as np
    from PIL import Image

    from fellwatch.store.thumbnails import SCHEMA, KeyedThumbnail, Thumbnail, insert_rows

    noise = np.random.default_rng(rng.randrange(1 << 30)).integers(0, 255, (192, 256, 3))
    buf = io.BytesIO()
    Image.fromarray(noise.astype("uint8")).save(buf, "JPEG", quality=85)
    thumb = Thumbnail("picture", 256, 192, "jpeg", buf.getvalue())
    db = sqlite3.connect(out / "scan.sqlite")
    db.executescript(SCHEMA)
    with db:
        insert_rows(db, 0, [KeyedThumbnail(k, thumb) for k in keys])
    db.close()


def median_of(repeats: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def worker(n: int, repeats: int) -> dict[str, Any]:
    """In a fresh process whose environment names the store."""
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "fellwatch.web.settings"
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from fellwatch.web.records.models import Case, Exhibit, Finding, Officer, Unit
    from fellwatch.web.scans import import_scan_dir

    unit = Unit.objects.create(name="Bench Unit")
    user = get_user_model().objects.create_user("bench.examiner")
    Officer.objects.create(user=user, unit=unit, role="examiner")
    case = Case.objects.create(unit=unit, reference="BENCH/1", opened_on=timezone.localdate())
    case.assigned.add(user)
    for ref in ("B/1", "B/2"):
        Exhibit.objects.create(case=case, reference=ref, type="hdd", seized_by="bench",
                               seized_at=timezone.now())
    tmp = Path(os.environ["FELLWATCH_DATA_DIR"])
    result: dict[str, Any] = {"backend": connection.vendor, "findings": 2 * n}
    imports, parses = [], []
    for i, ref in enumerate(("B/1", "B/2")):
        scan_dir = write_scan(tmp / f"scan{i}", n, seed=i, evidence=f"/evidence/bench{i}.raw")
        started = time.perf_counter()
        with (scan_dir / "findings.json").open("rb") as fh:
            json.load(fh)
        parses.append(time.perf_counter() - started)
        started = time.perf_counter()
        import_scan_dir(scan_dir, "BENCH/1", ref, user="bench")
        imports.append(time.perf_counter() - started)
    result["import_s"] = statistics.median(imports)
    result["import_rows_per_s"] = n / result["import_s"]
    result["parse_only_s"] = statistics.median(parses)
    assert Finding.objects.filter(case=case).count() == 2 * n

    client = Client()
    client.force_login(user)
    base = f"/cases/{case.pk}/review/"
    for name, query in (("gallery_first_page_s", ""), ("gallery_next_page_s", "?page=2"),
                        ("gallery_page_100_s", "?page=100"),
                        ("gallery_filtered_s", "?deleted=1&gps=1&sort=size&page=2")):
        assert client.get(base + query).status_code == 200
        url = base + query
        result[name] = median_of(repeats, lambda url=url: client.get(url))  # type: ignore[misc]
    with_thumb = list(Finding.objects.filter(case=case, key__lt=f"{THUMBNAILS:08d}")
                      .values_list("id", flat=True)[:repeats * 3])
    it = iter(with_thumb)
    result["thumbnail_s"] = median_of(
        repeats * 3, lambda: client.get(f"{base}findings/{next(it)}/thumbnail/"))
    ids = iter(Finding.objects.filter(case=case, needs_person=True)
               .values_list("id", flat=True)[:repeats * 3])
    api = f"/api/cases/{case.pk}/review/grades/"
    result["grade_round_trip_s"] = median_of(repeats * 3, lambda: client.post(
        api, json.dumps({"findings": [next(ids)], "grade": "C"}),
        content_type="application/json"))
    return result


def run_backend(label: str, env: dict[str, str], n: int, repeats: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", "--findings", str(n), "--repeats", str(repeats)],
        env={**os.environ, **env, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
             "FELLWATCH_ALLOWED_HOSTS": "testserver"},
        capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{label}: the worker failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]), label=label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=50_000, help="per scan (two scans)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a server to make a throw-away database on ('' to skip)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.stdout.write(json.dumps(worker(args.findings, args.repeats)) + "\n")
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="fellwatch-bench-review-") as tmp:
        (Path(tmp) / "sqlite").mkdir()
        results.append(run_backend("SQLite", {"FELLWATCH_DATA_DIR": f"{tmp}/sqlite",
                                              "FELLWATCH_DATABASE_URL": ""},
                                   args.findings, args.repeats))
        if args.postgres:
            import psycopg

            name = f"fellwatch_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            try:
                (Path(tmp) / "pg").mkdir()
                url = args.postgres.rsplit("/", 1)[0] + "/" + name
                results.append(run_backend("PostgreSQL", {"FELLWATCH_DATA_DIR": f"{tmp}/pg",
                                                          "FELLWATCH_DATABASE_URL": url},
                                           args.findings, args.repeats))
            finally:
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    w = sys.stdout.write
    w(f"review bench: {args.findings} findings per scan, two scans in one case, "
      f"medians of {args.repeats}\n")
    for r in results:
        w(f"\n{r['label']} ({r['findings']} findings in the case)\n")
        w(f"  import           {r['import_s']:8.2f} s  {r['import_rows_per_s']:10.0f} rows/s"
          f"   (baseline json.load alone {r['parse_only_s']:.2f} s: import = "
          f"{r['import_s'] / r['parse_only_s']:.1f}x the parse)\n")
        for key, label in (("gallery_first_page_s", "gallery page 1"),
                           ("gallery_next_page_s", "gallery page 2"),
                           ("gallery_page_100_s", "gallery page 100"),
                           ("gallery_filtered_s", "gallery filtered"),
                           ("thumbnail_s", "thumbnail served"),
                           ("grade_round_trip_s", "grade round trip")):
            w(f"  {label:16} {r[key] * 1000:8.1f} ms\n")


if __name__ == "__main__":
    main()
