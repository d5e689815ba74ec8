import hashlib
import os

import pytest

from fellwatch.evidence import EvidenceError, open_evidence


def test_folder_items_sorted_with_raw_names_kept(tmp_path):
    root = tmp_path / "ev"
    (root / "b").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "b" / "z.bin").write_bytes(b"zed")
    os.close(os.open(os.fsencode(root) + b"/caf\xe9.jpg", os.O_CREAT | os.O_WRONLY))
    (root / "link").symlink_to("/etc/passwd")
    ev = open_evidence(root)
    items = list(ev.items())
    assert [i.path for i in items] == ["/a.txt", "/b/z.bin", "/caf\\xe9.jpg", "/link"]
    assert [i.key for i in items] == sorted(i.key for i in items)
    link = items[-1]
    assert link.error == "symbolic link: not followed"
    with ev.open_item(items[1]) as fh:
        assert hashlib.md5(fh.read()).hexdigest() == hashlib.md5(b"zed").hexdigest()
    with ev.open_item(items[2]) as fh:
        assert fh.read() == b""


def test_missing_evidence_is_a_clear_error(tmp_path):
    with pytest.raises(EvidenceError, match="evidence not found"):
        open_evidence(tmp_path / "nope.E01")
