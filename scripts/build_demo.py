"""Build the demo evidence that `fellwatch demo` scans: src/fellwatch/demo/.

    .venv/bin/python scripts/build_demo.py

Writes, all from benign pictures (scikit-image sample photos and generated patterns):
  demo.E01           an EWF image of an 8 MiB MBR disk with one NTFS partition
  demo-hashset.json  a VICS 2.0 known-bad set (categories 1, 2, 3) over some of its pictures
  demo-nsrl.db       a minimal NSRL RDSv3 known-good set (documents and one picture)
  expected.json      the truth: every planted file, where it is, its hashes and set matches

Needs the same tools as tests/fixtures/build.py (mkntfs, ntfs-3g with FUSE, sfdisk,
ewfacquire, fls). The pictures, hash sets and file contents are byte-identical from run to run;
the E01 is not (EWF stores the acquisition date, NTFS stores creation times).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures import build as fb  # noqa: E402  (the repository root is not on sys.path)

OUT = ROOT / "src" / "fellwatch" / "demo"
MIB = fb.MIB
DISK_SIZE = 8 * MIB
PARTITION = fb.PartitionSpec(1, "ntfs", "NTFS", 1 * MIB, 7 * MIB, "7", "0700",
                             "3f4c6c65-00de-4a57-8a5c-0000000000de", "DEMO")
MAX_BYTES = 3 * MIB

# picture name -> VICS category, for pictures in the known-bad set. Some entries are not on the
# disk at all, as in any real set.
KNOWN_BAD = {"astronaut": 1, "camera": 1, "chelsea": 2, "moon": 3, "gen-exif-1": 1,
             "rocket": 3, "clock": 2, "grass": 1, "coins": 2}
KNOWN_GOOD_PICTURES = ["logo"]
KNOWN_GOOD_DOCUMENTS = ["notes.txt", "report.csv"]


def layout(pictures: dict[str, fb.Picture]) -> list[fb.Planted]:
    def pic(path: str, name: str, **kw: Any) -> fb.Planted:
        p = pictures[name]
        return fb.Planted(path, p.data, "picture", p.name, p.content_type, **kw)

    def doc(path: str, name: str) -> fb.Planted:
        return fb.Planted(path, fb.DOCUMENTS[name], "document", None,
                          fb.DOCUMENT_TYPES[Path(name).suffix])

    zip_members = [fb._pic_member("photos/moon", pictures["moon"]),
                   fb._doc_member("photos/notes.txt")]
    items = [
        pic("/Users/Sam/Pictures/astronaut.jpg", "astronaut"),
        pic("/Users/Sam/Pictures/coffee.jpg", "coffee"),
        pic("/Users/Sam/Pictures/chelsea.jpg", "chelsea"),
        pic("/Users/Sam/Pictures/shapes.png", "gen-shapes-1"),
        pic("/Users/Sam/Pictures/Holiday 2019/beach.jpg", "gen-gradient-2"),
        pic("/Users/Sam/Pictures/Holiday 2019/café.jpg", "brick"),
        pic("/Users/Sam/Downloads/rocket.jpg", "rocket"),
        pic("/Users/Sam/Documents/tax-return.dat", "camera", renamed=True),
        pic("/Program Files/Fixture Office/logo.png", "logo"),
        doc("/Users/Sam/Documents/notes.txt", "notes.txt"),
        doc("/Users/Sam/Documents/report.csv", "report.csv"),
        doc("/Users/Sam/Documents/page.html", "page.html"),
        fb.Planted("/Users/Sam/Downloads/photos.zip",
                   fb.make_zip([(m.name, m.data) for m in zip_members]), "archive", None,
                   "application/zip", members=zip_members),
        pic("/Users/Sam/Pictures/IMG_0042.jpg", "gen-exif-1", deleted=True),
        pic("/Users/Sam/Desktop/clock.png", "clock", deleted=True),
    ]
    return items


def main() -> int:
    fb.check_tools()
    pictures = {p.name: p for p in fb.make_pictures(max_side=160)}
    planted = layout(pictures)

    bad = [fb.HashRecord(pictures[n].filename, pictures[n].data, c) for n, c in KNOWN_BAD.items()]
    good = [fb.HashRecord(pictures[n].filename, pictures[n].data, None)
            for n in KNOWN_GOOD_PICTURES]
    good += [fb.HashRecord(n, fb.DOCUMENTS[n], None) for n in KNOWN_GOOD_DOCUMENTS]
    membership: dict[str, list[dict]] = {}
    for set_name, kind, records in (("demo", "known-bad", bad), ("demo-nsrl", "known-good", good)):
        for r in records:
            membership.setdefault(fb.digests(r.data)["md5"], []).append(
                {"set": set_name, "kind": kind, "category": r.category})

    OUT.mkdir(parents=True, exist_ok=True)
    for old in ("demo.E01", "demo-hashset.json", "demo-nsrl.db", "expected.json"):
        (OUT / old).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="fellwatch-demo-") as tmp:
        work = Path(tmp)
        fs_image = work / "ntfs.img"
        fb.build_ntfs(fs_image, PARTITION, planted, work)
        raw = work / "demo.raw"
        fb.build_disk(raw, "mbr", {"ntfs": fs_image}, partitions=[PARTITION],
                      disk_size=DISK_SIZE)
        listing = fb.fls_entries(raw, PARTITION.offset)
        files = fb.file_records(planted, PARTITION, listing, membership)
        media_md5 = hashlib.md5(raw.read_bytes()).hexdigest()
        segments = fb.ewf_acquire(raw, work / "demo", compression="deflate:best")
        if [s.name for s in segments] != ["demo.E01"]:
            raise fb.FixtureBuildError(f"expected one segment, got {segments}")
        shutil.copyfile(segments[0], OUT / "demo.E01")

    fb.write_vics2(OUT / "demo-hashset.json", bad)
    fb.write_rdsv3(OUT / "demo-nsrl.db", good)
    expected = {
        "evidence": "demo.E01", "format": "ewf", "scheme": "mbr", "media_size": DISK_SIZE,
        "media_md5": media_md5,
        "partitions": [{"id": "p1", "index": 1, "offset": PARTITION.offset,
                        "size": PARTITION.size, "filesystem": PARTITION.filesystem,
                        "label": PARTITION.gpt_name}],
        "hashsets": {
            "demo": {"path": "demo-hashset.json", "format": "vics-2.0", "kind": "known-bad",
                     "entries": len(bad)},
            "demo-nsrl": {"path": "demo-nsrl.db", "format": "nsrl-rdsv3", "kind": "known-good",
                          "entries": len(good) + 20},
        },
        "files": files,
    }
    (OUT / "expected.json").write_text(
        json.dumps(expected, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8")

    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    if total > MAX_BYTES:
        raise fb.FixtureBuildError(f"demo folder is {total} bytes, over {MAX_BYTES}")
    for p in sorted(OUT.iterdir()):
        print(f"{p.stat().st_size:>9}  {p.relative_to(ROOT)}")
    matched = sum(1 for f in files if any(m["kind"] == "known-bad" for m in f["in_hashsets"]))
    print(f"{len(files)} items planted, {matched} in the known-bad set, total {total} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
