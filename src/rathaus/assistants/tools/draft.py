"""draft: a letter or e-mail from bullet points, with subject, matching salutation, closing and gender-fair wording.

Checks: subject line, salutation matching the recipient (gender-fair "Guten Tag …" when a name comes without
Frau/Herr), closing; share of the bullet points whose key words occur in the draft. Missing structure is
added, missing points are asked for once and then appended; generic masculine forms from a small list are
replaced ("die Mitarbeiter" → "die Mitarbeitenden") or flagged (:mod:`~rathaus.assistants.tools.gender_fair`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator

from rathaus.assistants.tools.calls import SEED, Calls, ToolResult
from rathaus.assistants.tools.gender_fair import gender_fair
from rathaus.assistants.tools.numbers import check_numbers, extract_numbers, mark_unverified
from rathaus.assistants.tools.options import Choice, ToolOptions
from rathaus.assistants.tools.text import (
    BULLET,
    WORD_RE,
    clean_input,
    clean_output,
    dedupe_sentences,
    drop_unfinished,
    norm_sentence,
    stem,
)
from rathaus.core import readability as rd
from rathaus.models.types import ChatMessage

MAX_RECIPIENT_CHARS = 200


def _recipient(value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or len(value) > MAX_RECIPIENT_CHARS):
        raise ValueError(f"recipient muss ein Text mit höchstens {MAX_RECIPIENT_CHARS} Zeichen sein / "
                         f"recipient must be a string of at most {MAX_RECIPIENT_CHARS} characters")
    return value


class DraftOptions(ToolOptions):
    tool: ClassVar[str] = "draft"
    kind: Annotated[Literal["brief", "email"], Choice(
        "Art", "kind", {"e-mail": "email", "mail": "email", "letter": "brief", "schreiben": "brief"})] = "brief"
    recipient: Annotated[str | None, BeforeValidator(_recipient)] = None


_SUBJECT = re.compile(r"^\s*\**\s*(?:betreff|betr\.|subject)\s*\**\s*:\s*\**\s*(?P<subject>.*?)\s*\**\s*$",
                      re.IGNORECASE)
_SALUTATION = re.compile(r"^\s*\**\s*(?:sehr geehrte[rs]?|guten tag|hallo|liebe[rs]?|grüß gott|moin)\b[^,\n]*,?\**",
                         re.IGNORECASE)
_CLOSING = re.compile(r"^\s*\**\s*(?:mit freundlichen grüßen|freundliche grüße|mit besten grüßen|viele grüße|"
                      r"beste grüße|mit freundlichem gruß|herzliche grüße)\b.*$", re.IGNORECASE)
_ORG_WORDS = re.compile(r"\b(?:amt|referat|gmbh|ag|e\.\s?v\.|verein|firma|stadt|team|abteilung|schule|stelle|"
                        r"behörde|ministerium|gemeinde|bezirk|verwaltung|büro|zentrum|kita|kg|ug|institut|"
                        r"universität|hochschule|genossenschaft|stiftung|verband|rat)\b", re.IGNORECASE)
STOPWORDS = frozenset("""aber alle allem allen aller alles als also am an auch auf aus bei beim bin bis bitte da damit
dann das dass dem den der des die dies diese diesem diesen dieser doch dort durch ein eine einem einen einer eines
für gegen hat hatte haben hier ihr ihre im in ist ja je jede jeder jedes kann kein keine mit muss nach nicht noch
nur ob oder ohne per pro sehr sein seine sich sie sind so soll sollen über um und uns unser unsere vom von vor war
wann was weil wenn werden wie wir wird wo zu zum zur zwischen sowie bzw etwa ca""".split())  # noqa: SIM905


def salutation_for(recipient: str | None) -> str:
    """German salutation: named Frau/Herr, gender-fair "Guten Tag Vorname Name", colleagues, or organisations."""
    name = " ".join((recipient or "").split()).strip(" ,")
    if not name:
        return "Sehr geehrte Damen und Herren,"
    m = re.match(r"^(?:an\s+)?(frau|herrn?)\s+(.+)$", name, re.IGNORECASE)
    if m:
        rest = m.group(2)
        return f"Sehr geehrte Frau {rest}," if m.group(1).lower() == "frau" else f"Sehr geehrter Herr {rest},"
    if re.search(r"kolleg", name, re.IGNORECASE):
        return "Liebe Kolleginnen und Kollegen,"
    words = name.split()
    if _ORG_WORDS.search(name) or len(words) < 2 or len(words) > 4 or not all(w[:1].isupper() for w in words):
        return "Sehr geehrte Damen und Herren,"
    return f"Guten Tag {name},"


def parse_points(text: str) -> list[str]:
    """The bullet points of a draft request (list items, else lines, else sentences)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    items = [BULLET.sub("", line).strip() for line in lines if BULLET.match(line)]
    if items:
        return items
    if len(lines) > 1:
        return lines
    return [s for s in rd.sentences(text) if rd.words_of(s)] or [text.strip()]



