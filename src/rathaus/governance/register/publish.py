"""Publishing the register: the public HTML page (one card per public system, German first, English second) and
loading the shipped sample entries so a fresh installation shows a filled register."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from rathaus.governance.register import store
from rathaus.governance.register.cards import Card, known_ids
from rathaus.governance.settings import GovernanceSettings

TEMPLATES = Path(__file__).with_name("templates")
SAMPLE_ACTOR = "rathaus-samples"
DATA_CLASS_LABELS = {"oeffentlich": ("öffentlich", "public"), "intern": ("intern", "internal"),
                     "vertraulich": ("vertraulich", "confidential"),
                     "personenbezogen": ("personenbezogen", "personal data")}
HOSTING_LABELS = {"on-premises": ("im eigenen Haus", "on premises"),
                  "city-data-centre": ("städtisches Rechenzentrum", "city data centre"),
                  "eu-cloud": ("Cloud in der EU", "EU cloud"), "non-eu-cloud": ("Cloud außerhalb der EU",
                                                                               "cloud outside the EU")}
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html",)))


def organisation(runtime: Any) -> tuple[str, str]:
    s = runtime.settings.section(GovernanceSettings)
    return s.governance_organisation, s.governance_organisation_address


def page_css() -> str:
    """The public page's style sheet: inlined into an exported page, served as /register.css by the web page."""
    return (TEMPLATES / "register.css").read_text(encoding="utf-8")


def render_html(cards: list[Card], organisation_name: str, *, standalone_css: bool = True) -> str:
    """The public register page: complete public cards, and a list of public systems whose card is incomplete."""
    shown = [c for c in cards if c.public and c.complete]
    incomplete = [c for c in cards if c.public and not c.complete]
    return _env.get_template("register.html").render(
        cards=shown, incomplete=incomplete, organisation=organisation_name, classes=DATA_CLASS_LABELS,
        hosting=HOSTING_LABELS, generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        standalone_css=standalone_css)


def load_samples(runtime: Any, directory: Path | None = None) -> list[dict[str, Any]]:
    """Store the sample (or configured) entries that are not entered yet; what people changed stays."""
    folder = directory or runtime.settings.section(GovernanceSettings).governance_register_dir
    with runtime.db.session() as session:
        ids = known_ids(runtime, session)
        return store.load_files(session, store.sample_files(folder), known_ids=ids, actor=SAMPLE_ACTOR,
                                only_new=True)
