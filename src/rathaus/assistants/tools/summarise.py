"""summarise: a summary plus a "Kernpunkte" list, its numbers checked against the source.

The source's figures are named in the prompt (the small model drops them otherwise); the answer is parsed
into a summary plus a "Kernpunkte" list (missing points are asked for once, then cut from the source) and
trimmed to the length's word cap. Numbers not in the source (:mod:`~rathaus.assistants.tools.numbers`)
trigger one retry that names them; still unverified numbers are marked "⚠" in the text and listed below it.
A text too long for the model is cut to its beginning when it is at most twice the budget (and says so).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from rathaus.assistants.tools.calls import SEED, Calls, ToolResult
from rathaus.assistants.tools.numbers import check_numbers, distinct, extract_numbers, mark_unverified
from rathaus.assistants.tools.options import Choice, ToolOptions
from rathaus.assistants.tools.text import (
    BULLET,
    clean_input,
    clean_output,
    dedupe_sentences,
    drop_unfinished,
    leading_part,
    norm_sentence,
)
from rathaus.core import readability as rd
from rathaus.models.types import ChatMessage

Length = Literal["kurz", "mittel", "lang"]


class SummariseOptions(ToolOptions):
    tool: ClassVar[str] = "summarise"
    length: Annotated[Length, Choice("Länge", "length", {"short": "kurz", "medium": "mittel", "long": "lang"})] = (
        "mittel")


SUMMARY_LENGTHS: dict[Length, dict[str, Any]] = {
    "kurz": {"sentences": "1 bis 2 Sätze", "points": 3, "max_tokens": 130, "words": 35},
    "mittel": {"sentences": "3 Sätze", "points": 4, "max_tokens": 200, "words": 60},
    "lang": {"sentences": "6 bis 8 Sätze in zwei Absätzen", "points": 6, "max_tokens": 360, "words": 130},
}
MAX_FIGURES_NAMED = 8
SUMMARY_SYSTEM = ("Du fasst Texte der Stadtverwaltung sachlich auf Deutsch zusammen. Übernimm Zahlen, Daten und "
                  "Beträge genau wie im Text. Erfinde nichts.")
_LABEL = re.compile(r"^\s*(?:#+\s*)?\**\s*(zusammenfassung|kernpunkte|stichpunkte|key points|summary)\s*\**\s*"
                    r"(?::\s*\**|$)", re.IGNORECASE)


def parse_summary(text: str) -> tuple[str, list[str]]:
    """(summary prose, key points) of a model answer in the "Zusammenfassung: … Kernpunkte: - …" format."""
    prose: list[str] = []
    points: list[str] = []
    section = "summary"
    for line in clean_output(text).split("\n"):
        label = _LABEL.match(line)
        if label:
            section = "points" if label.group(1).lower() in ("kernpunkte", "stichpunkte", "key points") else "summary"
            line = line[label.end():]
            if not line.strip():
                continue
        stripped = line.strip().strip("*").strip()
        if not stripped:
            if prose and prose[-1] != "":
                prose.append("")
            continue
        if BULLET.match(line):
            point = BULLET.sub("", line).strip().strip("*").strip()
            if point:
                points.append(point)
        elif section == "points" and points:
            points[-1] = f"{points[-1]} {stripped}"
        elif section == "points":
            points.append(stripped)
        else:
            prose.append(stripped)
    summary = re.sub(r"\n{3,}", "\n\n", "\n".join(prose)).strip()
    summary = re.sub(r"(?<!\n)\n(?!\n)", " ", summary)
    return summary, list(dict.fromkeys(p for p in points if p))


def lead_sentences(text: str, n: int = 3) -> str:
    """The first ``n`` sentences of ``text`` (extractive baseline and last-resort fallback)."""
    return " ".join(_prose_sentences(text)[:n])


def _prose_sentences(text: str) -> list[str]:
    out = []
    for s in rd.sentences(text):
        s = BULLET.sub("", re.sub(r"^#+\s*", "", s)).strip()
        if len(rd.words_of(s)) >= 3:
            out.append(s)
    return out


def _first_words(text: str, limit: int) -> str:
    """The leading whole sentences of ``text`` with at most ``limit`` words (at least one sentence)."""
    kept: list[str] = []
    count = 0
    for sentence in rd.sentences(text):
        n = len(rd.words_of(sentence))
        if kept and count + n > limit:
            break
        kept.append(sentence)
        count += n
    return " ".join(kept) if len(kept) < len(rd.sentences(text)) else text


def _main_clause(sentence: str, limit: int) -> str:
    """A sentence longer than ``limit`` words cut to its leading clause (before the first comma) when that
    clause has 6 to ``limit`` words; else the sentence unchanged. The small model often copies a long source
    sentence as its "summary": this keeps the statement and drops the subordinate detail."""
    if len(rd.words_of(sentence)) <= limit:
        return sentence
    head = sentence.split(", ")[0].rstrip(".;:")
    if head != sentence and 6 <= len(rd.words_of(head)) <= limit:
        return head + "."
    return sentence


def _clip_point(sentence: str, limit: int = 16) -> str:
    """A source sentence as a key point: without quotes, cut after its first clause when that is long enough."""
    sentence = sentence.strip(' "„“*')
    if len(sentence.split()) <= limit:
        return sentence
    head = sentence.split(", ")[0]
    if len(rd.words_of(head)) >= 6 and head != sentence:
        sentence = head.rstrip(".") + " …"
    words = sentence.split()
    return " ".join(words[:limit]) + " …" if len(words) > limit and not sentence.endswith("…") else sentence


def _compose_summary(summary: str, points: list[str]) -> str:
    body = summary.strip()
    if points:
        body += "\n\n**Kernpunkte**\n\n" + "\n".join(f"- {p}" for p in points)
    return body.strip()


def summarise(runtime: Any, ctx: Any, text: str, *, model: str | None = None, length: str = "mittel") -> ToolResult:
    """Summary plus "Kernpunkte" list; numbers checked against the source (one retry, then marked)."""
    source = clean_input(text, "summarise")
    chosen = SummariseOptions.parse({"length": length}).length
    spec = SUMMARY_LENGTHS[chosen]
    calls = Calls(runtime, ctx, model, "summarise")
    budget = calls.budget(int(spec["max_tokens"]), 160)
    tokens = calls.text_tokens(source)
    truncated = False
    if tokens > budget:
        if tokens > 2 * budget:
            raise calls.too_long(tokens, budget)
        source = leading_part(source, budget / tokens)
        truncated = True
    # the small model drops most figures unless it is shown them: name the source's numbers and dates
    figures = [n.raw for n in distinct(extract_numbers(source))][:MAX_FIGURES_NAMED]
    named = (f"Wichtige Zahlen und Daten im Text: {', '.join(figures)}. Übernimm die wichtigen davon genau.\n"
             if figures else "")
    instruction = (f"Fasse den Text zusammen. {named}Antworte genau in diesem Format:\nZusammenfassung: "
                   f"<{spec['sentences']} in eigenen Worten>\nKernpunkte:\n"
                   + "\n".join("- <kurzer Punkt, höchstens 10 Wörter>" for _ in range(int(spec["points"]))))

    def ask(note: str = "", seed: int = SEED) -> tuple[str, list[str], dict[str, Any]]:
        user = f'Text:\n"""\n{source}\n"""\n\n{instruction}' + (f"\n\n{note}" if note else "")
        raw, finish = calls.chat([ChatMessage("system", SUMMARY_SYSTEM), ChatMessage("user", user)],
                                 int(spec["max_tokens"]), seed=seed)
        if finish == "length":
            raw = drop_unfinished(raw)
        raw, _ = dedupe_sentences(raw)
        summary, points = parse_summary(raw)
        return summary, points, check_numbers(source, _compose_summary(summary, points))

    summary, points, numbers = ask()
    retried = False
    if numbers["unverified_numbers"]:
        retried = True
        note = ("Achtung: In einem ersten Entwurf standen Zahlen, die nicht im Text vorkommen: "
                f"{', '.join(numbers['unverified_numbers'])}. Verwende nur Zahlen und Daten, die im Text stehen.")
        second = ask(note, seed=SEED + 1)
        if len(second[2]["unverified_numbers"]) <= len(numbers["unverified_numbers"]) and (second[0] or second[1]):
            summary, points, numbers = second
    repaired = False
    sentences = _prose_sentences(source)
    if not summary and not points:
        summary, points, repaired = lead_sentences(source, 3), [], True
    elif not summary:
        summary, repaired = " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in points[:2]), True
    if not points and summary:  # the small model often stops after the summary: ask for the points alone
        user = (f'Text:\n"""\n{source}\n"""\n\nNenne die {spec["points"]} wichtigsten Kernpunkte des Textes als '
                "Liste. Jeder Punkt beginnt mit „- “ und hat höchstens 10 Wörter.")
        raw, finish = calls.chat([ChatMessage("system", SUMMARY_SYSTEM), ChatMessage("user", user)], 120)
        raw = drop_unfinished(raw) if finish == "length" else raw
        said = {norm_sentence(s) for s in rd.sentences(summary)}
        points = [p for p in parse_summary(dedupe_sentences(raw)[0])[1] if norm_sentence(p) not in said]
    if not points:  # key points cut from the source: sentences with numbers first, in document order
        said = {norm_sentence(s) for s in rd.sentences(summary)}
        fresh = [s for s in sentences if norm_sentence(s) not in said]
        ranked = sorted(fresh, key=lambda s: (not extract_numbers(s), fresh.index(s)))[: int(spec["points"])]
        points = [_clip_point(s) for s in sorted(ranked, key=fresh.index)]
        repaired = True
    # length is kept by code: whole sentences up to the length's word cap (at most 40 % of the source),
    # key points of at most 14 words
    cap = max(25, min(int(spec["words"]), int(0.4 * len(rd.words_of(source)))))
    short = _first_words(summary, cap)
    if len(rd.words_of(short)) > cap:  # a single sentence over the cap (often copied from the source)
        short = _main_clause(short, cap)
    clipped = [_clip_point(p, 14) for p in points[: int(spec["points"]) + 1]]
    trimmed = short != summary or clipped != points
    summary, points = short, clipped
    composed = _compose_summary(summary, points)
    numbers = check_numbers(source, composed)
    unverified = numbers["unverified_numbers"]
    shown = mark_unverified(composed, unverified)
    if truncated:
        shown += "\n\n> Hinweis: Der Text war für das Modell zu lang; zusammengefasst ist nur der Anfang."
    checks = {
        "numbers_in_summary": numbers["numbers"], "numbers_verified": numbers["numbers_verified"],
        "unverified_numbers": unverified, "source_numbers": numbers["source_numbers"],
        "source_numbers_kept": numbers["source_numbers_kept"], "key_points": len(points),
        "has_summary": bool(summary), "retried": retried, "structure_repaired": repaired, "trimmed": trimmed,
        "compression": round(len(rd.words_of(composed)) / max(1, len(rd.words_of(source))), 3),
    }
    return calls.result(ToolResult(shown, checks, calls.rounds, calls.metrics, bool(unverified) or repaired,
                                   {"length": chosen, "input_truncated": truncated, "model": calls.name}))
