"""Candidates: PDQ near-matches too weak to count (below the quality floor, a few bits past the
threshold) are offered with a reason and never returned as matches."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data
from PIL import Image

from fellwatch.hashsets.base import HashSetInfo
from fellwatch.matching.base import Candidate
from fellwatch.matching.pdq_index import hex_to_codes
from fellwatch.matching.perceptual import PerceptualMatcher
from fellwatch.record import ItemRecord
from fellwatch.signals.pdq import hash_picture
from tests.records import lookup


def info(kind: str = "known-bad") -> HashSetInfo:
    return HashSetInfo(
        name="known", kind=kind, format="pdqlist", source_sha256="cd" * 32,  # type: ignore[arg-type]
        imported="2026-12-01", entries=1, counts={"pdq": 1}, category_map={"1": "CAM"},
    )


def pdq_of(img: Image.Image) -> dict:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return hash_picture(io.BytesIO(buf.getvalue()))


def faded(img: Image.Image, contrast: float) -> Image.Image:
    """The picture with its contrast cut to `contrast` around mid-grey: the same picture, so
    the same PDQ bits, but too little structure for PDQ's quality to vouch for it."""
    arr = np.asarray(img).astype(np.float64)
    return Image.fromarray((128 + (arr - 128) * contrast).clip(0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return Image.fromarray(skimage.data.astronaut()).convert("RGB")


@pytest.fixture(scope="module")
def known_hash(astronaut: Image.Image) -> str:
    return str(pdq_of(astronaut)["hash"])


@pytest.fixture(scope="module")
def matcher(known_hash: str) -> PerceptualMatcher:
    return PerceptualMatcher([(info(), hex_to_codes([known_hash]), ["1"])])


def moved(hx: str, bits: int, quality: int = 100) -> ItemRecord:
    """A record whose only hash is `hx` with its lowest `bits` bits flipped."""
    value = int(hx, 16) ^ ((1 << bits) - 1)
    return lookup({"signals": {"pdq": {"hash": f"{value:064x}", "quality": quality}}})


def test_faded_copy_below_the_quality_floor_is_a_candidate_not_a_match(
    matcher: PerceptualMatcher, astronaut: Image.Image
) -> None:
    record = lookup({"signals": {"pdq": pdq_of(faded(astronaut, 0.08))}})
    quality = record.signals["pdq"]["quality"]
    assert 20 <= quality < 50, quality  # the fixture is what the test says it is
    assert matcher.match_many([record]) == [[]]
    [[candidate]] = matcher.candidates_many([record])
    assert isinstance(candidate, Candidate)
    assert (candidate.hashset, candidate.set_kind, candidate.kind, candidate.category) == (
        "known", "known-bad", "pdq", "CAM")
    assert candidate.distance is not None and candidate.distance <= 31
    assert candidate.quality == quality
    assert candidate.reason == f"quality {quality} below 50"
    assert candidate.to_json()["reason"] == candidate.reason


def test_distance_a_few_bits_past_the_threshold_is_a_candidate(
    matcher: PerceptualMatcher, known_hash: str
) -> None:
    record = moved(known_hash, 34)
    assert matcher.match(record) == []
    [[candidate]] = matcher.candidates_many([record])
    assert (candidate.distance, candidate.quality, candidate.variant) == (34, 100, "original")
    assert candidate.reason == "distance 34 beyond threshold 31"


def test_beyond_the_band_and_below_the_candidate_floor_is_nothing(
    matcher: PerceptualMatcher, known_hash: str
) -> None:
    assert matcher.candidates_many([moved(known_hash, 40)]) == [[]]  # 31 + 8 = 39 is the edge
    [[edge]] = matcher.candidates_many([moved(known_hash, 39)])
    assert edge.distance == 39
    assert matcher.candidates_many([moved(known_hash, 2, quality=19)]) == [[]]
    # A low-quality hash past the threshold: nothing (such hashes collide even within it).
    assert matcher.candidates_many([moved(known_hash, 34, quality=40)]) == [[]]
    assert matcher.match(moved(known_hash, 2, quality=19)) == []


def test_a_match_is_never_also_a_candidate(matcher: PerceptualMatcher, known_hash: str) -> None:
    record = moved(known_hash, 31)
    assert [m.distance for m in matcher.match(record)] == [31]
    assert matcher.candidates_many([record]) == [[]]


def test_band_and_floor_are_settings(known_hash: str) -> None:
    codes = hex_to_codes([known_hash])
    none = PerceptualMatcher([(info(), codes, ["1"])], candidate_band=0,
                             candidate_min_quality=50)
    assert none.candidates_many([moved(known_hash, 33), moved(known_hash, 2, 41)]) == [[], []]
    wide = PerceptualMatcher([(info(), codes, ["1"])], candidate_band=20,
                             candidate_min_quality=10)
    assert [c.distance for [c] in wide.candidates_many(
        [moved(known_hash, 50), moved(known_hash, 2, 15)])] == [50, 2]
    # Known-good sets give no candidates: a near miss on them settles nothing.
    good = PerceptualMatcher([(info("known-good"), codes, [None])])
    assert good.candidates_many([moved(known_hash, 34)]) == [[]]


def test_candidates_many_after_match_many_equals_a_fresh_search(known_hash: str) -> None:
    records = [moved(known_hash, d) for d in (0, 33, 36, 45)] + [lookup({}),
                                                                 moved(known_hash, 3, 30)]
    codes = hex_to_codes([known_hash])
    a = PerceptualMatcher([(info(), codes, ["1"])])
    a.match_many(records)
    b = PerceptualMatcher([(info(), codes, ["1"])])
    assert a.candidates_many(records) == b.candidates_many(records)
    assert [[c.distance for c in cs] for cs in b.candidates_many(records)] == [
        [], [33], [36], [], [], [3]]
