"""The chain a scan runs on carved items: the deleted picture's EXIF leads come back from the
carved bytes, and a carved video is hashed and matched against its known vPDQ list."""

from __future__ import annotations

import io
from pathlib import Path

from fellwatch.carving import CarveSettings, carve
from fellwatch.hashsets.vpdq import VpdqFormat, format_frames
from fellwatch.matching.video import VideoMatcher, known_videos
from fellwatch.signals.exif import ExifSignal
from fellwatch.signals.filetype import sniff
from fellwatch.signals.vpdq import VpdqSignal
from tests.carving import samples
from tests.carving.conftest import Planted
from tests.records import lookup


def test_exif_leads_survive_deletion_and_carving(fat32: Planted) -> None:
    jpegs = [i for i in carve(fat32.read, fat32.ranges, "fat32", CarveSettings(formats=("jpeg",)))
             if i.error is None]
    leads = [ExifSignal().compute(io.BytesIO(fat32.read(i.offset or 0, i.size)), "image/jpeg")
             for i in jpegs]
    # The deleted GONE.JPG (directory entry wiped) carried the camera serial and GPS position.
    lead = next(lead for lead in leads if lead)
    assert lead is not None
    assert lead["serial"] == "SN0012345"
    assert lead["gps"] == {"lat": 54.59725, "lon": -2.91838, "alt": 123.5}


def test_carved_video_matches_its_known_hashes(ntfs: Planted, tmp_path: Path) -> None:
    known = tmp_path / "known"
    known.mkdir()
    original = samples.video("mp4", index=1)  # the whole mp4 planted on the NTFS volume
    hashes = VpdqSignal().compute(io.BytesIO(original), "video/mp4")
    assert hashes is not None
    (known / "planted-mp4.txt").write_text(format_frames(hashes["frames"]))
    matcher = VideoMatcher(known_videos("demo", "known-bad", VpdqFormat().read(known)))
    videos = [i for i in carve(ntfs.read, ntfs.ranges, "ntfs", CarveSettings(formats=("mp4",)))
              if i.error is None]
    assert len(videos) == 1
    blob = ntfs.read(videos[0].offset or 0, videos[0].size)
    assert blob == original and sniff(blob) == "video/mp4"
    record = {"signals": {"vpdq": VpdqSignal().compute(io.BytesIO(blob), "video/mp4")}}
    [match] = matcher.match(lookup(record))
    assert (match.media_id, match.frames) == ("planted-mp4", "3/3")
