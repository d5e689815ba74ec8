"""PerceptualMatcher end to end: benign pictures, a small PDQ set, altered copies found."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageOps

from fellwatch.hashsets.base import HashSetInfo
from fellwatch.matching.base import Match
from fellwatch.matching.pdq_index import hex_to_codes
from fellwatch.matching.perceptual import PerceptualMatcher
from fellwatch.signals.pdq import hash_picture
from tests.records import lookup

NAMES = ("astronaut", "camera", "coffee", "chelsea", "rocket")


def picture(name: str) -> Image.Image:
    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def record_of(img: Image.Image, fmt: str = "JPEG") -> dict:
    buf = io.BytesIO()
    img.save(buf, fmt)
    pdq = hash_picture(io.BytesIO(buf.getvalue()))
    return {"content_type": f"image/{fmt.lower()}", "signals": {"pdq": pdq}}


def info(name: str, kind: str = "known-bad", sha: str = "ab") -> HashSetInfo:
    return HashSetInfo(
        name=name, kind=kind, format="pdqlist", source_sha256=sha * 32,  # type: ignore[arg-type]
        imported="2026-11-29", entries=len(NAMES), counts={"pdq": len(NAMES)},
        category_map={"1": "CAM", "2": "exploitive"},
    )


@pytest.fixture(scope="module")
def known() -> tuple[np.ndarray, list[str | None], list[str]]:
    hexes = [record_of(picture(n), "PNG")["signals"]["pdq"]["hash"] for n in NAMES]
    # The flat picture's hash is in the set too: it must still never match (quality < 50).
    flat = record_of(Image.new("RGB", (200, 200), (90, 90, 90)), "PNG")["signals"]["pdq"]
    hexes.append(flat["hash"])
    categories: list[str | None] = ["1", "2", "1", "1", None, "1"]
    return hex_to_codes(hexes), categories, hexes


@pytest.fixture(scope="module")
def matcher(known: tuple[np.ndarray, list[str | None], list[str]]) -> PerceptualMatcher:
    codes, categories, _ = known
    return PerceptualMatcher([(info("demo-pdq"), codes, categories)])


def test_mirrored_copy_matches_with_its_variant(matcher: PerceptualMatcher) -> None:
    mirrored = picture("astronaut").transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    matches = matcher.match(lookup(record_of(mirrored)))
    assert len(matches) == 1
    m = matches[0]
    assert (m.hashset, m.set_kind, m.kind, m.category, m.variant) == (
        "demo-pdq", "known-bad", "pdq", "CAM", "flip-lr")
    assert m.distance is not None and m.distance <= 31


def test_turned_and_bordered_copies(matcher: PerceptualMatcher) -> None:
    turned = picture("coffee").transpose(Image.Transpose.ROTATE_270)  # 90° clockwise
    assert [m.variant for m in matcher.match(lookup(record_of(turned)))] == ["rot90"]
    framed = ImageOps.expand(picture("camera"), border=40, fill=(255, 255, 255))
    (m,) = matcher.match(lookup(record_of(framed)))
    assert (m.variant, m.category) == ("trimmed", "exploitive")
    framed_mirror = framed.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    found = matcher.match(lookup(record_of(framed_mirror)))
    assert [m.variant for m in found] == ["trimmed+flip-lr"]


def test_plain_copy_is_original_and_unrelated_is_nothing(matcher: PerceptualMatcher) -> None:
    small = picture("chelsea").resize((225, 150))
    (m,) = matcher.match(lookup(record_of(small)))
    assert m.variant == "original" and m.category == "CAM"
    assert matcher.match(lookup(record_of(picture("hubble_deep_field")))) == []
    # An uncategorised entry matches with no category.
    (r,) = matcher.match(lookup(record_of(picture("rocket"))))
    assert r.category is None and r.to_json()["variant"] == "original"


def test_low_quality_hash_is_never_matched(matcher: PerceptualMatcher) -> None:
    flat = record_of(Image.new("RGB", (200, 200), (90, 90, 90)), "PNG")
    assert flat["signals"]["pdq"]["quality"] < 50
    assert matcher.match(lookup(flat)) == []
    assert matcher.queries(lookup(flat)) == []


def test_records_without_pdq() -> None:
    m = PerceptualMatcher([])
    assert m.match(lookup({"signals": {}})) == [] and m.match(lookup({})) == []


def test_threshold_is_inclusive_and_configurable(
    known: tuple[np.ndarray, list[str | None], list[str]],
) -> None:
    codes, categories, hexes = known
    target = int(hexes[0], 16)

    def record_at(distance: int) -> dict:
        moved = target ^ int("1" * distance, 2) if distance else target
        return {"signals": {"pdq": {"hash": f"{moved:064x}", "quality": 100}}}

    default = PerceptualMatcher([(info("s"), codes, categories)])
    assert [m.distance for m in default.match(lookup(record_at(31)))] == [31]
    assert default.match(lookup(record_at(32))) == []
    strict = PerceptualMatcher([(info("s"), codes, categories)], threshold=20)
    assert strict.match(lookup(record_at(21))) == []
    assert len(strict.match(lookup(record_at(20)))) == 1
    lenient = PerceptualMatcher([(info("s"), codes, categories)], min_quality=0)
    flat_hash = hexes[-1]
    flat = {"signals": {"pdq": {"hash": flat_hash, "quality": 0}}}
    assert [m.distance for m in lenient.match(lookup(flat))][:1] == [0]


def test_several_sets_ordered_and_deterministic(
    known: tuple[np.ndarray, list[str | None], list[str]],
) -> None:
    codes, categories, _ = known
    nothing: list[str | None] = [None, None]
    sets = [
        (info("zeta", sha="cd"), codes, categories),
        (info("alpha", kind="known-good", sha="ef"), codes[:2], nothing),
    ]
    matcher = PerceptualMatcher(sets)
    record = record_of(picture("astronaut").transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    first = matcher.match(lookup(record))
    assert [(m.hashset, m.set_kind, m.variant) for m in first] == [
        ("alpha", "known-good", "flip-tb"), ("zeta", "known-bad", "flip-tb")]
    assert matcher.match(lookup(record)) == first
    assert all(isinstance(m, Match) for m in first)


def test_index_is_persisted_keyed_by_source_sha256(
    tmp_path: Path, known: tuple[np.ndarray, list[str | None], list[str]]
) -> None:
    codes, categories, _ = known
    first = PerceptualMatcher([(info("s"), codes, categories)], index_dir=tmp_path)
    assert [d["loaded"] for d in first.describe()] == [False]
    assert (tmp_path / f"pdq-{'ab' * 32}" / "codes.faissbin").is_file()
    second = PerceptualMatcher([(info("s"), codes, categories)], index_dir=tmp_path)
    assert [d["loaded"] for d in second.describe()] == [True]
    record = record_of(picture("coffee"))
    assert first.match(lookup(record)) == second.match(lookup(record)) != []
    # Same key, other codes (a stale file): rebuilt, never trusted.
    third = PerceptualMatcher([(info("s"), codes[:3], categories[:3])], index_dir=tmp_path)
    assert [d["loaded"] for d in third.describe()] == [False]
    assert third.match(lookup(record_of(picture("rocket")))) == []


def test_match_many_equals_match_one_by_one(
    known: tuple[np.ndarray, list[str | None], list[str]],
) -> None:
    codes, categories, _ = known
    nothing: list[str | None] = [None, None]
    sets = [
        (info("zeta", sha="cd"), codes, categories),
        (info("alpha", kind="known-good", sha="ef"), codes[:2], nothing),
    ]
    matcher = PerceptualMatcher(sets)
    records = [
        record_of(picture("astronaut").transpose(Image.Transpose.FLIP_TOP_BOTTOM)),
        {"signals": {}},
        record_of(picture("hubble_deep_field")),
        record_of(ImageOps.expand(picture("camera"), border=40, fill=(255, 255, 255))),
        record_of(Image.new("RGB", (200, 200), (90, 90, 90)), "PNG"),
        record_of(picture("coffee").transpose(Image.Transpose.ROTATE_270)),
        {},
        record_of(picture("astronaut")),
    ]
    batched = matcher.match_many([lookup(r) for r in records])
    assert batched == [matcher.match(lookup(r)) for r in records]
    assert [len(m) for m in batched] == [2, 0, 0, 2, 0, 1, 0, 2]  # camera is in both sets
    assert matcher.match_many([]) == [] and matcher.match_many([lookup({})]) == [[]]
    assert PerceptualMatcher([]).match_many([lookup(r) for r in records[:2]]) == [[], []]
