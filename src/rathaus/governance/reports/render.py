"""A report as HTML (tables, inline SVG bar charts, method and assumptions; a fragment for the web page or a
self-contained document for the CLI) and as CSV in long form (one line per figure)."""

from __future__ import annotations

import csv
import io
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from rathaus.governance.reports.model import Report, Table
from rathaus.governance.reports.svg_chart import bar_chart

CSV_COLUMNS = ["report", "month", "department", "section", "dimensions", "key", "measure", "value"]
SUPPRESSED = "unterdrückt / suppressed"

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                   lstrip_blocks=True)


def cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        text = f"{value:,.6g}" if abs(value) < 1000 else f"{value:,.2f}"
        return text
    return str(value)


def chart(table: Table) -> Markup:
    if not table.chart or not table.rows:
        return Markup("")
    i = table.columns.index(table.chart)
    bars = [(" · ".join(str(v) for v in row[:len(table.dimensions)]), float(row[i]))
            for row in table.rows if isinstance(row[i], int | float)]
    return Markup(bar_chart(f"{table.title}: {table.chart}", bars))  # noqa: S704  # built from escaped parts


_FRAGMENT = _env.from_string("""
<section class="report" aria-labelledby="report-title">
<h2 id="report-title">{{ r.title }} – {{ r.month }}{% if r.department %} – {{ r.department }}{% endif %}</h2>
{% if r.empty %}<p class="empty">Keine Daten für diesen Monat / no data for this month.</p>{% endif %}
{% if r.summary %}<dl class="summary">
{% for k, v in r.summary.items() %}<dt>{{ k }}</dt><dd>{{ cell(v) }}</dd>{% endfor %}
</dl>{% endif %}
{% for t in r.tables %}
<h3 id="t-{{ t.key }}">{{ t.title }}</h3>
{% if t.note %}<p class="note">{{ t.note }}</p>{% endif %}
{% if t.rows %}
{{ chart(t) }}
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="t-{{ t.key }}"><table>
<thead><tr>{% for c in t.columns %}<th scope="col">{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.rows %}<tr>{% for v in row %}<td>{{ cell(v) }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table></div>
{% else %}<p class="empty">– keine Einträge / no entries –</p>{% endif %}
{% endfor %}
{% if r.method %}<h3>Methode und Quellen / method and sources</h3>
<ul>{% for m in r.method %}<li>{{ m }}</li>{% endfor %}</ul>{% endif %}
{% if r.assumptions %}<h3>Annahmen / assumptions</h3>
<table><thead><tr><th scope="col">Annahme</th><th scope="col">Wert / value</th><th scope="col">Quelle / source</th>
</tr></thead><tbody>{% for a in r.assumptions %}<tr><td>{{ a.name }}</td><td>{{ cell(a.value) }}</td>
<td>{{ a.source }}</td></tr>{% endfor %}</tbody></table>{% endif %}
<p class="note">Mindestgruppengröße / minimum group size: {{ r.min_group_size or "–" }} ·
erstellt / generated {{ r.generated_at.strftime("%Y-%m-%d %H:%M UTC") }}</p>
</section>
""")

_DOCUMENT = _env.from_string("""<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>{{ r.title }} {{ r.month }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left}
dl.summary{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dd{margin:0}.note{color:#444}
</style></head><body><main>{{ body }}</main></body></html>
""")


def render_fragment(report: Report) -> Markup:
    return Markup(_FRAGMENT.render(r=report, cell=cell, chart=chart))  # noqa: S704  # autoescaped template


def render_html(report: Report) -> str:
    """A self-contained HTML document (no script, no external resource)."""
    return _DOCUMENT.render(r=report, body=render_fragment(report))


def render_csv(report: Report) -> str:
    """Long form: one line per figure (suppressed cells as empty values), plus the summary and the assumptions."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    base = [report.kind, report.month, report.department or ""]
    for k, v in report.summary.items():
        w.writerow([*base, "summary", "", "", k, "" if v is None else v])
    for t in report.tables:
        n = len(t.dimensions)
        for row in t.rows:
            key = " | ".join("" if v is None else str(v) for v in row[:n])
            for measure, value in zip(t.measures, row[n:], strict=True):
                w.writerow([*base, t.key, "|".join(t.dimensions), key, measure, "" if value is None else value])
    for a in report.assumptions:
        w.writerow([*base, "assumptions", "name", a.name, "value", a.value])
    return out.getvalue()
