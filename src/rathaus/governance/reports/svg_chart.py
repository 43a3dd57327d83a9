"""A horizontal bar chart as inline SVG (no script, no external file, presentation attributes only, so the
Content-Security-Policy's ``style-src 'self'`` does not get in the way); with a title and a text alternative."""

from __future__ import annotations

from html import escape

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 220
BAR_WIDTH = 320
VALUE_WIDTH = 110
MAX_BARS = 20


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def bar_chart(title: str, bars: list[tuple[str, float]]) -> str:
    """Bars for (label, value); negative values extend left of the zero line. Empty string without bars."""
    bars = bars[:MAX_BARS]
    if not bars:
        return ""
    low = min(0.0, *(v for _, v in bars))
    high = max(0.0, *(v for _, v in bars))
    span = (high - low) or 1.0
    zero = LABEL_WIDTH + BAR_WIDTH * (-low / span)
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    desc = "; ".join(f"{label}: {_fmt(v)}" for label, v in bars)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" class="chart"><title>{escape(title)}</title><desc>{escape(desc)}</desc>']
    for i, (label, value) in enumerate(bars):
        y = GAP + i * (BAR_HEIGHT + GAP)
        w = BAR_WIDTH * abs(value) / span
        x = zero if value >= 0 else zero - w
        short = label if len(label) <= 32 else label[:31] + "…"
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end" font-size="12" '
                     f'fill="#1a1a1a">{escape(short)}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="{BAR_HEIGHT}" '
                     f'fill="{"#005a9c" if value >= 0 else "#b3261e"}"/>')
        parts.append(f'<text x="{LABEL_WIDTH + BAR_WIDTH + 6}" y="{y + 13}" font-size="12" '
                     f'fill="#1a1a1a">{escape(_fmt(value))}</text>')
    parts.append(f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height}" stroke="#555" stroke-width="1"/></svg>')
    return "".join(parts)
