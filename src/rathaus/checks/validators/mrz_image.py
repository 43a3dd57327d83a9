"""Find and read the machine-readable zone on a photo or scan of an ID card, passport or visa.

1. Locate: the MRZ is a band of 2–3 long lines of dense, equally sized dark characters. A black-hat transform
   (dark details smaller than the kernel), the horizontal gradient and closings with wide kernels turn each text
   line into a blob and the MRZ into one wide block (the approach of PassportEye and of the OpenCV MRZ tutorials,
   here with scipy.ndimage). The candidate boxes are tried widest and lowest first; the bottom band of the page
   at two heights is the fallback.
2. Read: Tesseract (tesserocr) on the crop, scaled so characters are ~32 px high, restricted to A–Z 0–9 '<',
   one block of text, no dictionaries (the MRZ's OCR-B font has no words).
3. Parse with :func:`rathaus.checks.validators.mrz.mrz_from_text` (OCR confusions normalised where the format fixes
   the type, alternative readings only where a check digit confirms them); the first reading whose check digits
   all match wins. When no single pass validates, the lines of all passes are grouped into the MRZ's lines and
   combined (:func:`line_slots`, :func:`rathaus.checks.validators.mrz.mrz_from_line_readings`): on a small card
   (the 282-px-wide Swiss ID specimen) each pass misreads different characters. Otherwise the reading with most
   matching check digits is returned (not valid).
4. Turned pages: if nothing valid is found upright, the image is tried at 180°, 90° and 270°.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date
from difflib import SequenceMatcher
from functools import cmp_to_key

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

from rathaus.checks.validators.mrz import MrzResult, mrz_from_line_readings, mrz_from_text, mrz_lines, reading_score

WHITELIST = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
_WORK_WIDTH = 1000  # pixels: the locating works on the page scaled to this width
_CHAR_HEIGHT = 32  # pixels: Tesseract reads best at 20–40 px per character (its documentation)
_MAX_COMBINED = 2000  # combinations of line readings parsed when several passes are combined
_lock = threading.Lock()
_api: object | None = None


def tessdata_path() -> str:
    """Where Tesseract's models are: $TESSDATA_PREFIX, else Debian's tesseract-ocr package directory."""
    configured = os.environ.get("TESSDATA_PREFIX")
    if configured:
        return configured.rstrip("/") + "/"
    found = sorted(glob.glob("/usr/share/tesseract-ocr/*/tessdata/eng.traineddata"))
    if not found:
        raise RuntimeError("Tesseract-Sprachdaten nicht gefunden: Paket tesseract-ocr-eng installieren "
                           "oder TESSDATA_PREFIX setzen")
    return os.path.dirname(found[-1]) + "/"


def _tesseract() -> object:
    """One Tesseract instance (English LSTM model, no dictionaries), shared by all calls, guarded by a lock."""
    global _api
    if _api is None:
        import tesserocr

        _api = tesserocr.PyTessBaseAPI(
            path=tessdata_path(), lang="eng", psm=tesserocr.PSM.SINGLE_BLOCK, oem=tesserocr.OEM.LSTM_ONLY,
            variables={"load_system_dawg": "0", "load_freq_dawg": "0", "tessedit_char_whitelist": WHITELIST},
        )
    return _api


def ocr_text(image: Image.Image) -> str:
    """The text Tesseract reads in ``image`` with the MRZ settings (one block, A–Z 0–9 '<')."""
    with _lock:
        api = _tesseract()
        api.SetImage(image)  # type: ignore[attr-defined]
        return str(api.GetUTF8Text())  # type: ignore[attr-defined]


def _grey(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "P"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    return image.convert("L")


def _otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=256)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist)
    mean = np.cumsum(hist * centres)
    total, total_mean = weight[-1], mean[-1]
    between = (total_mean * weight - mean * total) ** 2 / np.maximum(weight * (total - weight), 1)
    return float(centres[int(np.argmax(between))])


def candidate_boxes(grey: Image.Image) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1, in ``grey``'s pixels) that look like an MRZ band, most likely first."""
    scale = _WORK_WIDTH / grey.width
    small = grey.resize((_WORK_WIDTH, max(1, round(grey.height * scale))), Image.Resampling.BILINEAR)
    a = np.asarray(small, dtype=np.float32)
    a = ndimage.gaussian_filter(a, 1.0)
    blackhat = ndimage.grey_closing(a, size=(15, 27)) - a  # dark characters on a light ground
    gradient = np.abs(ndimage.sobel(blackhat, axis=1))
    gradient = gradient / (gradient.max() or 1.0)
    joined = ndimage.grey_closing(gradient, size=(5, 27))  # characters of a line into one blob
    mask = joined > _otsu(joined)
    mask = ndimage.binary_opening(mask, structure=np.ones((3, 9)))  # drop thin strokes and specks
    labels, _count = ndimage.label(mask)
    height, width = a.shape
    lines = []
    for sl in ndimage.find_objects(labels):
        if sl is None:
            continue
        y0, y1, x0, x1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
        if x1 - x0 >= 0.4 * width and x1 - x0 >= 5 * (y1 - y0) and y1 - y0 >= 6:
            lines.append((y0, y1, x0, x1))
    lines.sort()
    # blocks: runs of 1–3 long lines of similar extent, one below the other (an MRZ has 2 or 3)
    blocks: list[tuple[float, tuple[int, int, int, int]]] = []
    for i in range(len(lines)):
        for j in range(i, min(i + 3, len(lines))):
            group = lines[i:j + 1]
            pitch = max(y1 - y0 for y0, y1, _, _ in group)
            if any(b[0] - a[1] > pitch for a, b in itertools.pairwise(group)):
                break
            y0, y1 = group[0][0], group[-1][1]
            x0, x1 = min(g[2] for g in group), max(g[3] for g in group)
            px, py = int(0.03 * width), pitch // 2 + 4
            box = (max(0, x0 - px), max(0, y0 - py), min(width, x1 + px), min(height, y1 + py))
            score = (len(group) >= 2) + (x1 - x0) / width + y1 / height  # 2–3 lines, wide, low on the page
            x0o, y0o, x1o, y1o = (round(v / scale) for v in box)
            blocks.append((score, (x0o, y0o, x1o, y1o)))
    return [box for _, box in sorted(blocks, reverse=True)]


