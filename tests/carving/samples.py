"""Benign sample pictures and videos with known bytes, built in memory.

Pictures come from scikit-image's sample photos and generated gradients; videos are PyAV-encoded
from generated frames. Nothing here is, or resembles, illegal material.
"""

from __future__ import annotations

import io
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import numpy as np
import piexif
from PIL import Image
from skimage import data as skdata

_SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")


def photo(index: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A real sample photo (varied per index), resized and slightly altered so each is unique."""
    name = _SAMPLES[index % len(_SAMPLES)]
    array = getattr(skdata, name)()
    picture = Image.fromarray(array).convert("RGB").resize(size)
    arr = np.asarray(picture).copy()
    arr[index % size[1], :, :] = (index * 37) % 256  # one distinct line makes each unique
    return Image.fromarray(arr)


def gradient(index: int, size: tuple[int, int] = (200, 150)) -> Image.Image:
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    arr = np.stack([(x * 255 // size[0]), (y * 255 // size[1]), (x + y + index * 13) % 256], -1)
    arr = (arr + rng.integers(0, 24, arr.shape)).clip(0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def encode(picture: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    if fmt == "GIF":
        picture = picture.convert("P", palette=Image.Palette.ADAPTIVE)
    picture.save(out, format=fmt, **options)
    return out.getvalue()


def jpeg(index: int, size: tuple[int, int] = (320, 240), **options: object) -> bytes:
    return encode(photo(index, size), "JPEG", quality=90, **options)


def exif_bytes(
    make: str = "Fellcam",
    model: str = "FC-100",
    serial: str = "SN0012345",
    gps: tuple[float, float, float] | None = (54.59725, -2.91838, 123.5),
    thumbnail: bytes | None = None,
) -> bytes:
    """EXIF written with piexif: camera, serial, lens, dates, optional GPS and thumbnail."""

    def dms(value: float) -> tuple[tuple[int, int], ...]:
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round(((value - degrees) * 60 - minutes) * 60 * 10000)
        return ((degrees, 1), (minutes, 1), (seconds, 10000))

    zeroth = {
        piexif.ImageIFD.Make: make.encode(),
        piexif.ImageIFD.Model: model.encode(),
        piexif.ImageIFD.Software: b"Fellwatch test 1.0",
        piexif.ImageIFD.DateTime: b"2024:05:06 07:08:09",
    }
    exif = {
        piexif.ExifIFD.DateTimeOriginal: b"2024:05:06 07:08:09",
        piexif.ExifIFD.BodySerialNumber: serial.encode(),
        piexif.ExifIFD.LensMake: b"Fellens",
        piexif.ExifIFD.LensModel: b"FL 35mm f/2",
    }
    gps_ifd: dict[int, object] = {}
    if gps is not None:
        lat, lon, alt = gps
        gps_ifd = {
            piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
            piexif.GPSIFD.GPSLatitude: dms(lat),
            piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
            piexif.GPSIFD.GPSLongitude: dms(lon),
            piexif.GPSIFD.GPSAltitudeRef: 0 if alt >= 0 else 1,
            piexif.GPSIFD.GPSAltitude: (round(abs(alt) * 100), 100),
        }
    blob: dict[str, object] = {"0th": zeroth, "Exif": exif, "GPS": gps_ifd}
    if thumbnail is not None:
        blob["1st"] = {piexif.ImageIFD.JPEGInterchangeFormat: 0}
        blob["thumbnail"] = thumbnail
    return piexif.dump(blob)


def jpeg_with_exif(index: int, thumbnail: bool = True, **exif: object) -> bytes:
    """A JPEG whose APP1 holds EXIF and (by default) a whole JPEG thumbnail with its own EOI."""
    thumb = encode(photo(index + 100, (160, 120)), "JPEG", quality=80) if thumbnail else None
    return jpeg(index, exif=exif_bytes(thumbnail=thumb, **exif))  # type: ignore[arg-type]


def png(index: int) -> bytes:
    return encode(gradient(index), "PNG")


def gif(index: int) -> bytes:
    return encode(photo(index, (160, 120)), "GIF")


def webp(index: int) -> bytes:
    return encode(photo(index, (200, 150)), "WEBP", quality=80)


def bmp(index: int) -> bytes:
    return encode(gradient(index, (64, 48)), "BMP")


def frames(count: int, index: int = 0, size: tuple[int, int] = (160, 120)) -> list[np.ndarray]:
    """Generated frames: a sample photo panning, with a moving bar (distinct per second)."""
    base = np.asarray(photo(index, (size[0] * 2, size[1])))
    out = []
    for i in range(count):
        shift = (i * 3) % size[0]
        frame = base[:, shift : shift + size[0]].copy()
        frame[:, (i * 5) % size[0] : (i * 5) % size[0] + 8] = 255
        out.append(frame)
    return out


@cache
def video(fmt: str, seconds: int = 3, fps: int = 10, index: int = 0,
          size: tuple[int, int] = (160, 120)) -> bytes:
    """An mp4 or mov (H.264) or avi (MPEG-4 part 2) of generated frames, encoded with PyAV.

    Encoded once per argument set and process: x264 does not give the same bytes for the same
    frames every time (measured: with its threads under load, and on one thread after other
    videos were decoded in the process), and tests compare a planted video byte for byte with
    the one they make their known hashes from."""
    out = io.BytesIO()
    codec = "mpeg4" if fmt == "avi" else "libx264"
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=fps)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i, arr in enumerate(frames(seconds * fps, index, size)):
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def write(path: Path, blob: bytes) -> Path:
    path.write_bytes(blob)
    return path
