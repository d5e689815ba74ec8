"""exFAT (deleted file recovered), ISO 9660, a 10 000-file directory, and the path specs items
carry (identical to dfVFS's own serialisation, readable back by dfVFS)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

from dfvfs.resolver import resolver

from fellwatch.evidence import Item, dfvfs_adapter
from fellwatch.evidence.image import ImageEvidence

from ._image_builders import MIB, blank, payload, run

A = payload(3000, 1)
B = payload(5000, 2)
C = payload(70000, 3)


def _read(evidence: ImageEvidence, item: Item) -> bytes:
    with evidence.open_item(item) as stream:
        return stream.read()


@contextlib.contextmanager
def _exfat_mounted(image: Path, mountpoint: Path) -> Iterator[Path]:
    # exfat-fuse wants a block device: attach the image to a loop device first
    loop = run("losetup", "-f", "--show", image).strip()
    try:
        mountpoint.mkdir()
        run("mount.exfat-fuse", loop, mountpoint)
        try:
            yield mountpoint
        finally:
            run("umount", mountpoint)
    finally:
        run("losetup", "-d", loop)


def test_exfat_deleted_file_and_free_space(tmp_path: Path) -> None:
    image = blank(tmp_path / "exfat.raw", 8 * MIB)
    run("mkfs.exfat", image)
    with _exfat_mounted(image, tmp_path / "mnt") as root:
        (root / "a.bin").write_bytes(A)
        (root / "d").mkdir()
        (root / "d" / "c.bin").write_bytes(C)
        (root / "d" / "gone.bin").write_bytes(B)
        (root / "d" / "gone.bin").unlink()
    evidence = ImageEvidence(image)
    assert evidence.describe()["volumes"][0]["filesystem"] == "exfat"
    items = {i.path: i for i in evidence.items()}
    assert set(items) == {"/a.bin", "/d/c.bin", "/d/gone.bin"}  # no $ALLOC_BITMAP etc.
    assert _read(evidence, items["/a.bin"]) == A
    assert _read(evidence, items["/d/c.bin"]) == C
    assert items["/d/gone.bin"].allocated is False
    assert _read(evidence, items["/d/gone.bin"]) == B
    ranges = [(r.offset, r.length) for r in evidence.unallocated()]
    # the deleted file's cluster is free space
    at = image.read_bytes().index(B[:512])
    assert any(o <= at < o + n for o, n in ranges)


def test_iso9660(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.bin").write_bytes(A)
    (tree / "sub" / "c.bin").write_bytes(C)
    iso = tmp_path / "disc.iso"
    run("genisoimage", "-quiet", "-R", "-J", "-o", iso, tree)
    evidence = ImageEvidence(iso)
    assert evidence.describe()["volumes"][0]["filesystem"] == "iso9660"
    items = {i.path: i for i in evidence.items()}
    assert set(items) == {"/a.bin", "/sub/c.bin"}
    assert _read(evidence, items["/sub/c.bin"]) == C
    assert list(evidence.unallocated()) == []  # nothing is free on a disc


def test_ten_thousand_files_in_one_directory(tmp_path: Path) -> None:
    tree = tmp_path / "tree" / "many"
    tree.mkdir(parents=True)
    for i in range(10_000):
        (tree / f"f{i:05d}.txt").write_bytes(b"file %d\n" % i)
    # ISO 9660 because genisoimage builds it in a second (mkfs.ext4 -d takes ~40 s here);
    # the walk under test is the same pytsk3 directory walk for every file system.
    image = tmp_path / "many.iso"
    run("genisoimage", "-quiet", "-R", "-J", "-o", image, tmp_path / "tree")
    evidence = ImageEvidence(image)
    items = list(evidence.items())
    assert len(items) == 10_000
    assert len({i.key for i in items}) == 10_000
    assert [i.key for i in items] == [i.key for i in evidence.items()]  # stable walk order
    sample = next(i for i in items if i.path == "/many/f04321.txt")
    assert _read(evidence, sample) == b"file 4321\n"


def test_item_path_specs_are_dfvfs_path_specs(tmp_path: Path) -> None:
    from dfvfs.lib import definitions
    from dfvfs.path import factory

    volume = factory.Factory.NewPathSpec(
        definitions.TYPE_INDICATOR_RAW,
        parent=factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_OS, location="/x/y.raw"),
    )
    volume_json = dfvfs_adapter.serialise(volume)
    for stream in (None, "hidden"):
        for location in ("/a.bin", "/caf\\xe9 \"quoted\" ünï.bin"):
            fast = dfvfs_adapter.tsk_file_spec(volume_json, 42, location, stream)
            assert fast == dfvfs_adapter.tsk_file_spec_reference(volume, 42, location, stream)
            assert dfvfs_adapter.deserialise(fast).location == location


def test_item_path_spec_opens_the_file_with_dfvfs(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.bin").write_bytes(A)
    image = blank(tmp_path / "ext.raw", 8 * MIB)
    run("mkfs.ext4", "-q", "-F", "-d", tree, image)
    evidence = ImageEvidence(image)
    (item,) = list(evidence.items())
    spec = dfvfs_adapter.deserialise(item.path_spec or "")
    file_object = resolver.Resolver.OpenFileObject(spec)
    assert hashlib.md5(file_object.read()).hexdigest() == hashlib.md5(A).hexdigest()


def _blkls_runs(image: Path) -> list[tuple[int, int]]:
    """Free byte runs per TSK's blkls (its block unit is the sector on FAT)."""
    stat = run("fsstat", image)
    if "File System Type: FAT" in stat:
        unit_line = "Sector Size:"
    elif "File System Type: HFS" in stat:
        unit_line = "Allocation Block Size:"
    else:
        unit_line = "Block Size:"
    unit = int(next(x for x in stat.splitlines() if x.startswith(unit_line)).split(":")[1])
    free = [int(x.split("|")[0]) for x in run("blkls", "-l", "-e", image).splitlines()[3:]
            if x.split("|")[1] == "f"]
    runs: list[list[int]] = []
    for block in free:
        if runs and runs[-1][1] == block:
            runs[-1][1] = block + 1
        else:
            runs.append([block, block + 1])
    return [(s * unit, (e - s) * unit) for s, e in runs]


def _fat(tmp_path: Path, bits: str) -> Path:
    image = blank(tmp_path / f"fat{bits}.raw", 40 * MIB)
    run("mkfs.vfat", "-F", bits, image)
    sources = {"a": A, "b": B, "c": C}
    for name, data in sources.items():
        (tmp_path / name).write_bytes(data)
        run("mcopy", "-i", image, tmp_path / name, f"::/{name}.bin")
    run("mdel", "-i", image, "::/b.bin")
    return image


def test_free_space_matches_blkls_on_fat16_fat32_and_shared_images(
    tmp_path: Path, shared_testdata: Path
) -> None:
    images = [_fat(tmp_path, "16"), _fat(tmp_path, "32"), shared_testdata / "hfsplus.raw",
              shared_testdata / "ext2.splitraw.000"]
    for image in images:
        evidence = ImageEvidence(image)
        mine = [(r.offset, r.length) for r in evidence.unallocated()]
        if image.name.startswith("ext2.splitraw"):
            # blkls reads only the first segment of a split image: compare within it
            limit = image.stat().st_size
            mine = [(o, min(n, limit - o)) for o, n in mine if o < limit]
            theirs = [(o, min(n, limit - o)) for o, n in _blkls_runs(image) if o < limit]
        else:
            theirs = _blkls_runs(image)
        assert mine == theirs, image.name
