"""A page to draw on in millimetres with DejaVu fonts, which remembers the text it drew in reading order – the
truth against which OCR is measured."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MUSTER = "MUSTER – synthetische Daten"

Color = tuple[int, int, int]


@cache
def font(size_px: int, bold: bool = False, mono: bool = False, serif: bool = False) -> ImageFont.FreeTypeFont:
    family = "DejaVuSansMono" if mono else "DejaVuSerif" if serif else "DejaVuSans"
    name = f"{family}-Bold.ttf" if bold else f"{family}.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size_px)


class Sheet:
    """``width_mm`` × ``height_mm`` at ``dpi``. Every ``text`` call records its string (unless ``record`` is
    false); ``row`` records its cells joined by single spaces, as one line."""

    def __init__(self, width_mm: float, height_mm: float, dpi: int, background: Color = (255, 255, 255)) -> None:
        self.dpi = dpi
        self.image = Image.new("RGB", (self.px(width_mm), self.px(height_mm)), background)
        self.draw = ImageDraw.Draw(self.image)
        self.lines: list[str] = []

    def px(self, mm: float) -> int:
        return round(mm / 25.4 * self.dpi)

    def _font(self, size_pt: float, bold: bool, mono: bool, serif: bool) -> ImageFont.FreeTypeFont:
        return font(max(6, round(size_pt / 72 * self.dpi)), bold, mono, serif)

    def text(self, x: float, y: float, value: str, size: float = 10, *, bold: bool = False, mono: bool = False,
             serif: bool = False, color: Color = (25, 25, 25), record: bool = True, right: bool = False) -> float:
        """Draw ``value`` with its top-left (or top-right) corner at (x, y) mm; returns the y below it in mm."""
        face = self._font(size, bold, mono, serif)
        anchor = "ra" if right else "la"
        self.draw.text((self.px(x), self.px(y)), value, font=face, fill=color, anchor=anchor)
        if record and value.strip():
            self.lines.append(value)
        return y + size * 0.3528 * 1.45

    def row(self, y: float, cells: list[tuple[float, str]], size: float = 10, *, bold: bool = False,
            right_from: int | None = None) -> float:
        """Cells at x positions on one line (cells from index ``right_from`` on are right-aligned at x)."""
        for index, (x, value) in enumerate(cells):
            self.text(x, y, value, size, bold=bold, record=False,
                      right=right_from is not None and index >= right_from)
        joined = " ".join(value for _, value in cells if value.strip())
        if joined:
            self.lines.append(joined)
        return y + size * 0.3528 * 1.5

    def paragraph(self, x: float, y: float, lines: list[str], size: float = 10, *, bold: bool = False) -> float:
        for line in lines:
            y = self.text(x, y, line, size, bold=bold)
        return y

    def rule(self, y: float, x0: float, x1: float, width_mm: float = 0.3, color: Color = (60, 60, 60)) -> None:
        self.draw.line((self.px(x0), self.px(y), self.px(x1), self.px(y)), fill=color,
                       width=max(1, self.px(width_mm)))

    def box(self, x0: float, y0: float, x1: float, y1: float, fill: Color | None = None,
            outline: Color | None = (90, 90, 90), radius: float = 0) -> None:
        self.draw.rounded_rectangle((self.px(x0), self.px(y0), self.px(x1), self.px(y1)), radius=self.px(radius),
                                    fill=fill, outline=outline, width=max(1, self.px(0.25)))

    def gradient(self, top: Color, bottom: Color) -> None:
        width, height = self.image.size
        for row in range(height):
            t = row / max(1, height - 1)
            color = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
            self.draw.line((0, row, width, row), fill=color)

    def portrait(self, x0: float, y0: float, x1: float, y1: float, rng: random.Random) -> None:
        """A grey passport-photo placeholder (head and shoulders), no text."""
        width, height = self.px(x1) - self.px(x0), self.px(y1) - self.px(y0)
        photo = Image.new("RGB", (width, height), (214, 218, 222))
        draw = ImageDraw.Draw(photo)
        shade = rng.randrange(110, 170)
        draw.ellipse((width * 0.28, height * 0.15, width * 0.72, height * 0.58), fill=(shade, shade - 10, shade - 20))
        draw.ellipse((width * 0.1, height * 0.62, width * 0.9, height * 1.35), fill=(70, 80, 100))
        self.image.paste(photo, (self.px(x0), self.px(y0)))
        self.box(x0, y0, x1, y1, outline=(150, 150, 150))

    def signature(self, x: float, y: float, width: float, rng: random.Random, color: Color = (20, 40, 120)) -> None:
        """A handwritten-looking scribble (a random smooth stroke), no text."""
        points = []
        steps = 40
        phase = rng.uniform(0, 6.28)
        import math

        for i in range(steps):
            t = i / (steps - 1)
            px = x + t * width
            py = y + 3 * math.sin(phase + t * rng.uniform(9, 14)) * (1 - 0.5 * t) + rng.uniform(-0.4, 0.4)
            points.append((self.px(px), self.px(py)))
        self.draw.line(points, fill=color, width=max(2, self.px(0.45)), joint="curve")

    def stamp(self, x: float, y: float, size: float = 7, right: bool = True) -> None:
        """The mark every synthetic page carries."""
        self.text(x, y, MUSTER, size, bold=True, color=(190, 30, 30), right=right)

    @property
    def truth(self) -> str:
        return "\n".join(self.lines)
