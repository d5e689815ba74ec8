"""Robustness of PDQ matching to the changes offenders make, on benign pictures.

    PYTHONPATH=src python -m bench.robustness            # rewrites docs/robustness.md

Known set: the PDQ hashes of >= 40 distinct benign pictures (scikit-image sample photos and
seeded generated pictures: shapes, noise textures, text), as lossless PNG. Each transform makes
a copy of every picture (saved as JPEG quality 90 unless the transform is itself an encoding);
the copy is hashed by the `pdq` signal and matched by `PerceptualMatcher` at threshold 31:

* plain PDQ: the copy's own hash only;
* Fellwatch: plus its 7 dihedral variants and, when it has a flat border, the 8 of its inside.

Recall counts a copy found when its own original is among its matches. A false match is a
match to any other picture of the set; the rate is over all (copy, other picture) pairs.
The output has no timings: the same code gives the same file.
"""

from __future__ import annotations

import argparse
import io
import string
from collections.abc import Callable
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps
from scipy import ndimage
from tests.records import lookup

from fellwatch.hashsets.base import HashSetInfo
from fellwatch.matching.base import Match
from fellwatch.matching.pdq_index import hex_to_codes
from fellwatch.matching.perceptual import PerceptualMatcher
from fellwatch.signals.pdq import hash_picture

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "robustness.md"
SEED = 20261129

# scikit-image samples bundled with the package (no download). `cat` is `chelsea` again and
# the stereo pair's right view is its left one shifted, so neither is used.
SAMPLES = (
    "astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "colorwheel",
    "grass", "gravel", "horse", "immunohistochemistry", "logo", "moon", "page", "rocket",
    "shepp_logan_phantom", "stereo_motorcycle", "text",
)


def _rgb(arr: np.ndarray) -> Image.Image:
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    elif arr.dtype != np.uint8:
        arr = (255 * (arr - arr.min()) / max(float(np.ptp(arr)), 1e-9)).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return Image.fromarray(arr).convert("RGB")


def sample_pictures() -> list[tuple[str, Image.Image]]:
    out = []
    for name in SAMPLES:
        data = getattr(skimage.data, name)()
        if isinstance(data, tuple):
            data = data[0]
        out.append((name, _rgb(data)))
    # Large samples hold distinct scenes in their corners.
    retina = skimage.data.retina()
    out.append(("retina-left", _rgb(retina[300:1100, 100:700])))
    out.append(("retina-right", _rgb(retina[300:1100, 700:1300])))
    hubble = skimage.data.hubble_deep_field()
    out.append(("hubble-left", _rgb(hubble[:, :500])))
    out.append(("hubble-right", _rgb(hubble[:, 500:])))
    return out


def shapes(rng: np.random.Generator, size: tuple[int, int] = (480, 360)) -> Image.Image:
    bg = tuple(int(v) for v in rng.integers(0, 256, 3))
    img = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(6, 14))):
        x0, y0 = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        w, h = int(rng.integers(30, 220)), int(rng.integers(30, 220))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = (x0 - w // 2, y0 - h // 2, x0 + w // 2, y0 + h // 2)
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.ellipse(box, fill=colour)
        elif kind == 1:
            draw.rectangle(box, fill=colour)
        else:
            draw.polygon([(box[0], box[3]), (x0, box[1]), (box[2], box[3])], fill=colour)
    return img


def texture(rng: np.random.Generator, size: tuple[int, int] = (400, 400)) -> Image.Image:
    sigma = float(rng.uniform(4, 18))
    layers = []
    for _ in range(3):
        field = ndimage.gaussian_filter(rng.standard_normal((size[1], size[0])), sigma)
        field = (field - field.min()) / max(float(np.ptp(field)), 1e-9)
        layers.append(field)
    return Image.fromarray((np.stack(layers, axis=2) * 255).astype(np.uint8))


def text_picture(rng: np.random.Generator, size: tuple[int, int] = (420, 320)) -> Image.Image:
    img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(180, 256, 3)))
    draw = ImageDraw.Draw(img)
    for row in range(int(rng.integers(5, 9))):
        words = " ".join(
            "".join(rng.choice(list(string.ascii_letters), int(rng.integers(3, 9))))
            for _ in range(int(rng.integers(2, 5)))
        )
        font = ImageFont.load_default(size=float(rng.integers(18, 40)))
        colour = tuple(int(v) for v in rng.integers(0, 120, 3))
        draw.text((int(rng.integers(0, 120)), 10 + row * 40), words, fill=colour, font=font)
    return img