def skew_angle(crop: Image.Image) -> float:
    """The angle (degrees, −6…6) that makes the text lines of ``crop`` horizontal: the rotation whose row sums of
    dark pixels vary most (projection profile)."""
    small = crop.resize((400, max(1, round(crop.height * 400 / max(crop.width, 1)))), Image.Resampling.BILINEAR)
    a = np.asarray(small, dtype=np.float32)
    dark = (ndimage.grey_closing(a, size=(9, 9)) - a) > 40
    best, best_angle = -1.0, 0.0
    for angle in np.arange(-6.0, 6.01, 0.5):
        rows = ndimage.rotate(dark.astype(np.float32), angle, reshape=False, order=0).sum(axis=1)
        score = float(np.var(rows))
        if score > best:
            best, best_angle = score, float(angle)
    return best_angle


def _crops(grey: Image.Image) -> Iterator[tuple[str, Image.Image]]:
    for box in candidate_boxes(grey)[:3]:
        yield "band", grey.crop(box)
    for share in (0.35, 0.5):  # fallback: the bottom of the page, also deskewed (a photo's tilt)
        bottom = grey.crop((0, round(grey.height * (1 - share)), grey.width, grey.height))
        yield "bottom", bottom
        measured = skew_angle(bottom)
        for angle in (-2.0, 2.0, *([measured] if abs(measured) >= 2.5 else [])):
            yield "bottom", bottom.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)