def key_words(point: str) -> set[str]:
    words = {stem(w) for w in WORD_RE.findall(point) if len(w) >= 4 and w.casefold() not in STOPWORDS}
    return words | {n.raw for n in extract_numbers(point)}


def point_covered(point: str, draft: str) -> bool:
    """A point is covered when the draft has all its numbers and dates (in any spelling: "12.03.2027" for
    "12. März 2027") and enough of its key words (half; with numbers, which are strong evidence, 30 %)."""
    keys = key_words(point)
    if not keys:
        return True
    point_numbers = extract_numbers(point)
    if point_numbers and check_numbers(point, draft)["missing_numbers"]:
        return False  # a wrong or missing date is no coverage, however many words match
    stems = {stem(w) for w in WORD_RE.findall(draft)}
    number_keys = {n.raw for n in point_numbers}  # all in the draft (checked above)
    hits = sum(k in stems for k in keys - number_keys) + len(number_keys & keys)
    return hits / len(keys) >= (0.3 if point_numbers else 0.5)


def check_structure(draft: str) -> dict[str, bool]:
    lines = draft.split("\n")
    return {"has_subject": any(_SUBJECT.match(line) for line in lines),
            "has_salutation": any(_SALUTATION.match(line) for line in lines),
            "has_closing": any(_CLOSING.match(line) for line in lines)}


def repair_draft(draft: str, salutation: str, points: list[str]) -> tuple[str, list[str]]:
    """Subject, salutation and closing added or corrected where the model left them out; returns (text, repairs)."""
    repairs: list[str] = []
    lines = [line.rstrip() for line in clean_output(draft).split("\n")]
    subject_i = next((i for i, line in enumerate(lines) if _SUBJECT.match(line)), None)
    if subject_i is None or not _SUBJECT.match(lines[subject_i]).group("subject"):  # type: ignore[union-attr]
        subject = " ".join(rd.words_of(points[0])[:8]) if points else "Ihr Anliegen"
        if subject_i is not None:
            lines.pop(subject_i)
        lines = [f"**Betreff:** {subject}", "", *lines]
        repairs.append("subject")
    else:
        subject = _SUBJECT.match(lines[subject_i]).group("subject")  # type: ignore[union-attr]
        lines[subject_i] = f"**Betreff:** {subject.strip('* ')}"
        if subject_i:  # the subject line comes first
            lines.insert(0, lines.pop(subject_i))
            lines.insert(1, "")
    sal_i = next((i for i, line in enumerate(lines) if _SALUTATION.match(line)), None)
    if sal_i is None:
        lines[1:1] = ["", salutation, ""]
        repairs.append("salutation")
    elif norm_sentence(lines[sal_i]) != norm_sentence(salutation):
        rest = lines[sal_i][_SALUTATION.match(lines[sal_i]).end():]  # type: ignore[union-attr]
        lines[sal_i] = salutation + (f" {rest.strip()}" if rest.strip() else "")
        repairs.append("salutation corrected")
    lines = [line for line in lines if not _ECHO.match(line)]
    close_i = next((i for i, line in enumerate(lines) if _CLOSING.match(line)), None)
    if close_i is None:
        lines += ["", "Mit freundlichen Grüßen"]
        repairs.append("closing")
    else:  # after the closing only a short signature (name, unit) may follow
        placeholders = [i for i in range(close_i + 1, len(lines)) if _PLACEHOLDER.match(lines[i])]
        for i in reversed(placeholders):  # "[Dein Name]", "<Name>": the model's template, not a signature
            lines.pop(i)
        if placeholders:
            repairs.append("placeholder removed")
        signature = [line for line in lines[close_i + 1:] if line.strip()]
        if len(signature) > 3 or any(len(line.split()) > 6 or line.rstrip().endswith((".", "!", "?", ":"))
                                     for line in signature):
            lines = lines[:close_i + 1]
            repairs.append("text after closing removed")
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, repairs


_PLACEHOLDER = re.compile(r"^\s*[\[<][^\]>]*[\]>]\s*$")
_ECHO = re.compile(r"^\s*(?:achte darauf|form:|<text|hinweis:|note:|schreibe (?:einen|eine))", re.IGNORECASE)


