"""Archives inside evidence, through the whole scan: members hashed, damage recorded."""

import csv
import hashlib
import io
import subprocess
import zipfile

from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings


def _inventory(out):
    with (out / "inventory.csv").open(newline="") as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def test_dfvfs_archives_and_corrupt_gzip_in_a_folder(shared_testdata, tmp_path):
    report = scan([str(shared_testdata)], tmp_path / "o", ScanSettings(workers=1), progress=False)
    rows = _inventory(tmp_path / "o")
    # Expected digests from the system's own unzip and tar, not from our reader.
    for kind, tool in (("zip", ["unzip", "-p"]), ("tar", ["tar", "-xOf"])):
        archive = shared_testdata / kind / f"with_directory.{kind}"
        for name in ("folder/syslog", "folder/wtmp.1"):
            data = subprocess.run([*tool, str(archive), name], capture_output=True, check=True)
            member = rows[f"/{kind}/with_directory.{kind}!{name}"]
            assert member["origin"] == "archive"
            assert member["md5"] == hashlib.md5(data.stdout).hexdigest()
    assert (
        rows["/zip/absolute_paths.zip!/folder/syslog"]["md5"]
        == rows["/zip/with_directory.zip!folder/syslog"]["md5"]
    )
    corrupt = rows["/corrupt1.gz"]
    assert corrupt["error"].startswith("archive: ")
    assert corrupt["sha256"]  # the file itself is still hashed
    listed = {i["path"] for i in report.findings["items"] if i["error"]}
    assert "/corrupt1.gz" in listed


def test_bomb_member_is_recorded_and_the_scan_carries_on(tmp_path):
    folder = tmp_path / "ev"
    folder.mkdir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (64 << 20))
        zf.writestr("note.txt", b"benign")
    (folder / "bomb.zip").write_bytes(buf.getvalue())
    (folder / "after.txt").write_bytes(b"still scanned")
    scan([str(folder)], tmp_path / "o", ScanSettings(workers=1), progress=False)
    rows = _inventory(tmp_path / "o")
    assert "bomb" in rows["/bomb.zip!zeros.bin"]["error"]
    assert rows["/after.txt"]["md5"] == hashlib.md5(b"still scanned").hexdigest()


def test_gzip_member_size_is_what_it_holds(shared_testdata, tmp_path):
    # The fseventsd logs in the APFS image are gzip streams whose header sizes say nothing.
    report = scan(
        [str(shared_testdata / "apfs.raw")], tmp_path / "o", ScanSettings(workers=1),
        progress=False,
    )  # fmt: skip
    assert report.findings["summary"]["errors"] == 0
    rows = _inventory(tmp_path / "o")
    member = rows["/apfs1/.fseventsd/000000001714941a!000000001714941a"]
    assert int(member["size"]) == 257 and member["error"] == ""