def _scaled_for_ocr(crop: Image.Image, lines: float) -> Image.Image:
    """Scale a crop so that ``lines`` text lines in it get characters of about _CHAR_HEIGHT pixels."""
    target_height = _CHAR_HEIGHT * lines * 2.2
    factor = min(6.0, max(0.5, target_height / max(crop.height, 1)))
    size = (max(1, round(crop.width * factor)), max(1, round(crop.height * factor)))
    scaled = crop.resize(size, Image.Resampling.LANCZOS)
    return ImageOps.expand(ImageOps.autocontrast(scaled, cutoff=1), border=20, fill=255)


def _likeness(a: str, b: str) -> float:
    return SequenceMatcher(None, re.sub("<+", "<", a), re.sub("<+", "<", b), autojunk=False).ratio()


def _core(line: str) -> str:
    return re.split(r"<{3,}", line, maxsplit=1)[0]


def line_slots(texts: Sequence[str]) -> list[list[str]]:
    """The MRZ-like lines of several OCR passes over the same MRZ, grouped into the MRZ's lines (a line joins the
    group with the most alike reading, runs of fillers counted as one), top to bottom; each group's readings most
    frequent first."""
    groups: list[Counter[str]] = []
    order: Counter[tuple[int, int]] = Counter()  # (a, b): group a seen above group b
    for text in texts:
        seen: list[int] = []
        for line in mrz_lines(text):
            ratios = [max(_likeness(line, other) for other in group) for group in groups]
            if ratios and max(ratios) >= 0.6:
                index = int(np.argmax(ratios))
            else:
                index = len(groups)
                groups.append(Counter())
            groups[index][line] += 1
            order.update((before, index) for before in seen if before != index)
            seen.append(index)

    def above(a: int, b: int) -> int:
        return order[(b, a)] - order[(a, b)]

    ranked = sorted(range(len(groups)), key=cmp_to_key(above))
    slots = []
    for i in ranked:
        group = groups[i]
        # the part before the first long run of fillers is what is worth reading; the run's noise varies
        cores: Counter[str] = Counter()
        for line, count in group.items():
            cores[_core(line)] += count

        def likelier(line: str, group: Counter[str] = group, cores: Counter[str] = cores) -> tuple[int, int]:
            return -cores[_core(line)], -group[line]

        slots.append(sorted(group, key=likelier))
    return slots


def read_mrz_upright(grey: Image.Image, *, today: date | None = None) -> MrzResult | None:
    """Read the MRZ of a page that is upright (no rotation tried): each crop and scale on its own; when none
    validates, the lines of all these passes combined (:func:`line_slots`) – on a small or blurred MRZ each pass
    misreads other characters, and the check digits pick the combination that is right."""
    best: MrzResult | None = None
    texts: list[str] = []

    def consider(result: MrzResult | None) -> bool:
        nonlocal best
        if result is not None and (best is None or reading_score(result) > reading_score(best)):
            best = result
        return result is not None and result.valid

    for kind, crop in _crops(grey):
        for lines in ((2, 3) if kind == "band" else (6,)):
            texts.append(ocr_text(_scaled_for_ocr(crop, lines)))
            if consider(mrz_from_text(texts[-1], today=today)):
                return best
    consider(mrz_from_line_readings(line_slots(texts), today=today, limit=_MAX_COMBINED))
    return best


def find_mrz(image: Image.Image, *, today: date | None = None) -> MrzResult | None:
    """Find and read the MRZ on a document photo or scan; None when no MRZ-like text is found.

    A result with ``valid=False`` means an MRZ was read but not every check digit matched (OCR error or a wrong
    document): show it to the case worker as "unsure", never as "invalid" on this alone.
    """
    grey = _grey(image)
    best: MrzResult | None = None
    for angle in (0, 180, 90, 270):
        turned = grey if angle == 0 else grey.rotate(angle, expand=True, fillcolor=255)
        result = read_mrz_upright(turned, today=today)
        if result is not None and result.valid:
            return result
        if result is not None and (best is None or reading_score(result) > reading_score(best)):
            best = result
    return best
