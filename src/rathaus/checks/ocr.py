"""OCR of one page image with Tesseract (Debian's tesseract-ocr, languages deu+eng, through ``tesserocr``).

Per page: the page is turned upright (orientation 0/90/180/270 from Tesseract's OSD; when OSD is unsure the
orientations are compared by how well they read), small skew is measured (``deskew``) and corrected, a small
image is enlarged, and then the page is read. The result is a :class:`~rathaus.checks.model.PageText` with the
text, the mean word confidence (0..1), the rotation and skew that were corrected, and the words with their boxes
in the pixel coordinates of the ORIGINAL image (as given: for photos after their EXIF orientation, for PDF pages
the page rendered at :data:`RENDER_DPI`). :class:`OcrPage` also keeps the corrected image and the boxes on it,
for checks that look at the page itself (signature ink).

Tesseract's engines are slow to start (~0.5 s): one engine per thread is kept and reused.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from rathaus.checks.model import PageText

LANGUAGES = "deu+eng"
RENDER_DPI = 300  # PDF pages without a text layer are rendered at this resolution for OCR
MIN_LONG_SIDE = 2200  # smaller images are enlarged (up to MAX_UPSCALE) – Tesseract wants ~10 px x-height or more
MAX_UPSCALE = 3.0
MAX_LONG_SIDE = 4400  # larger images are reduced (phone photos of 48 MP) – time, not accuracy
MAX_SKEW = 10.0  # degrees; a larger measured angle is not a skew but a misreading
MIN_SKEW = 0.3  # degrees; below this the page is left as it is
SURE_SCORE = 150.0  # confident horizontal characters after which an orientation is taken without trying others
OSD_SURE = 2.0  # Tesseract's orientation confidence above which its answer is taken without a second look

_TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)

Word = tuple[str, tuple[int, int, int, int], float]


class OcrUnavailable(RuntimeError):
    """Tesseract or its German/English language data is not installed."""


@dataclass
class OcrPage:
    """A page read by OCR: ``text`` has the words boxed in the original image; ``image`` is the upright,
    deskewed (and possibly enlarged) image that was read, ``upright_words`` the same words boxed on it."""

    text: PageText
    image: Image.Image
    upright_words: list[Word]


def tessdata_path() -> str:
    """The directory with deu, eng and osd traineddata: $TESSDATA_PREFIX, or Debian's location."""
    import tesserocr

    candidates = [os.environ.get("TESSDATA_PREFIX", "")]
    default_path, _ = tesserocr.get_languages()
    candidates += [default_path, *_TESSDATA_CANDIDATES]
    for candidate in candidates:
        if candidate and all((Path(candidate) / f"{lang}.traineddata").is_file() for lang in ("deu", "eng", "osd")):
            return str(Path(candidate))
    raise OcrUnavailable(
        "Tesseract-Sprachdaten (deu, eng, osd) nicht gefunden – Debian-Pakete tesseract-ocr-deu, tesseract-ocr-eng "
        "und tesseract-ocr-osd installieren oder TESSDATA_PREFIX setzen"
    )


class _Engines(threading.local):
    """Per thread: one Tesseract engine for the text, one for orientation detection (started on first use)."""

    reader: Any = None
    osd: Any = None

    def get(self) -> tuple[Any, Any]:
        if self.reader is None:
            import tesserocr

            path = tessdata_path()
            self.reader = tesserocr.PyTessBaseAPI(path=path, lang=LANGUAGES, psm=tesserocr.PSM.AUTO)
            self.osd = tesserocr.PyTessBaseAPI(path=path, lang="osd", psm=tesserocr.PSM.OSD_ONLY)
        return self.reader, self.osd


_engines = _Engines()


def ocr_image(image: Image.Image, *, file: str, number: int) -> OcrPage:
    """Read one page image (any mode; EXIF orientation must already be applied)."""
    reader, osd = _engines.get()
    original = _grey(image)
    ow, oh = original.size
    scale = _scale_for(original.size)
    work = original if scale == 1.0 else original.resize(
        (max(1, round(ow * scale)), max(1, round(oh * scale))), Image.Resampling.LANCZOS)

    rotation = _orientation(work, reader, osd)
    upright = work.rotate(rotation, expand=True) if rotation else work
    skew = _skew(upright)
    straight = upright.rotate(skew, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC) \
        if abs(skew) >= MIN_SKEW else upright
    if abs(skew) < MIN_SKEW:
        skew = 0.0

    upright_words = _read(reader, straight)
    # upright coordinates -> original: undo deskew, orientation, scale
    to_work = _rotation_matrix(rotation, work.size, upright.size)
    to_upright = _rotation_matrix(skew, upright.size, straight.size)
    scaling = np.diag([scale, scale, 1.0])
    back = np.linalg.inv(to_upright @ to_work @ scaling)
    words = [(text, _map_box(back, box, (ow, oh)), conf) for text, box, conf in upright_words]
    page = PageText(file=file, number=number, text=_text(reader), confidence=_mean_confidence(upright_words),
                    source="ocr", rotation=rotation, skew=round(float(skew), 2), words=words)
    return OcrPage(text=page, image=straight, upright_words=upright_words)


