"""Is a signature line signed? Ink (dark pixels that no printed word explains) just above a signature line.

A signature line is a printed horizontal rule with a label right below it ("Unterschrift", "Mieter", "Vermieter",
"Arbeitgeber", "Antragsteller", "Signature") or right after it ("Unterschrift: ____"). The box checked is the
band above the rule (three line heights) along the rule; pixels inside OCR word boxes (printed text such as
"München, den …") and the rule itself are not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from rathaus.checks.layout import Word

_LABEL = re.compile(r"^(?:unterschrift\w*|signature|mieter\w*|vermieter\w*|arbeitgeber\w*|antragsteller\w*|"
                    r"halter\w*|stempel)\W*$", re.IGNORECASE)
INK_SHARE = 0.004  # share of dark pixels in the box above the line that counts as a signature
DARK = 140  # grey level below which a pixel is ink


@dataclass(frozen=True)
class SignatureLine:
    signed: bool
    box: tuple[int, int, int, int]  # the area checked, upright image pixels
    label_word: int  # index of the label word
    ink: float  # share of ink pixels in the box


def signature_lines(image: Image.Image, words: list[Word]) -> list[SignatureLine]:
    """Every signature line found on the upright page image, with whether it carries ink."""
    grey = np.asarray(image.convert("L"))
    dark = grey < DARK
    width = dark.shape[1]
    printed = np.zeros_like(dark)
    heights = sorted(max(1, box[3] - box[1]) for _, box, _ in words)
    typical = heights[len(heights) // 2] if heights else 1
    for _, (x0, y0, x1, y1), conf in words:
        if conf >= 0.7 and y1 - y0 <= 1.8 * typical:  # printed text; OCR's "words" in a scribble are not
            printed[max(0, y0 - 2):y1 + 2, max(0, x0 - 2):x1 + 2] = True
    out: list[SignatureLine] = []
    for index, (text, (x0, y0, _x1, y1), _) in enumerate(words):
        if not _LABEL.match(text):
            continue
        line_height = max(8, y1 - y0)
        rule = _rule_above(dark, x0, y0, line_height, width)
        if rule is None:
            continue
        rule_y, rule_x0, rule_x1 = rule
        top = max(0, rule_y - 4 * line_height)
        box = (rule_x0, top, rule_x1, max(top + 1, rule_y - 2))
        if any(line.box == box for line in out):  # "Unterschrift des Arbeitgebers": one line, two labels
            continue
        area = dark[box[1]:box[3], box[0]:box[2]] & ~printed[box[1]:box[3], box[0]:box[2]]
        if area.size:
            area[area.mean(axis=1) > 0.5] = False  # the rule itself (thick or slightly tilted)
        share = float(area.mean()) if area.size else 0.0
        # ink must reach over several rows (a stroke), not be one stray horizontal run
        rows_with_ink = int((area.sum(axis=1) > 0).sum())
        signed = share >= INK_SHARE and rows_with_ink >= max(3, line_height // 3)
        out.append(SignatureLine(signed, box, index, round(share, 4)))
    return out


def _rule_above(dark: np.ndarray, x0: int, y0: int, line_height: int, width: int) -> tuple[int, int, int] | None:
    """The printed rule just above a label: (y, x0, x1) of a dark row run of at least 6 line heights."""
    search_top = max(0, y0 - int(1.8 * line_height))
    left = max(0, x0 - line_height)
    right = min(width, x0 + 40 * line_height)
    best: tuple[int, int, int] | None = None
    best_length = 6 * line_height - 1
    for y in range(y0 - 1, search_top, -1):
        row = dark[y, left:right]
        if not row.any():
            continue
        run_start, run_length = _longest_run(row)
        if run_length > best_length:
            best, best_length = (y, left + run_start, left + run_start + run_length), run_length
    if best is None:
        return None
    top, start, end = best
    while top > 0 and dark[top - 1, start:end].mean() > 0.5:
        top -= 1  # up to the rule's top edge
    return top, start, end


def _longest_run(row: np.ndarray) -> tuple[int, int]:
    padded = np.concatenate(([False], row, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    starts, ends = edges[::2], edges[1::2]
    if len(starts) == 0:
        return 0, 0
    lengths = ends - starts
    best = int(np.argmax(lengths))
    return int(starts[best]), int(lengths[best])
