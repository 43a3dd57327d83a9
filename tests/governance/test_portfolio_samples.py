"""The shipped sample ideas: named use cases from Munich's public council records, loaded once into an empty
portfolio, each with its source document and a quote found in that document."""

from __future__ import annotations

import re
from pathlib import Path

from rathaus.core.auth import Principal
from rathaus.governance.portfolio import service
from rathaus.governance.portfolio.samples import SUBMITTER, ensure_samples, load_samples
from rathaus.runtime import Runtime

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"  # ../shared/seeds next to the checkout


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\\*", "*"))


def test_samples_name_real_use_cases_with_their_source() -> None:
    samples = load_samples()
    assert 5 <= len(samples) <= 10
    titles = {s.title for s in samples}
    assert {"Antragsrouting", "Erstellen von Antwortschreiben", "KI-Chatbot Business Assist", "TouriAssist"} <= titles
    assert {s.department for s in samples} >= {"sozialreferat", "raw"}
    for s in samples:
        document = SEEDS / s.source.document
        if not document.is_file():  # the seeds are public council records kept beside the checkout
            continue
        text = _flat(document.read_text(encoding="utf-8"))
        for part in (p.strip(" ,.()") for p in s.source.quote.split("…")):
            assert not part or _flat(part) in text, (s.title, part)


def test_samples_fill_an_empty_portfolio_once(runtime: Runtime) -> None:
    assert ensure_samples(runtime) == {"added": len(load_samples())}
    assert ensure_samples(runtime) == {"added": 0}
    staff = Principal(id="u", kind="user", department="kvr")
    items = service.prioritised(runtime, staff)["items"]
    assert len(items) == len(load_samples())
    assert all(i["status"] == "idea" and i["score"] is None and i["source"]["document"] for i in items)
    mine = service.department_ideas(runtime, Principal(id="s", kind="user", department="sozialreferat"))
    assert {i["title"] for i in mine} >= {"Antragsrouting", "Erkennen von Mustern"}
    assert all(i["submitted_by"] == SUBMITTER and i["hours_saved_per_year"] is None for i in mine)