def _grey(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    return ImageOps.grayscale(image) if image.mode != "L" else image


def _scale_for(size: tuple[int, int]) -> float:
    long_side = max(size)
    if long_side < MIN_LONG_SIDE:
        return min(MAX_UPSCALE, MIN_LONG_SIDE / long_side)
    if long_side > MAX_LONG_SIDE:
        return MAX_LONG_SIDE / long_side
    return 1.0


def _orientation(image: Image.Image, reader: Any, osd: Any) -> int:
    """Counter-clockwise degrees (0, 90, 180, 270) that turn the page upright."""
    osd.SetImage(image)
    try:
        found = osd.DetectOrientationScript()
    except RuntimeError:  # too few characters for OSD
        found = None
    guess = int(found["orient_deg"]) % 360 if found else 0
    if found and found["orient_conf"] >= OSD_SURE:
        return guess
    # OSD unsure (little text, e.g. an ID card): read a reduced copy each way and keep the best-reading one
    small = image if max(image.size) <= 1400 else image.resize(
        (round(image.width * 1400 / max(image.size)), round(image.height * 1400 / max(image.size))))
    candidates = dict.fromkeys([guess, 0, 180, 90, 270])
    best, best_score = guess, -1.0
    for tried, angle in enumerate(candidates):
        words = _read(reader, small.rotate(angle, expand=True) if angle else small)
        if tried == 0 and len(words) < 3:
            return guess  # nothing that looks like text: no orientation will read better
        # Tesseract also reads vertical lines: only words lying horizontally in this orientation count
        score = sum(conf * len(text) for text, (x0, y0, x1, y1), conf in words
                    if conf >= 0.6 and sum(c.isalnum() for c in text) >= 3 and x1 - x0 > y1 - y0)
        if score > best_score:
            best, best_score = angle, score
        if score >= SURE_SCORE and score >= 0.8 * sum(conf * len(text) for text, _, conf in words):
            break  # reads well and (almost) all of it horizontally: this is upright
    return best


def _skew(image: Image.Image) -> float:
    """The small skew angle (degrees, counter-clockwise correction) measured on a reduced copy."""
    from deskew import determine_skew

    factor = min(1.0, 1200 / max(image.size))
    small = image if factor == 1.0 else image.resize((round(image.width * factor), round(image.height * factor)))
    angle = determine_skew(np.asarray(small), min_angle=-MAX_SKEW, max_angle=MAX_SKEW)
    if angle is None or not math.isfinite(angle) or abs(angle) > MAX_SKEW:
        return 0.0
    return float(angle)


def _read(reader: Any, image: Image.Image) -> list[Word]:
    import tesserocr

    reader.SetImage(image)
    reader.SetSourceResolution(300)
    reader.Recognize()
    words: list[Word] = []
    iterator = reader.GetIterator()
    level = tesserocr.RIL.WORD
    for item in tesserocr.iterate_level(iterator, level):
        try:
            text = item.GetUTF8Text(level)
        except RuntimeError:  # "No text returned" for an empty word
            continue
        box = item.BoundingBox(level)
        if not text or not text.strip() or box is None:
            continue
        words.append((text.strip(), (int(box[0]), int(box[1]), int(box[2]), int(box[3])),
                      round(max(0.0, item.Confidence(level)) / 100.0, 3)))
    return words


def _text(reader: Any) -> str:
    text: str = reader.GetUTF8Text()
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:  # collapse runs of blank lines
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _mean_confidence(words: list[Word]) -> float:
    scored = [conf for text, _, conf in words if any(c.isalnum() for c in text)]
    return round(sum(scored) / len(scored), 3) if scored else 0.0


def _rotation_matrix(degrees: float, old_size: tuple[int, int], new_size: tuple[int, int]) -> np.ndarray:
    """Affine map (3x3) of PIL's ``rotate(degrees, expand=True)``: old pixel coordinates -> new ones."""
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    (ow, oh), (nw, nh) = old_size, new_size
    to_centre = np.array([[1, 0, -ow / 2], [0, 1, -oh / 2], [0, 0, 1]])
    turn = np.array([[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]])
    from_centre = np.array([[1, 0, nw / 2], [0, 1, nh / 2], [0, 0, 1]])
    matrix: np.ndarray = from_centre @ turn @ to_centre
    return matrix


def _map_box(matrix: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    corners = matrix @ np.array([[x0, x1, x1, x0], [y0, y0, y1, y1], [1, 1, 1, 1]], dtype=float)
    xs, ys = corners[0], corners[1]
    width, height = size
    return (max(0, math.floor(xs.min())), max(0, math.floor(ys.min())),
            min(width, math.ceil(xs.max())), min(height, math.ceil(ys.max())))
