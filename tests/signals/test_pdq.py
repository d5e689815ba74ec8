"""PDQ on real (benign) pictures in every format, oriented, turned, mirrored and bordered."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pdqhash
import piexif
import pillow_heif
import pytest
import skimage.data
from PIL import Image

from fellwatch.signals import filetype
from fellwatch.signals.base import registered
from fellwatch.signals.pdq import DIHEDRAL_NAMES, PdqSignal, hash_picture, variant_hashes
from fellwatch.signals.pictures import (
    PictureError,
    decode_picture,
    grid_size,
    trim_uniform_border,
)


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    # Not square, so a quarter turn really changes the picture's shape.
    return Image.fromarray(skimage.data.astronaut()[:, :420])


@pytest.fixture(scope="module")
def reference(astronaut: Image.Image) -> dict:
    return hash_picture(io.BytesIO(encode(astronaut, "PNG")))


def test_pdq_signal_is_registered_for_pictures() -> None:
    signal = registered()["pdq"]
    assert isinstance(signal, PdqSignal)
    assert signal.applies_to("image/jpeg") and signal.applies_to("image/heic")
    assert not signal.applies_to("video/mp4")


def test_result_shape(reference: dict) -> None:
    assert len(reference["hash"]) == 64 and int(reference["hash"], 16) >= 0
    assert reference["quality"] == 100
    assert (reference["width"], reference["height"]) == (420, 512)
    assert sorted(reference["variants"]) == sorted(DIHEDRAL_NAMES[1:])
    assert "trimmed" not in reference  # a photo to its edges has no border
    names = [name for name, _, _ in variant_hashes(reference)]
    assert names == list(DIHEDRAL_NAMES)


def _heic(img: Image.Image) -> bytes:
    heif = pillow_heif.from_pillow(img)
    buf = io.BytesIO()
    heif.save(buf, quality=90)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
        ("HEIC", "image/heic"),
    ],
)
def test_every_format_hashes_near_the_png(
    astronaut: Image.Image, reference: dict, fmt: str, content_type: str
) -> None:
    data = _heic(astronaut) if fmt == "HEIC" else encode(astronaut, fmt)
    assert filetype.sniff(data[:512]) == content_type
    result = registered()["pdq"].compute(io.BytesIO(data), content_type)
    assert result is not None
    assert result["quality"] >= 50
    # GIF's 256-colour palette costs the most; every format stays far inside 31.
    assert hamming(result["hash"], reference["hash"]) <= 24, fmt


def test_gif_first_frame_is_hashed(astronaut: Image.Image, reference: dict) -> None:
    other = Image.fromarray(skimage.data.camera()).convert("RGB").resize(astronaut.size)
    data = io.BytesIO()
    astronaut.save(data, "GIF", save_all=True, append_images=[other], duration=100)
    result = hash_picture(io.BytesIO(data.getvalue()))
    other_hash = hash_picture(io.BytesIO(encode(other, "PNG")))["hash"]
    assert hamming(result["hash"], reference["hash"]) <= 24
    assert hamming(result["hash"], other_hash) > 64


@pytest.mark.parametrize(
    ("orientation", "stored_as"),
    [
        (3, Image.Transpose.ROTATE_180),
        (6, Image.Transpose.ROTATE_90),  # shown turned 90° clockwise: stored anticlockwise
        (8, Image.Transpose.ROTATE_270),
        (2, Image.Transpose.FLIP_LEFT_RIGHT),
    ],
)
def test_exif_orientation_is_applied_before_hashing(
    astronaut: Image.Image, reference: dict, orientation: int, stored_as: Image.Transpose
) -> None:
    stored = astronaut.transpose(stored_as)
    exif = piexif.dump({"0th": {piexif.ImageIFD.Orientation: orientation}})
    data = encode(stored, "JPEG", quality=92, exif=exif)
    result = hash_picture(io.BytesIO(data))
    assert hamming(result["hash"], reference["hash"]) <= 16
    assert (result["width"], result["height"]) == astronaut.size
    # Without the orientation the stored pixels differ completely from the upright picture.
    plain = hash_picture(io.BytesIO(encode(stored, "JPEG", quality=92)))
    assert hamming(plain["hash"], reference["hash"]) > 64


@pytest.mark.parametrize(
    ("variant", "transform"),
    [
        ("rot90", Image.Transpose.ROTATE_270),  # Pillow turns anticlockwise
        ("rot180", Image.Transpose.ROTATE_180),
        ("rot270", Image.Transpose.ROTATE_90),
        ("flip-lr", Image.Transpose.FLIP_LEFT_RIGHT),
        ("flip-tb", Image.Transpose.FLIP_TOP_BOTTOM),
        ("transpose", Image.Transpose.TRANSPOSE),
        ("transverse", Image.Transpose.TRANSVERSE),
    ],
)
def test_dihedral_variant_names_say_how_the_copy_was_changed(
    astronaut: Image.Image, reference: dict, variant: str, transform: Image.Transpose
) -> None:
    copy = hash_picture(io.BytesIO(encode(astronaut.transpose(transform), "JPEG", quality=90)))
    distances = {name: hamming(hx, reference["hash"]) for name, hx, _ in variant_hashes(copy)}
    assert min(distances, key=lambda n: distances[n]) == variant
    assert distances[variant] <= 31
    assert distances["original"] > 64


@pytest.mark.parametrize(
    ("colour", "width", "quality"),
    [((0, 0, 0), 40, 90), ((255, 255, 255), 40, 75), ((37, 120, 200), 25, 60)],
)
def test_uniform_border_is_trimmed_and_hashed(
    astronaut: Image.Image,
    reference: dict,
    colour: tuple[int, int, int],
    width: int,
    quality: int,
) -> None:
    w, h = astronaut.size
    framed = Image.new("RGB", (w + 2 * width, h + 2 * width), colour)
    framed.paste(astronaut, (width, width))
    result = hash_picture(io.BytesIO(encode(framed, "JPEG", quality=quality)))
    assert hamming(result["hash"], reference["hash"]) > 31  # plain PDQ misses it
    trimmed = result["trimmed"]
    assert hamming(trimmed["hash"], reference["hash"]) <= 16
    left, top, right, bottom = trimmed["box"]
    assert abs(left - width) <= 3 and abs(top - width) <= 3
    assert abs(right - (w + width)) <= 3 and abs(bottom - (h + width)) <= 3
    names = [name for name, _, _ in variant_hashes(result)]
    assert names[8:] == ["trimmed"] + [f"trimmed+{n}" for n in DIHEDRAL_NAMES[1:]]


def test_border_on_one_side_only() -> None:
    pixels = skimage.data.coffee()
    barred = np.concatenate([pixels, np.full((60, pixels.shape[1], 3), 250, np.uint8)])
    box = trim_uniform_border(barred)
    assert box is not None
    assert box[1] == 0 and box[0] == 0 and box[2] == pixels.shape[1]
    assert abs(box[3] - pixels.shape[0]) <= 1


def test_flat_picture_has_low_quality_and_no_trim() -> None:
    flat = Image.new("RGB", (300, 200), (128, 64, 32))
    result = hash_picture(io.BytesIO(encode(flat, "PNG")))
    assert result["quality"] < 50
    assert "trimmed" not in result


def test_fast_path_stays_near_the_full_resolution_hash() -> None:
    big = Image.fromarray(skimage.data.chelsea()).resize((1800, 1200), Image.Resampling.LANCZOS)
    data = encode(big, "JPEG", quality=90)
    fast = hash_picture(io.BytesIO(data))
    full = hash_picture(io.BytesIO(data), max_side=None)
    assert hamming(fast["hash"], full["hash"]) <= 16
    assert (fast["width"], fast["height"]) == (1800, 1200)
    # DCT-scaled to 1/2, the smallest scale that still covers the 576 x 320 grid
    assert decode_picture(io.BytesIO(data)).pixels.shape == (600, 900, 3)
    assert decode_picture(io.BytesIO(data), max_side=None).pixels.shape == (1200, 1800, 3)


def test_grid_sides_are_where_pdq_is_symmetric() -> None:
    assert [grid_size(w, h) for w, h in ((4032, 3024), (3024, 4032), (1800, 1200))] == [
        (576, 320), (320, 576), (576, 320)]
    assert grid_size(420, 512, long_side=None) == (320, 576)
    assert grid_size(50, 2000) == (64, 576)
    for side in range(1, 3000, 7):
        w, h = grid_size(side, 3000 - side, long_side=None)
        assert w % 256 == 64 and h % 256 == 64
    # Why these sides: PDQ's own dihedral variants are exact there and not elsewhere.
    pixels = np.asarray(Image.fromarray(skimage.data.chelsea()).convert("RGB"))  # 451 x 300
    for shape in ((320, 576), (300, 451)):
        img = np.ascontiguousarray(np.asarray(
            Image.fromarray(pixels).resize(shape[::-1], Image.Resampling.BILINEAR)))
        plain, _ = pdqhash.compute(img)
        mirrored, _ = pdqhash.compute_dihedral(np.ascontiguousarray(img[:, ::-1]))
        distance = int((mirrored[DIHEDRAL_NAMES.index("flip-lr")] != plain).sum())
        assert (distance == 0) == (shape == (320, 576)), (shape, distance)


@pytest.mark.parametrize(
    ("variant", "transform"),
    [
        ("rot90", Image.Transpose.ROTATE_270),
        ("rot180", Image.Transpose.ROTATE_180),
        ("rot270", Image.Transpose.ROTATE_90),
        ("flip-lr", Image.Transpose.FLIP_LEFT_RIGHT),
        ("flip-tb", Image.Transpose.FLIP_TOP_BOTTOM),
        ("transpose", Image.Transpose.TRANSPOSE),
        ("transverse", Image.Transpose.TRANSVERSE),
    ],
)
def test_turned_and_mirrored_copies_of_a_photo_give_back_its_hash(
    variant: str, transform: Image.Transpose
) -> None:
    photo = Image.fromarray(skimage.data.rocket()).resize((2000, 1333), Image.Resampling.LANCZOS)
    known = hash_picture(io.BytesIO(encode(photo, "PNG")))["hash"]
    turned = photo.transpose(transform)
    lossless = hash_picture(io.BytesIO(encode(turned, "PNG")))
    assert dict((n, h) for n, h, _ in variant_hashes(lossless))[variant] == known
    # Lossy: JPEG's 8x8 blocks fall differently on the turned picture, so its noise does too;
    # the unturned copy is 4 bits off, turned ones up to 8 (measured), far inside 31.
    recompressed = hash_picture(io.BytesIO(encode(turned, "JPEG", quality=90)))
    distances = {n: hamming(h, known) for n, h, _ in variant_hashes(recompressed)}
    assert distances[variant] <= 12
    assert min(distances, key=lambda n: distances[n]) == variant


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_decompression_bomb_is_refused_before_decoding() -> None:
    # A real PNG that claims 100 000 × 100 000 pixels (10 gigapixels) in 70 bytes.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    bomb = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
    bomb += _png_chunk(b"IEND", b"")
    assert Image.MAX_IMAGE_PIXELS is not None  # the limit stays on
    with pytest.raises(PictureError, match="decompression bomb"):
        hash_picture(io.BytesIO(bomb))


def test_truncated_jpeg_is_a_clear_error(astronaut: Image.Image) -> None:
    data = encode(astronaut, "JPEG", quality=90)
    with pytest.raises(PictureError, match="truncated"):
        hash_picture(io.BytesIO(data[: len(data) // 2]))


def test_malformed_picture_is_a_clear_error() -> None:
    junk = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    with pytest.raises(PictureError):
        hash_picture(io.BytesIO(junk))
    with pytest.raises(PictureError, match="not a picture"):
        hash_picture(io.BytesIO(b"plain text, not a picture at all"))


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("RGBA", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("L", "JPEG"), ("CMYK", "JPEG"),
     ("I;16", "PNG"), ("1", "BMP")],
)
def test_every_pixel_mode_hashes(astronaut: Image.Image, reference: dict, mode: str,
                                 fmt: str) -> None:
    if mode == "I;16":
        grey = np.asarray(astronaut.convert("L"), dtype=np.uint16) * 257
        img = Image.fromarray(grey)
        assert img.mode.startswith("I;16")
    else:
        img = astronaut.convert(mode)
    result = hash_picture(io.BytesIO(encode(img, fmt)))
    # Greyscale and palettes stay close; a 1-bit picture keeps only the rough shapes.
    limit = 100 if mode == "1" else 24
    assert hamming(result["hash"], reference["hash"]) <= limit, mode
