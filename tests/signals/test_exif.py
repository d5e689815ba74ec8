"""EXIF leads from pictures whose EXIF we wrote (piexif), in every container that carries it,
and hostile EXIF that must be an error on the item, never a crash."""

from __future__ import annotations

import io
import json

import piexif
import pytest
from PIL import Image

from fellwatch.evidence.item import ItemError
from fellwatch.signals import base as signal_base
from fellwatch.signals.exif import ExifSignal
from tests.carving import samples

EXPECTED = {
    "make": "Fellcam",
    "model": "FC-100",
    "serial": "SN0012345",
    "lens_make": "Fellens",
    "lens": "FL 35mm f/2",
    "software": "Fellwatch test 1.0",
    "datetime": "2024:05:06 07:08:09",
    "datetime_original": "2024:05:06 07:08:09",
    "gps": {"lat": 54.59725, "lon": -2.91838, "alt": 123.5},
}


def exif_of(blob: bytes, content_type: str = "image/jpeg") -> dict | None:
    return ExifSignal().compute(io.BytesIO(blob), content_type)


def test_registered_for_pictures_that_carry_exif() -> None:
    signal = signal_base.registered()["exif"]
    for t in ("image/jpeg", "image/tiff", "image/heic", "image/webp", "image/png"):
        assert signal.applies_to(t)
    assert not signal.applies_to("image/gif") and not signal.applies_to("video/mp4")


def test_jpeg_with_thumbnail() -> None:
    assert exif_of(samples.jpeg_with_exif(1)) == EXPECTED


def test_southern_western_hemisphere_and_below_sea_level() -> None:
    blob = samples.jpeg(2, exif=samples.exif_bytes(gps=(-33.8568, 151.2153, -12.25)))
    gps = exif_of(blob)["gps"]  # type: ignore[index]
    assert gps == {"lat": -33.8568, "lon": 151.2153, "alt": -12.25}
    blob = samples.jpeg(3, exif=samples.exif_bytes(gps=(40.6892, -74.0445, 0.0)))
    assert exif_of(blob)["gps"]["lon"] == -74.0445  # type: ignore[index]


@pytest.mark.parametrize(("fmt", "content_type"),
                         [("PNG", "image/png"), ("WEBP", "image/webp"), ("TIFF", "image/tiff")])
def test_other_containers(fmt: str, content_type: str) -> None:
    blob = samples.encode(samples.photo(4), fmt, exif=samples.exif_bytes())
    assert exif_of(blob, content_type) == EXPECTED


def test_heic() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    blob = samples.encode(samples.photo(5), "HEIF", exif=samples.exif_bytes())
    assert exif_of(blob, "image/heic") == EXPECTED


def test_no_exif_is_none() -> None:
    assert exif_of(samples.jpeg(6)) is None


def test_output_is_deterministic_json() -> None:
    a = json.dumps(exif_of(samples.jpeg_with_exif(7)), sort_keys=True)
    b = json.dumps(exif_of(samples.jpeg_with_exif(7)), sort_keys=True)
    assert a == b and '"lat": 54.59725' in a


def test_malformed_gps_is_recorded_and_camera_kept() -> None:
    exif = piexif.load(samples.exif_bytes())
    exif["GPS"][piexif.GPSIFD.GPSLatitude] = ((54, 0), (0, 0), (0, 0))  # zero denominators
    blob = samples.jpeg(8, exif=piexif.dump(exif))
    result = exif_of(blob)
    assert result is not None
    assert result["make"] == "Fellcam" and "gps" not in result
    assert result["errors"] and result["errors"][0].startswith("gps:")


def test_truncated_exif_block_does_not_crash() -> None:
    good = samples.jpeg_with_exif(9, thumbnail=False)
    app1 = good.index(b"Exif\x00\x00")
    broken = bytearray(good)
    broken[app1 + 6 + 4 : app1 + 6 + 8] = (0xFFFFFF).to_bytes(4, "little")  # IFD0 far away
    try:
        result = exif_of(bytes(broken))
    except ItemError as exc:
        assert str(exc).startswith("exif:")
    else:
        assert result is None or "make" not in result


def test_not_a_picture_is_an_item_error() -> None:
    with pytest.raises(ItemError, match="exif: cannot read"):
        exif_of(b"\xff\xd8\xff\xe1garbage")


def test_pillow_reads_exif_we_wrote() -> None:
    # Guard for the fixture itself: piexif's bytes are what Pillow sees.
    with Image.open(io.BytesIO(samples.jpeg_with_exif(10))) as picture:
        assert picture.getexif()[0x010F] == "Fellcam"
