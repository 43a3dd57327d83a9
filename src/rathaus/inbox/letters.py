"""Reply letters: the answer with its verified quotes inside the city's letter template
(rathaus/config/inbox/letters.yaml – reference line, gender-fair salutation, closing, legal notice)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from rathaus.core.errors import ConfigError

LETTERS_FILE = Path(__file__).resolve().parent.parent / "config" / "inbox" / "letters.yaml"
KEYS = ("subject", "reference", "salutation_named", "salutation", "intro", "sources", "no_answer", "closing",
        "signature", "legal_notice", "companion")


@cache
def templates(path: Path = LETTERS_FILE) -> dict[str, dict[str, str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"letter templates {path}: {exc}") from exc
    if not isinstance(data, dict) or "de" not in data:
        raise ConfigError(f"letter templates {path}: a mapping with at least the language 'de'")
    for lang, texts in data.items():
        missing = [k for k in KEYS if not isinstance(texts, dict) or not isinstance(texts.get(k), str)]
        if missing:
            raise ConfigError(f"letter templates {path}: language {lang!r} lacks {', '.join(missing)}")
    return data


@dataclass(frozen=True)
class Letter:
    subject: str
    text: str
    language: str


def letter(*, language: str, subject: str, sent: dt.datetime | None, reference: str, sender_name: str | None,
           department: str, answer: str | None, sources: list[dict[str, Any]]) -> Letter:
    """A reply in ``language`` (German when the template has no such language). ``answer`` None: the holding
    reply ("we are looking into it")."""
    all_texts = templates()
    lang = language if language in all_texts else "de"
    t = all_texts[lang]
    date = (sent or dt.datetime.now(dt.UTC)).strftime("%d.%m.%Y")
    name = " ".join((sender_name or "").split())
    lines = [t["reference"].format(reference=reference), "",
             t["salutation_named"].format(name=name) if name else t["salutation"], ""]
    if answer:
        lines += [t["intro"], "", answer.strip(), ""]
        if sources:
            lines.append(t["sources"])
            lines += [f"[{s.get('n', i + 1)}] {s.get('title') or s.get('source') or ''}"
                      + (f" – {s['url']}" if s.get("url") else "") for i, s in enumerate(sources)]
            lines.append("")
    else:
        lines += [t["no_answer"].strip(), ""]
    lines += [t["closing"], t["signature"].format(department=department), "", t["legal_notice"].strip()]
    clean_subject = " ".join(subject.split())[:150] or "–"
    return Letter(subject=t["subject"].format(date=date, subject=clean_subject), text="\n".join(lines), language=lang)


def with_companion(text: str, companion: str | None, language: str) -> str:
    """The reply as sent when the case worker chose to append the German version."""
    if not companion:
        return text
    t = templates().get(language) or templates()["de"]
    return f"{text.rstrip()}\n\n――――――――\n{t['companion']}\n\n{companion.strip()}"
