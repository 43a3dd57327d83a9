"""Pictures people look at: one station's series with flagged and filled values, and a sensor-health overview.

Both return PNG bytes (matplotlib, Agg backend, no display needed); labels German first, English second.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from rathaus.core.errors import BadRequest

COLOURS = {"raw": "#1f4e79", "flagged": "#c0392b", "imputed": "#e67e22", "band": "#f5cba7"}


def _figure(width: float = 11.0, height: float = 4.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, *plt.subplots(figsize=(width, height), dpi=110)


def _png(plt, fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def series_plot(station: str, values: pd.Series, flags: pd.DataFrame | None = None,
                imputed: pd.DataFrame | None = None, *, unit: str = "Radfahrende pro Tag / bicycles per day") -> bytes:
    """Counts as a line; flagged values as red crosses (with their check); filled values as orange dots with
    their 90 % interval as a band. ``flags``: columns ts, check; ``imputed``: index ts, columns value, lower, upper."""
    if values.empty:
        raise BadRequest(f"keine Werte für {station} / no values for station {station}")
    plt, fig, ax = _figure()
    ax.plot(values.index, values.to_numpy(dtype=float), color=COLOURS["raw"], lw=0.8,
            label="gezählt / counted")
    if imputed is not None and len(imputed):
        imputed = imputed.sort_index()
        # the band only over filled values: on the series' full time grid, so it breaks between gaps instead of
        # bridging months of raw counts
        band = imputed[["lower", "upper"]].reindex(values.index.union(imputed.index))
        ax.fill_between(band.index, band["lower"], band["upper"], color=COLOURS["band"], alpha=0.8,
                        step="mid", label="90-%-Intervall / 90 % interval")
        ax.scatter(imputed.index, imputed["value"], s=9, color=COLOURS["imputed"], zorder=3,
                   label="gefüllt / filled")
    if flags is not None and len(flags):
        marked = values.reindex(pd.DatetimeIndex(flags["ts"].unique()))
        ax.scatter(marked.index, marked.to_numpy(dtype=float), marker="x", s=22, color=COLOURS["flagged"],
                   zorder=4, label=f"auffällig / flagged ({len(marked)})")
    ax.set_title(f"{station}")
    ax.set_ylabel(unit)
    ax.grid(alpha=0.25)
    ax.legend(loc="upper left", fontsize=8, ncols=4)
    return _png(plt, fig)


def health_overview(quality: pd.DataFrame, *, freq: str = "MS") -> bytes:
    """Share of days per station and month that were not plain raw counts (flagged, missing or filled).

    ``quality``: index day, one column per station with values ``raw``, ``flagged``, ``imputed``, ``missing``.
    """
    if quality.empty:
        raise BadRequest("keine Daten für die Übersicht / no data for the overview")
    bad = (quality != "raw").astype(float).where(quality.notna())
    monthly = bad.resample(freq).mean()
    plt, fig, ax = _figure(11.0, 0.6 + 0.45 * len(monthly.columns))
    image = ax.imshow(monthly.T.to_numpy(), aspect="auto", cmap="Reds", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(np.arange(len(monthly.columns)), list(monthly.columns))
    step = max(1, len(monthly) // 12)
    ax.set_xticks(np.arange(0, len(monthly), step), [d.strftime("%Y-%m") for d in monthly.index[::step]],
                  rotation=45, ha="right", fontsize=8)
    ax.set_title("Anteil auffälliger oder fehlender Tage je Monat / share of flagged or missing days per month")
    fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01)
    return _png(plt, fig)