def _insert_before_closing(text: str, addition: str) -> str:
    lines = text.split("\n")
    close_i = next((i for i, line in enumerate(lines) if _CLOSING.match(line)), len(lines))
    return "\n".join([*lines[:close_i], addition, "", *lines[close_i:]])


DRAFT_SYSTEM = ("Du schreibst für die Stadtverwaltung {what} in korrektem, freundlichem und klarem Verwaltungsdeutsch. "
                "Verwende geschlechtergerechte Sprache (z. B. „Mitarbeitende“, „Bürgerinnen und Bürger“). "
                "Erfinde keine Fakten, Zahlen, Daten oder Namen.")


def draft(runtime: Any, ctx: Any, text: str, *, model: str | None = None, kind: str = "brief",
          recipient: str | None = None) -> ToolResult:
    """A letter or e-mail from bullet points, with subject, matching salutation, closing and gender-fair wording."""
    source = clean_input(text, "draft")
    options = DraftOptions.parse({"kind": kind, "recipient": recipient})
    kind, recipient = options.kind, options.recipient
    points = parse_points(source)
    salutation = salutation_for(recipient)
    what = "Briefe" if kind == "brief" else "E-Mails"
    calls = Calls(runtime, ctx, model, "draft")
    max_tokens = 420 if kind == "brief" else 320
    budget = calls.budget(max_tokens, 220)
    tokens = calls.text_tokens(source)
    if tokens > budget:
        raise calls.too_long(tokens, budget)
    to = f" an {recipient.strip()}" if recipient and recipient.strip() else ""
    bullet_text = "\n".join(f"- {p}" for p in points)
    instruction = (f"Schreibe {'einen Brief' if kind == 'brief' else 'eine E-Mail'}{to} mit diesen Punkten:\n"
                   f"{bullet_text}\n\nForm:\nBetreff: <kurzer Betreff>\n\n{salutation}\n\n"
                   "<Text in ganzen Sätzen; jeder Punkt kommt vor>\n\nMit freundlichen Grüßen")
    system = DRAFT_SYSTEM.format(what=what)

    def ask(note: str = "", seed: int = SEED) -> str:
        raw, finish = calls.chat([ChatMessage("system", system), ChatMessage("user", instruction + note)],
                                 max_tokens, seed=seed)
        if finish == "length":
            raw = drop_unfinished(raw)
        return dedupe_sentences(clean_output(raw))[0]

    def invented(answer: str) -> list[str]:  # numbers and dates of the answer that are neither in the request
        return list(check_numbers(f"{source}\n{recipient or ''}", answer)["unverified_numbers"])  # nor recipient

    raw = ask()
    structure = check_structure(raw)
    missing = [p for p in points if not point_covered(p, raw)]
    unverified = invented(raw)
    retried = False
    if (missing or unverified) and raw:
        retried = True
        notes = []
        if missing:
            notes.append("Achte darauf, dass diese Punkte vorkommen: " + "; ".join(missing))
        if unverified:
            notes.append("Diese Zahlen oder Daten stehen nicht in den Punkten, verwende sie nicht: "
                         + ", ".join(unverified))
        again = ask("\n\n" + "\n".join(notes), seed=SEED + 1)
        still, still_unverified = [p for p in points if not point_covered(p, again)], invented(again)
        if len(still) + len(still_unverified) < len(missing) + len(unverified):
            raw, missing, unverified, structure = again, still, still_unverified, check_structure(again)
    body = raw or ""
    text_out, repairs = repair_draft(body, salutation, points)
    if missing:
        text_out = _insert_before_closing(
            text_out, "Ergänzend weisen wir auf folgende Punkte hin:\n\n" + "\n".join(f"- {p}" for p in missing))
        repairs.append("points appended")
    text_out, replaced, flagged = gender_fair(text_out)
    unverified = invented(text_out)
    if unverified:  # marked in the text ("11. März 2027 ⚠") and listed below it, never silently shown
        text_out = mark_unverified(text_out, unverified)
    covered = [p for p in points if point_covered(p, text_out)]
    checks = {**structure, "points": len(points), "points_covered": round(len(covered) / len(points), 4),
              "points_missing_in_model_text": missing, "unverified_numbers": unverified, "salutation": salutation,
              "repairs": repairs, "gender_fair": {"replaced": replaced, "flagged": flagged}, "retried": retried}
    fallback = (any(r in ("subject", "salutation", "closing", "points appended") for r in repairs) or not raw
                or bool(unverified))
    extra = {"kind": kind, "recipient": recipient, "model": calls.name}
    return calls.result(ToolResult(text_out, checks, calls.rounds, calls.metrics, fallback, extra))
