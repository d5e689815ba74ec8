"""Carving real volume layouts: every planted object found whole at its exact offset with its
exact bytes, every planted fragment reported as a fragment, live files left alone."""

from __future__ import annotations

import hashlib

import pytest

from fellwatch.carving import CarveSettings, carve
from fellwatch.evidence.item import Item
from tests.carving.conftest import Planted


def carve_all(planted: Planted, **settings: object) -> list[Item]:
    return list(carve(planted.read, planted.ranges, str(planted.image),
                      CarveSettings(**settings)))  # type: ignore[arg-type]


def check(planted: Planted, items: list[Item]) -> None:
    whole = {i.offset: hashlib.md5(planted.read(i.offset or 0, i.size)).hexdigest()
             for i in items if i.error is None}
    broken = {i.offset for i in items if i.error is not None}
    assert whole == planted.complete
    assert planted.fragments <= broken
    assert all(i.error.startswith("fragment: not a complete ") for i in items if i.error)
    assert not planted.allocated & (set(whole) | broken)
    for i in items:
        assert i.origin == "carved" and i.allocated is False
        assert i.key == f"carved/{i.offset:016x}"
        assert i.locator == ("carved", i.offset, i.size)


@pytest.mark.parametrize("alignment", [None, 512])
@pytest.mark.parametrize("volume", ["fat32", "ntfs", "mbr"])
def test_planted_objects_are_carved_exactly(volume: str, alignment: int | None,
                                            request: pytest.FixtureRequest) -> None:
    # Everything is planted on sector boundaries, so sector-aligned scanning finds it all too.
    planted: Planted = request.getfixturevalue(volume)
    check(planted, carve_all(planted, alignment=alignment))


def test_small_windows_find_objects_straddling_window_boundaries(fat32: Planted) -> None:
    # 4 KiB windows put most objects across one or more window boundaries.
    check(fat32, carve_all(fat32, window=4096))


def test_partition_is_taken_from_the_range(mbr: Planted) -> None:
    assert {i.partition for i in carve_all(mbr)} == {None}
    assert {r.kind for r in mbr.ranges} == {"unpartitioned"}


def test_exif_thumbnail_does_not_end_the_picture(fat32: Planted) -> None:
    """The deleted JPEG carries a whole JPEG thumbnail (its own EOI) inside APP1."""
    items = carve_all(fat32, formats=("jpeg",))
    sizes = {i.offset: i.size for i in items if i.error is None and i.offset is not None}
    gone = min(o for o in fat32.complete if o not in fat32.allocated)
    blob = fat32.read(gone, sizes[gone])
    assert blob.count(b"\xff\xd9") >= 2  # thumbnail EOI inside, final EOI at the end
    assert blob.endswith(b"\xff\xd9")
    # The thumbnail is not reported on its own: it lies inside a carved picture.
    assert all(not gone < o < gone + sizes[gone] for o in sizes)


def test_fragments_can_be_left_out(fat32: Planted) -> None:
    items = carve_all(fat32, report_fragments=False)
    assert all(i.error is None for i in items)
    assert {i.offset for i in items} == set(fat32.complete)


def test_max_size_turns_a_larger_object_into_a_fragment(fat32: Planted) -> None:
    items = carve_all(fat32, formats=("png",), max_sizes={"png": 1024})
    assert items and all(i.error and i.error.startswith("fragment:") for i in items)


def test_formats_restrict_the_carvers(ntfs: Planted) -> None:
    items = carve_all(ntfs, formats=("mp4", "avi"))
    assert {i.path.rsplit(".", 1)[1] for i in items} == {"mp4", "avi"}


def test_unknown_format_is_refused(ntfs: Planted) -> None:
    with pytest.raises(ValueError, match="unknown carver"):
        carve_all(ntfs, formats=("tiff",))
