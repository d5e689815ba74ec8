"""EXIF leads for victim identification: camera, body serial number, lens, software, original
date-time and GPS position, read with Pillow (`getexif`, `get_ifd`).

Output (keys present only when the picture carries them; values are strings, or numbers for
GPS, so the JSON is deterministic):

    {"make": "...", "model": "...", "serial": "...", "lens_make": "...", "lens": "...",
     "lens_serial": "...",
     "software": "...", "datetime_original": "2024:05:06 07:08:09", "datetime": "...",
     "gps": {"lat": 54.59725, "lon": -2.91838, "alt": 123.5}, "errors": ["gps: ..."]}

A part that cannot be read (a malformed GPS IFD, a rational with a zero denominator) is listed
in `errors` and the rest is still reported; a picture whose EXIF cannot be read at all raises
ItemError, which the scan records on the item.
"""

from __future__ import annotations

import io
import warnings
from typing import Any, BinaryIO, ClassVar

from PIL import ExifTags, Image

from fellwatch.errors import ItemError
from fellwatch.signals.base import register
from fellwatch.signals.pictures import check_decoded_pixels, remaining_bytes

_APPLIES = frozenset(
    ["image/jpeg", "image/tiff", "image/heic", "image/heif", "image/avif", "image/webp",
     "image/png"]
)
_BASE = ExifTags.Base
_GPS = ExifTags.GPS
# (output key, IFD: "0th" or "exif", tag)
_TEXT_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("make", "0th", _BASE.Make),
    ("model", "0th", _BASE.Model),
    ("software", "0th", _BASE.Software),
    ("datetime", "0th", _BASE.DateTime),
    ("datetime_original", "exif", _BASE.DateTimeOriginal),
    ("serial", "exif", _BASE.BodySerialNumber),
    ("lens_make", "exif", _BASE.LensMake),
    ("lens", "exif", _BASE.LensModel),
    ("lens_serial", "exif", _BASE.LensSerialNumber),
)
_DECIMALS = 7  # about 1 cm of latitude: more would only print float noise


def _heif_opener() -> None:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:  # HEIC is then reported as "cannot open", not a crash
        return
    register_heif_opener()


_heif_opener()


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        value = str(value)
    value = value.replace("\x00", "").strip()
    return value or None


def _number(value: Any) -> float:
    if isinstance(value, tuple) and len(value) == 2:  # an un-reduced (num, den) rational
        num, den = value
        return float(num) / float(den)
    return float(value)


def _degrees(value: Any, ref: Any, negative: str) -> float:
    parts = [_number(v) for v in value]
    if len(parts) != 3:
        raise ValueError(f"expected degrees, minutes, seconds, got {len(parts)} values")
    decimal = parts[0] + parts[1] / 60 + parts[2] / 3600
    if _text(ref) == negative:
        decimal = -decimal
    return decimal


def _gps(ifd: dict[int, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    if _GPS.GPSLatitude in ifd and _GPS.GPSLongitude in ifd:
        lat = _degrees(ifd[_GPS.GPSLatitude], ifd.get(_GPS.GPSLatitudeRef), "S")
        lon = _degrees(ifd[_GPS.GPSLongitude], ifd.get(_GPS.GPSLongitudeRef), "W")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"position out of range: {lat}, {lon}")
        out["lat"] = round(lat, _DECIMALS)
        out["lon"] = round(lon, _DECIMALS)
    if _GPS.GPSAltitude in ifd:
        alt = _number(ifd[_GPS.GPSAltitude])
        ref = ifd.get(_GPS.GPSAltitudeRef)
        if ref in (1, b"\x01"):  # 1 = below sea level
            alt = -alt
        out["alt"] = round(alt, 3)
    return out


def read_exif(picture: Image.Image) -> dict[str, Any] | None:
    """The EXIF leads of an opened picture, or None when it carries no EXIF."""
    exif = picture.getexif()
    if not exif:
        return None
    out: dict[str, Any] = {}
    errors: list[str] = []
    ifds: dict[str, Any] = {"0th": exif}
    try:
        ifds["exif"] = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception as exc:  # Pillow raises several types on a broken IFD offset
        errors.append(f"exif ifd: {exc}")
        ifds["exif"] = {}
    for key, ifd, tag in _TEXT_FIELDS:
        if tag in ifds[ifd]:
            value = _text(ifds[ifd][tag])
            if value is not None:
                out[key] = value
    try:
        gps = _gps(exif.get_ifd(ExifTags.IFD.GPSInfo))
        if gps:
            out["gps"] = gps
    except Exception as exc:  # malformed GPS: say so, keep the camera fields
        errors.append(f"gps: {exc}")
    if errors:
        out["errors"] = errors
    return out or None


class ExifSignal:
    name: ClassVar[str] = "exif"
    head_only: ClassVar[bool] = False

    def applies_to(self, content_type: str) -> bool:
        return content_type in _APPLIES

    def compute(self, content: BinaryIO, content_type: str) -> dict[str, Any] | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Pillow warns on odd-but-readable EXIF
                stream = content if content.seekable() else io.BytesIO(content.read())
                file_bytes = remaining_bytes(stream)
                with Image.open(stream) as picture:
                    if picture.format == "PNG" and "exif" not in picture.info:
                        # Pillow looks for an eXIf chunk after the pixels by decoding them all
                        # (load()): bounded like any decode (signals/pictures.py).
                        check_decoded_pixels(*picture.size, file_bytes)
                    return read_exif(picture)
        except Exception as exc:  # Pillow's errors on hostile input are of many types
            raise ItemError(f"exif: cannot read: {type(exc).__name__}: {exc}") from exc


register(ExifSignal())