def generated_pictures() -> list[tuple[str, Image.Image]]:
    rng = np.random.default_rng(SEED)
    out = [(f"shapes-{i}", shapes(rng)) for i in range(10)]
    out += [(f"texture-{i}", texture(rng)) for i in range(6)]
    out += [(f"text-{i}", text_picture(rng)) for i in range(6)]
    return out


def all_pictures() -> list[tuple[str, Image.Image]]:
    return sample_pictures() + generated_pictures()


def _caption(img: Image.Image) -> Image.Image:
    bar = max(24, img.height // 7)
    out = Image.new("RGB", (img.width, img.height + bar), (255, 255, 255))
    out.paste(img, (0, 0))
    font = ImageFont.load_default(size=float(bar * 0.6))
    ImageDraw.Draw(out).text((8, img.height + bar * 0.15), "lol look at this", fill=(0, 0, 0),
                             font=font)
    return out


def _crop(fraction: float) -> Callable[[Image.Image], Image.Image]:
    def crop(img: Image.Image) -> Image.Image:
        dx, dy = round(img.width * fraction / 2), round(img.height * fraction / 2)
        return img.crop((dx, dy, img.width - dx, img.height - dy))

    return crop


def _thumbnail(img: Image.Image) -> Image.Image:
    out = img.copy()
    out.thumbnail((256, 256))
    return out


# name -> (transform, encoding of the copy)
TRANSFORMS: dict[str, tuple[Callable[[Image.Image], Image.Image], dict]] = {
    "resize 50 %": (lambda i: i.resize((i.width // 2, i.height // 2), Image.Resampling.LANCZOS),
                    {}),
    "JPEG quality 40": (lambda i: i, {"format": "JPEG", "quality": 40}),
    "greyscale": (lambda i: ImageOps.grayscale(i).convert("RGB"), {}),
    "brightness +30 %": (lambda i: ImageEnhance.Brightness(i).enhance(1.3), {}),
    "caption bar": (_caption, {}),
    "thumbnail 256 px": (_thumbnail, {}),
    "border 40 px (black)": (lambda i: ImageOps.expand(i, 40, (0, 0, 0)), {}),
    "border 40 px (white)": (lambda i: ImageOps.expand(i, 40, (255, 255, 255)), {}),
    "crop 5 %": (_crop(0.05), {}),
    "crop 10 %": (_crop(0.10), {}),
    "horizontal mirror": (lambda i: i.transpose(Image.Transpose.FLIP_LEFT_RIGHT), {}),
    "rotation 90°": (lambda i: i.transpose(Image.Transpose.ROTATE_270), {}),
    "mirror + border 40 px": (
        lambda i: ImageOps.expand(i.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 40, (0, 0, 0)), {}),
    "PNG re-encoding": (lambda i: i, {"format": "PNG"}),
    "WebP re-encoding": (lambda i: i, {"format": "WEBP", "quality": 80}),
}


def encode(img: Image.Image, params: dict) -> bytes:
    params = {"format": "JPEG", "quality": 90, **params}
    buf = io.BytesIO()
    img.save(buf, **params)
    return buf.getvalue()


def plain(pdq: dict) -> dict:
    return {"signals": {"pdq": {"hash": pdq["hash"], "quality": pdq["quality"]}}}


PHOTO_SIDE = 2048  # the long side of the photo-sized set: a 3 MP camera or phone picture


def photo_sized(img: Image.Image) -> Image.Image:
    """The picture upscaled (bicubic) to a photo's size: what a seized phone or camera holds,
    where Fellwatch hashes on PDQ's dihedral grid (signals/pictures.py)."""
    scale = PHOTO_SIDE / max(img.size)
    return img.resize((round(img.width * scale), round(img.height * scale)),
                      Image.Resampling.BICUBIC)


def section(title: str, intro: str, pictures: dict[str, Image.Image]) -> list[str]:
    """One table: every transform of every picture matched against the set's known hashes."""
    known = {name: hash_picture(io.BytesIO(encode(img, {"format": "PNG"})))
             for name, img in pictures.items()}
    low = sorted(n for n, r in known.items() if r["quality"] < 50)
    names = [n for n in pictures if n not in low]
    info = HashSetInfo(name="robustness", kind="known-bad", format="generated",
                       source_sha256="0" * 64, imported="-", entries=len(names))
    codes = hex_to_codes([known[n]["hash"] for n in names])
    # Each known entry's category is its picture's name: a match says which picture it found.
    matcher = PerceptualMatcher([(info, codes, list(names))])

    def run(record: dict) -> dict[str, Match]:
        return {m.category or "": m for m in matcher.match(lookup(record))}

    lines = []
    total_pairs = len(TRANSFORMS) * len(names) * (len(names) - 1)
    total_false = {"plain": 0, "fellwatch": 0}
    for tname, (transform, params) in TRANSFORMS.items():
        found = {"plain": 0, "fellwatch": 0}
        false = {"plain": 0, "fellwatch": 0}
        variants: dict[str, int] = {}
        dists: list[int] = []
        for name in names:
            copy = hash_picture(io.BytesIO(encode(transform(pictures[name]), params)))
            for mode, record in (("plain", plain(copy)), ("fellwatch", {"signals": {"pdq": copy}})):
                hits = run(record)
                if name in hits:
                    found[mode] += 1
                    if mode == "fellwatch":
                        variant = hits[name].variant or "original"
                        variants[variant] = variants.get(variant, 0) + 1
                        dists.append(hits[name].distance or 0)
                wrong = len(set(hits) - {name})
                false[mode] += wrong
                total_false[mode] += wrong
        n = len(names)
        ranked = sorted(variants.items(), key=lambda x: (-x[1], x[0]))
        top = ", ".join(f"{v} {c}" for v, c in ranked)
        mean = f"{np.mean(dists):.1f}" if dists else "-"
        lines.append(f"| {tname} | {found['plain']}/{n} ({100 * found['plain'] / n:.0f} %) | "
                     f"{found['fellwatch']}/{n} ({100 * found['fellwatch'] / n:.0f} %) | {mean} | "
                     f"{false['plain']} / {false['fellwatch']} | {top} |")

    # Distinct pictures against each other: any pair within 31 is a false match.
    pair_false: dict[str, list[str]] = {"plain": [], "fellwatch": []}
    for name in names:
        rec = known[name]
        for mode, record in (("plain", plain(rec)), ("fellwatch", {"signals": {"pdq": rec}})):
            for other in sorted(set(run(record)) - {name}):
                pair_false[mode].append(f"{name} ~ {other}")
    pairs = len(names) * (len(names) - 1)
    return [
        f"## {title}",
        "",
        intro + f" {len(names)} distinct pictures of {len(pictures)}"
        + (f" (left out for quality < 50: {', '.join(low)})." if low else "."),
        "",
        "| transform | plain PDQ recall | Fellwatch recall | mean distance (Fellwatch) | "
        "false matches plain / Fellwatch | variant that matched |",
        "|---|---|---|---|---|---|",
        *lines,
        "",
        "False matches: each copy against the other "
        f"{len(names) - 1} pictures; over all transforms "
        f"{total_false['plain']} of {total_pairs} pairs for plain PDQ "
        f"({100 * total_false['plain'] / total_pairs:.3f} %), "
        f"{total_false['fellwatch']} of {total_pairs} for Fellwatch "
        f"({100 * total_false['fellwatch'] / total_pairs:.3f} %).",
        "",
        f"Distinct originals against each other ({pairs} ordered pairs): "
        f"{len(pair_false['plain'])} false matches with plain PDQ, "
        f"{len(pair_false['fellwatch'])} with Fellwatch's variants"
        + (": " + "; ".join(pair_false["fellwatch"]) if pair_false["fellwatch"] else "")
        + ".",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=DOC)
    args = parser.parse_args()
    pictures = dict(all_pictures())
    sizes = sorted(max(img.size) for img in pictures.values())
    doc = [
        "# PDQ robustness on benign pictures",
        "",
        "Generated by `PYTHONPATH=src python -m bench.robustness` (from the repository root; it",
        "rewrites this file). Do not edit by hand.",
        "",
        f"Pictures: {len(pictures)} benign pictures ({len(SAMPLES) + 4} scikit-image sample "
        f"photos and crops of them, {len(pictures) - len(SAMPLES) - 4} seeded generated "
        "pictures: shapes, noise textures, text); the known hashes are of lossless PNG.",
        "Each copy is saved as JPEG quality 90 unless the transform is itself an encoding.",
        "Threshold 31 (distance <= 31 of 256 bits is a match); hashes of quality < 50 are not",
        "matched. **Plain PDQ** matches the copy's own hash; **Fellwatch** adds the 7 dihedral",
        "variants (turns and mirrors) and, when the copy has a flat border, the 8 hashes of its",
        "inside (`trimmed`, `trimmed+…`).",
        "",
        *section(
            "Photo-sized pictures",
            f"Every picture upscaled (bicubic) to {PHOTO_SIDE} px on its long side, as a 3 MP "
            "camera or phone picture: Fellwatch hashes these on PDQ's dihedral grid, where the "
            "turned and mirrored variants are exact (signals/pictures.py).",
            {name: photo_sized(img) for name, img in pictures.items()},
        ),
        *section(
            "Pictures as made",
            f"The same pictures at their own sizes ({sizes[0]}–{sizes[-1]} px on the long "
            "side): up to 768 px PDQ hashes them as they are and the variants come from a "
            "second pass on the grid, so a turned or mirrored copy carries the grid's drift "
            "from PDQ's own hash besides the change itself (the mean distances below).",
            pictures,
        ),
        "## Limits, stated plainly",
        "",
        "- **Crops defeat PDQ.** PDQ hashes the whole frame; cutting a few percent off the",
        "  edges shifts every DCT coefficient, and on this set a 5 % crop already loses almost",
        "  every picture. Fellwatch adds nothing for crops (only flat borders are trimmed).",
        "- **Fine texture and small text are PDQ's weak spot** (brick, grass, gravel, page,",
        "  the generated text pictures): the 64×64 downsample inside PDQ aliases them",
        "  differently after a resize. Hashing the same pixels with `pdqhash` directly gives",
        "  the same distances, so this is PDQ's behaviour, not the fast decoding path's.",
        "- **Turned and mirrored small pictures** (768 px or less) are found less surely than",
        "  photos: their own hash is PDQ's, bit for bit, but PDQ's filter is not symmetric at",
        "  most sizes, so their variants come from a second pass on the dihedral grid and",
        "  differ from PDQ's own hash by that pass's drift. Photo-sized pictures are hashed",
        "  on the grid only and their variants are exact.",
        "- **A caption bar** (text on a white band) is not a flat border, so it is not trimmed:",
        "  the picture's proportions change and recall falls to plain PDQ's.",
        "- **A border is trimmed together with any flat margin of the picture's own** (a dark",
        "  sky, a white background): then the trimmed inside is smaller than the known picture",
        "  and its hash may miss (the border rows above: colorwheel and the phantom on black,",
        "  horse and logo on white).",
        "- **Small thumbnails** (the 256-px rows, and halving a picture that is already small)",
        "  lose the fine texture and text pictures for the same reason as above; halving a",
        "  photo-sized picture does not.",
        "- Turns by other angles than 90° steps, perspective changes, collages and heavy",
        "  filters are out of reach of any global perceptual hash.",
        "- Dihedral variants and trimmed hashes are extra chances to match, so extra chances",
        "  to match wrongly too: the false-match figures above count them.",
        "- These pictures are few and benign; the rates are a check of the mechanism, not a",
        "  measurement of PDQ on real casework.",
        "",
    ]
    args.out.write_text("\n".join(doc))
    print("\n".join(doc))


if __name__ == "__main__":
    main()
