"""Writing tools of the employee assistant: summarise, simplify, translate, draft, brainstorm.

Each tool makes a few short model calls through the gateway (routing, budgets, metering and audit apply)
and then checks the model's output with code; deterministic repairs do the heavy lifting, because the
shipped model is small (1.5 B parameters). Every tool returns a :class:`ToolResult`: the Markdown shown to
the user, machine-checkable ``checks``, the number of model calls (``rounds``), the summed metrics, a
``fallback`` flag (the checks failed and a deterministic or partial result is shown, or a target was not
reached) and tool-specific ``extra`` facts.

The checks:

* **Numbers** (summarise, simplify, translate): every number, date and amount is normalised — German and
  English digit grouping ("1.000", "1,000", "1 000" → 1000; "5,5" / "5.5" → 5.5), dates ("04.10.2024",
  "4.10.24", "4. Oktober 2024" → 2024-10-04; "Oktober 2024" → 2024-10), times ("12:50"), scale words
  ("1,5 Mio." → also 1500000). A number of the output is *verified* when one of its readings occurs in the
  source (the year of a source date and German number words "zwei" … "zwölf", "hundert" count as well).
  List numbering ("1.", "(2)") at the start of a line and digits glued to letters ("CO2") are no facts
  and are skipped. ``source_numbers_kept`` is the share of distinct source numbers found in the output
  (a translation may write a date as "October 4, 2024": day and year suffice there).
* **summarise**: the source's figures are named in the prompt (the small model drops them otherwise); the
  answer is parsed into a summary plus a "Kernpunkte" list (missing points are asked for once, then cut from
  the source) and trimmed to the length's word cap. Numbers not in the source trigger one retry that names
  them; still unverified numbers are marked "⚠" in the text and listed below it.
* **simplify**: Wiener Sachtextformel and sentence lengths (:mod:`rathaus.assistants.readability`)
  against the A2/B1 targets. Long sentences are first split by rules that keep every word (";",
  ", aber", ", denn", ", doch", ", jedoch" and a main-clause ", und"), a few bureaucratic words are
  swapped for simple ones; then the model rewrites the hardest sentences one at a time (short prompts
  suit a small model), up to ``max_rounds`` passes. A rewrite is kept only if it keeps the sentence's
  numbers and adds none, is in Latin script, has a sensible length, copies nothing from the prompt's
  example, brings at most one new long word and lowers the WSTF of the whole text; the candidate with
  the lowest WSTF wins.
* **translate**: numbers kept; share of letters in the target's script (Arabic, Cyrillic, Greek, else
  Latin; words copied from the source such as names are ignored); no letters of a foreign script
  (e.g. Chinese); not a copy of the source (share of output words that occur in the source); repeated
  sentences removed. Long texts are translated in chunks; a failing chunk is retried once with a hint.
* **draft**: subject line, salutation matching the recipient (gender-fair "Guten Tag …" when a name
  comes without Frau/Herr), closing; share of the bullet points whose key words occur in the draft.
  Missing structure is added, missing points are asked for once and then appended; generic masculine
  forms from a small list are replaced ("die Mitarbeiter" → "die Mitarbeitenden") or flagged.
* **brainstorm**: the Markdown must parse as an outline ("# topic", ≥ 3 top-level items, depth ≥ 2);
  otherwise it is restructured ("## headings", "A: b, c" items, a single root); a Mermaid ``mindmap``
  is built from the outline.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from rathaus.assistants import readability as rd
from rathaus.core.errors import BadRequest
from rathaus.models.types import ChatMessage, ChatParams

if TYPE_CHECKING:
    from rathaus.models.gateway import CallContext
    from rathaus.runtime import Runtime

CHARS_PER_TOKEN = 3.0  # estimate when the provider cannot count (conservative for German)
TEMPERATURE = 0.2
SEED = 7
MIN_OUTPUT_TOKENS = 48
MAX_CHUNKS = 4  # chunked tools (simplify, translate) take at most this many output budgets of text


@dataclass
class ToolResult:
    text: str
    checks: dict[str, Any]
    rounds: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    fallback: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # the safeguards' warnings (e.g. content-guard:output)


# ======================================================================================================
# model calls
# ======================================================================================================
_SUM_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens", "latency_ms", "cost_eur", "energy_wh", "gco2e")


def empty_metrics() -> dict[str, Any]:
    return {**dict.fromkeys(_SUM_KEYS, 0), "energy_method": "measured"}


def add_metrics(total: dict[str, Any], one: dict[str, Any]) -> dict[str, Any]:
    for key in _SUM_KEYS:
        total[key] = total.get(key, 0) + (one.get(key) or 0)
    for key in ("latency_ms", "cost_eur", "energy_wh", "gco2e"):
        total[key] = round(float(total[key]), 6)
    if one.get("energy_method") == "estimated":
        total["energy_method"] = "estimated"
    return total


class _Calls:
    """Model calls of one tool run: token budgets from the routed model, metrics summed, calls counted."""

    def __init__(self, runtime: Runtime, ctx: CallContext, model: str | None, tool: str):
        self.gateway, self.ctx, self.model, self.tool = runtime.gateway, ctx, model, tool
        self.spec = self.gateway.route(ctx, model, "chat").spec
        self.rounds = 0
        self.metrics = empty_metrics()
        self.warnings: set[str] = set()

    @property
    def name(self) -> str:
        return str(self.spec.name)

    def count(self, messages: list[ChatMessage]) -> int:
        provider = getattr(self.gateway, "provider", None)
        if provider is not None:
            try:
                return int(provider(self.spec).count_tokens(messages))
            except Exception:  # noqa: S110 - a provider that cannot count: estimate
                pass
        return sum(int(len(m.content) / CHARS_PER_TOKEN) + 4 for m in messages) + 4

    def text_tokens(self, text: str) -> int:
        return max(1, self.count([ChatMessage("user", text)]) - self.count([ChatMessage("user", "")]))

    def budget(self, reserve_out: int, overhead: int) -> int:
        """Tokens of input text that fit next to ``overhead`` prompt tokens and ``reserve_out`` output tokens."""
        return self.spec.context_length - min(reserve_out, self.spec.max_output_tokens) - overhead

    def too_long(self, tokens: int, limit: int) -> BadRequest:
        return BadRequest(
            f"{self.tool}: der Text ist zu lang für das Modell {self.name} (etwa {tokens} Tokens, höchstens "
            f"{max(0, limit)}); bitte kürzen oder aufteilen / the text is too long for model {self.name} "
            f"(about {tokens} tokens, at most {max(0, limit)}); shorten or split it",
            extra={"tokens": tokens, "max_tokens": max(0, limit), "model": self.name},
        )

    def chat(self, messages: list[ChatMessage], max_tokens: int, *, temperature: float = TEMPERATURE,
             seed: int = SEED) -> tuple[str, str]:
        """(text, finish_reason); max_tokens is capped by the model's output limit and the free context."""
        room = self.spec.context_length - self.count(messages) - 4
        n = min(max_tokens, self.spec.max_output_tokens, room)
        if n < min(MIN_OUTPUT_TOKENS, max_tokens):
            raise self.too_long(self.count(messages), self.spec.context_length - max_tokens)
        out = self.gateway.chat(self.ctx, messages, model=self.model,
                                params=ChatParams(max_tokens=n, temperature=temperature, seed=seed))
        self.rounds += 1
        add_metrics(self.metrics, out.metrics.as_dict())
        self.warnings.update(getattr(out, "warnings", None) or [])
        return out.text or "", getattr(out, "finish_reason", "stop") or "stop"

    def result(self, result: ToolResult) -> ToolResult:
        """The tool's result with the safeguards' warnings of all its calls."""
        result.warnings = sorted(self.warnings)
        return result


def _clean_input(text: Any, tool: str) -> str:
    if not isinstance(text, str):
        raise BadRequest(f"{tool}: der Text fehlt / the text is missing")
    text = unicodedata.normalize("NFC", text.replace("\x00", "")).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not any(ch.isalnum() for ch in text):
        raise BadRequest(f"{tool}: der Text ist leer / the text is empty")
    return text


def _choice(value: Any, allowed: Iterable[str], what: tuple[str, str], tool: str,
            aliases: dict[str, str] | None = None) -> str:
    allowed = list(allowed)
    key = str(value).strip().lower() if isinstance(value, str) else value
    key = (aliases or {}).get(key, key)
    for option in allowed:
        if isinstance(key, str) and key == option.lower():
            return option
    raise BadRequest(f"{tool}: unbekannte(r) {what[0]} {value!r}; erlaubt: {', '.join(allowed)} / "
                     f"unknown {what[1]} {value!r}; allowed: {', '.join(allowed)}")


_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?|\n?\s*```\s*$")
_PREAMBLE = re.compile(
    r"^\s*(?:hier (?:ist|sind)[^\n:]*:|here is[^\n:]*:|gerne[^\n:]*:|sure[^\n:]*:|"
    r"(?:neue[rs]? )?(?:text|sätze|satz|übersetzung|translation|[a-z]+ translation|antwort)\s*:)\s*",
    re.IGNORECASE,
)


def clean_output(text: str) -> str:
    """Model text without code fences, preambles ("Hier ist …:") and enclosing quotes."""
    text = _FENCE.sub("", text.strip()).strip()
    text = _PREAMBLE.sub("", text, count=1).strip()
    for left, right in (("«", "»"), ("„", "“"), ('"', '"'), ("“", "”")):
        if text.startswith(left) and text.endswith(right) and len(text) > 2 and text.count(left) == (
                2 if left == right else 1):
            text = text[len(left):-len(right)].strip()
    return text


def _norm_sentence(s: str) -> str:
    return re.sub(r"\W+", " ", s.casefold()).strip()


def dedupe_sentences(text: str) -> tuple[str, int]:
    """Drop sentences that repeat an earlier one (a small model can loop); returns (text, removed)."""
    seen: set[str] = set()
    removed = 0
    paragraphs = []
    for para in re.split(r"\n\s*\n", text):
        lines = []
        for line in para.split("\n"):
            parts = re.split(r"(?<=[.!?])\s+", line.strip())
            kept = []
            for part in parts:
                key = _norm_sentence(part)
                words = set(key.split())
                if key and len(key) > 12 and (key in seen or any(
                        len(words & set(k.split())) / len(words | set(k.split())) >= 0.8 for k in seen)):
                    removed += 1  # the same sentence again, or nearly
                    continue
                seen.add(key)
                kept.append(part)
            if kept:
                lines.append(" ".join(kept))
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs).strip(), removed


def _drop_unfinished(text: str) -> str:
    """For output cut at max_tokens: drop the unfinished last line or sentence."""
    text = text.rstrip()
    if not text or text[-1] in ".!?:»“\")":
        return text
    lines = text.split("\n")
    last = lines[-1]
    sentences = rd.sentences(last)  # the segmenter knows "1. April" and "z. B." are no sentence ends
    if len(sentences) > 1:
        lines[-1] = last[:last.rfind(sentences[-1])].rstrip()
    elif len(lines) > 1:
        lines = lines[:-1]
    return "\n".join(lines).rstrip()


# ======================================================================================================
# numbers, dates and amounts
# ======================================================================================================
MONTHS = {"januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "april": 4, "mai": 5, "juni": 6,
          "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11, "dezember": 12}
NUMBER_WORDS = {"null": 0, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8,
                "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "zwanzig": 20, "dreißig": 30, "vierzig": 40,
                "fünfzig": 50, "hundert": 100, "tausend": 1000, "eins": 1, "einem": 1, "einer": 1,
                "doppelt": 2, "halb": 0.5, "hälfte": 0.5}
_SCALES = {"mio": 10**6, "million": 10**6, "millionen": 10**6, "mrd": 10**9, "milliarde": 10**9,
           "milliarden": 10**9, "tsd": 1000, "tausend": 1000, "thousand": 1000, "billion": 10**9}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_SPACE = " \u00a0\u202f\u2009"
NUMBER_RE = re.compile(
    r"(?<![^\W\d_])(?<![\d.,])(?:"
    r"(?P<d1>\d{1,2})\.\s?(?P<m1>\d{1,2})\.\s?(?P<y1>\d{4}|\d{2})(?![\d])"
    rf"|(?P<d2>\d{{1,2}})\.\s*(?P<m2>{_MONTH_RE})\b(?:\s+(?P<y2>\d{{4}})(?!\d))?"
    rf"|(?P<num>\d{{1,3}}(?:[{_SPACE}]\d{{3}})+(?:,\d+)?(?![\d.,]\d)|\d+(?:[.,:]\d+)*)"
    r")",
    re.IGNORECASE,
)
_MONTH_YEAR_RE = re.compile(rf"\b(?P<m>{_MONTH_RE})\s+(?P<y>\d{{4}})(?!\d)", re.IGNORECASE)
_WORD_RE = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Number:
    raw: str
    values: frozenset[str]  # normalised readings ("1000", "5.5", "D:2024-10-04", "T:12:50")
    extras: frozenset[str] = frozenset()  # further readings a source allows (year and month of a date)
    parts: frozenset[str] = frozenset()  # loose components (day, month, year of a date)


def _canon(value: Decimal | int | float) -> str:
    d = Decimal(str(value))
    text = format(d.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _number_values(raw: str, following: str) -> set[str]:
    s = re.sub(f"[{_SPACE}]", "", raw)
    values: set[Decimal] = set()
    try:
        if ":" in s:
            return {"T:" + ":".join(str(int(p)) for p in s.split(":"))}
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", s):
            values.add(Decimal(s.replace(".", "")))
            if s.count(".") == 1:
                values.add(Decimal(s))
        elif re.fullmatch(r"\d{1,3}(?:,\d{3})+", s):
            values.add(Decimal(s.replace(",", "")))
            if s.count(",") == 1:
                values.add(Decimal(s.replace(",", ".")))
        elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", s):
            values.add(Decimal(s.replace(".", "").replace(",", ".")))
        elif re.fullmatch(r"\d{1,3}(?:,\d{3})+\.\d+", s):
            values.add(Decimal(s.replace(",", "")))
        elif re.fullmatch(r"\d+,\d+", s):
            values.add(Decimal(s.replace(",", ".")))
        elif re.fullmatch(r"\d+(?:\.\d+)?", s):
            values.add(Decimal(s))
        else:
            return {"S:" + s}
    except InvalidOperation:
        return {"S:" + s}
    scale = re.match(r"\s*([^\W\d_]+)", following)
    factor = _SCALES.get(scale.group(1).lower().rstrip(".")) if scale else None
    if factor:
        values |= {v * factor for v in values}
    return {_canon(v) for v in values}


def _date(day: int, month: int, year: int | None) -> Number | None:
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    if year is None:
        return Number("", frozenset({f"DM:{month:02d}-{day:02d}"}), parts=frozenset({str(day), str(month)}))
    return Number("", frozenset({f"D:{year:04d}-{month:02d}-{day:02d}"}),
                  extras=frozenset({f"MY:{year:04d}-{month:02d}", f"DM:{month:02d}-{day:02d}", str(year)}),
                  parts=frozenset({str(day), str(year)}))


def extract_numbers(text: str) -> list[Number]:
    """Numbers, dates, times and amounts of ``text`` with their normalised readings (see module docstring)."""
    out: list[tuple[int, int, Number]] = []
    for m in NUMBER_RE.finditer(text):
        raw = m.group(0)
        number: Number | None = None
        if m.group("d1"):
            year = int(m.group("y1"))
            number = _date(int(m.group("d1")), int(m.group("m1")), year + 2000 if year < 100 else year)
        elif m.group("d2"):
            number = _date(int(m.group("d2")), MONTHS[m.group("m2").lower()],
                           int(m.group("y2")) if m.group("y2") else None)
        if number is None:
            line_start = text.rfind("\n", 0, m.start()) + 1
            if (re.fullmatch(r"\d{1,2}", raw) and re.fullmatch(r"[ \t>*]*\(?", text[line_start:m.start()])
                    and re.match(r"[.)](?:\s|$)", text[m.end():m.end() + 2])):
                continue  # list numbering "1. …", "(2) …"
            raw_num = m.group("num") or raw
            number = Number(raw_num, frozenset(_number_values(raw_num, text[m.end():m.end() + 12])))
        else:
            number = Number(raw.strip(), number.values, number.extras, number.parts)
        out.append((m.start(), m.end(), number))
    taken = [(a, b) for a, b, n in out if any(v.startswith(("D:", "DM:")) for v in n.values)]
    for m in _MONTH_YEAR_RE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue  # part of "4. Oktober 2024"
        year, month = int(m.group("y")), MONTHS[m.group("m").lower()]
        out = [item for item in out if not (m.start() <= item[0] < m.end())]  # the year alone
        out.append((m.start(), m.end(), Number(m.group(0), frozenset({f"MY:{year:04d}-{month:02d}"}),
                                               extras=frozenset({str(year)}), parts=frozenset({str(year)}))))
    out.sort(key=lambda item: item[0])
    return [n for _, _, n in out]


def _word_numbers(text: str) -> set[str]:
    return {_canon(NUMBER_WORDS[w]) for w in (w.lower() for w in _WORD_RE.findall(text)) if w in NUMBER_WORDS}


def _distinct(numbers: list[Number]) -> list[Number]:
    seen: set[frozenset[str]] = set()
    out = []
    for n in numbers:
        if n.values not in seen:
            seen.add(n.values)
            out.append(n)
    return out


def check_numbers(source: str, output: str, *, loose_dates: bool = False) -> dict[str, Any]:
    """Numbers of ``output`` verified against ``source`` and source numbers kept in ``output``."""
    src, out = extract_numbers(source), _distinct(extract_numbers(output))
    allowed: set[str] = set(_word_numbers(source))
    for n in src:
        allowed |= n.values | n.extras | (n.parts if loose_dates else frozenset())
    unverified = [n.raw for n in out if not n.values & allowed]
    out_readings: set[str] = set()
    out_parts: set[str] = set()
    for n in out:
        out_readings |= n.values | n.extras
        out_parts |= n.parts | {v for v in n.values if re.fullmatch(r"\d+", v)}
    distinct_src = _distinct(src)
    kept, missing = 0, []
    for n in distinct_src:
        if n.values & out_readings or (loose_dates and n.parts and n.parts <= out_parts):
            kept += 1
        else:
            missing.append(n.raw)
    return {
        "numbers": len(out), "numbers_verified": len(out) - len(unverified),
        "unverified_numbers": list(dict.fromkeys(unverified)), "source_numbers": len(distinct_src),
        "source_numbers_kept": round(kept / len(distinct_src), 4) if distinct_src else 1.0,
        "missing_numbers": list(dict.fromkeys(missing)),
    }


def mark_unverified(text: str, unverified: list[str]) -> str:
    """Put "⚠" after each unverified number and list them below the text."""
    if not unverified:
        return text
    for raw in unverified:
        text = re.sub(rf"(?<![\d.,]){re.escape(raw)}(?![\d]|[.,]\d)(?! ⚠)", lambda m: m.group(0) + " ⚠", text)
    return f"{text}\n\n> ⚠ nicht in der Quelle: {', '.join(unverified)} – bitte prüfen."


# ======================================================================================================
# summarise
# ======================================================================================================
SUMMARY_LENGTHS: dict[str, dict[str, Any]] = {
    "kurz": {"sentences": "1 bis 2 Sätze", "points": 3, "max_tokens": 130, "words": 35},
    "mittel": {"sentences": "3 Sätze", "points": 4, "max_tokens": 200, "words": 60},
    "lang": {"sentences": "6 bis 8 Sätze in zwei Absätzen", "points": 6, "max_tokens": 360, "words": 130},
}
MAX_FIGURES_NAMED = 8
SUMMARY_SYSTEM = ("Du fasst Texte der Stadtverwaltung sachlich auf Deutsch zusammen. Übernimm Zahlen, Daten und "
                  "Beträge genau wie im Text. Erfinde nichts.")
_BULLET = re.compile(r"^\s*(?:[-*•–+]|\d{1,2}[.)])\s+")
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
        if _BULLET.match(line):
            point = _BULLET.sub("", line).strip().strip("*").strip()
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
        s = _BULLET.sub("", re.sub(r"^#+\s*", "", s)).strip()
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


def summarise(runtime: Runtime, ctx: CallContext, text: str, *, model: str | None = None,
              length: str = "mittel") -> ToolResult:
    """Summary plus "Kernpunkte" list; numbers checked against the source (one retry, then marked)."""
    source = _clean_input(text, "summarise")
    length = _choice(length, SUMMARY_LENGTHS, ("Länge", "length"), "summarise",
                     {"short": "kurz", "medium": "mittel", "long": "lang"})
    spec = SUMMARY_LENGTHS[length]
    calls = _Calls(runtime, ctx, model, "summarise")
    budget = calls.budget(int(spec["max_tokens"]), 160)
    tokens = calls.text_tokens(source)
    truncated = False
    if tokens > budget:
        if tokens > 2 * budget:
            raise calls.too_long(tokens, budget)
        source = _cut(source, budget / tokens)
        truncated = True
    # the small model drops most figures unless it is shown them: name the source's numbers and dates
    figures = [n.raw for n in _distinct(extract_numbers(source))][:MAX_FIGURES_NAMED]
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
            raw = _drop_unfinished(raw)
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
        raw = _drop_unfinished(raw) if finish == "length" else raw
        said = {_norm_sentence(s) for s in rd.sentences(summary)}
        points = [p for p in parse_summary(dedupe_sentences(raw)[0])[1] if _norm_sentence(p) not in said]
    if not points:  # key points cut from the source: sentences with numbers first, in document order
        said = {_norm_sentence(s) for s in rd.sentences(summary)}
        fresh = [s for s in sentences if _norm_sentence(s) not in said]
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
                                   {"length": length, "input_truncated": truncated, "model": calls.name}))


def _cut(text: str, share: float) -> str:
    """The leading ``share`` of ``text``, cut at a paragraph or sentence end."""
    limit = int(len(text) * share * 0.95)
    head = text[:limit]
    for sep in ("\n\n", ". ", "\n"):
        pos = head.rfind(sep)
        if pos > limit // 2:
            return head[:pos + (1 if sep == ". " else 0)].strip()
    return head.strip()


# ======================================================================================================
# simplify
# ======================================================================================================
_SPLIT_CONJ = re.compile(r"(;\s+)|(,\s+(?:aber|denn|doch|jedoch|und)\s+)")
SIMPLIFY_SYSTEM = (
    "Du schreibst schwere Sätze aus Texten der Stadtverwaltung in Einfache Sprache (Sprachniveau {level}) um. "
    "Regeln: Schreibe mehrere kurze Sätze, jeden in eine neue Zeile. Jeder Satz hat höchstens {words} Wörter. "
    "Benutze einfache, kurze Wörter. Behalte alle Zahlen, Daten und Namen. Lass keine Information weg und "
    "erfinde nichts."
)
SIMPLIFY_EXAMPLE = (
    "Die Stadtverwaltung prüft derzeit, ob die Einführung eines digitalen Antragsverfahrens für "
    "Anwohnerparkausweise bis zum 01.07.2025 realisiert werden kann, wobei die datenschutzrechtlichen "
    "Anforderungen zu berücksichtigen sind.",
    "Die Stadtverwaltung prüft etwas.\nKann man den Parkausweis für Anwohner bald online beantragen?\n"
    "Das soll bis zum 01.07.2025 gehen.\nDabei muss der Datenschutz beachtet werden.",
)
# content words of the example: in a rewrite of another sentence they are copied from the example
EXAMPLE_STEMS = ("parkausweis", "anwohner", "online", "datenschutz", "beantrag", "antragsverfahren")
LEVEL_WORDS = {"A2": 8, "B1": 10}
MAX_REWRITES_PER_PASS = 10
MAX_ASKS_PER_SENTENCE = 2  # a rejected rewrite is tried once more in the next pass, with another seed


def _letters_only(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def split_sentence(sentence: str, max_words: int) -> list[str]:
    """Split a long sentence at ";" and coordinating conjunctions, keeping every word (rule-only step)."""
    if len(rd.words_of(sentence)) <= max_words:
        return [sentence]
    for m in _SPLIT_CONJ.finditer(sentence):
        head, tail = sentence[:m.start()].rstrip(), sentence[m.end():].lstrip()
        conj = "" if m.group(1) else m.group(2).strip(", \t").split()[0]
        if conj == "und" and "," in head:
            continue  # ", und" after an inserted clause may join noun phrases: not safe
        if len(rd.words_of(head)) < 4 or len(rd.words_of(tail)) < 4 or not tail[:1].isalpha():
            continue
        if head.count("(") != head.count(")") or head.count("„") != head.count("“") or head.count('"') % 2:
            continue  # inside brackets or quotes
        tail = f"{conj.capitalize()} {tail}" if conj else tail[0].upper() + tail[1:]
        head = head.rstrip(",;:") + "."
        if _letters_only(head + tail) != _letters_only(sentence):
            continue
        return split_sentence(head, max_words) + split_sentence(tail, max_words)
    return [sentence]


@dataclass
class _Block:
    prefix: str  # list marker or heading marker kept verbatim
    sentences: list[str]
    kind: str  # "text" | "item" | "heading"


def _blocks(text: str) -> list[_Block]:
    out = []
    for block in rd.blocks(text):
        heading = re.match(r"^\s*#{1,6}\s+", block)
        item = rd._LIST_ITEM.match(block)
        if heading:
            out.append(_Block(heading.group(0), [block[heading.end():].strip()], "heading"))
            continue
        prefix = item.group(0) if item else ""
        body = block[len(prefix):].strip()
        sents = [" ".join(s.split()) for s in rd._segmenter().segment(body) if s.strip()] or [body]
        out.append(_Block(prefix, sents, "item" if item else "text"))
    return out


def _render(blocks: list[_Block]) -> str:
    parts: list[str] = []
    for i, b in enumerate(blocks):
        line = b.prefix + " ".join(s for s in b.sentences if s)
        if i and not (b.kind == "item" and blocks[i - 1].kind == "item"):
            parts.append("\n\n")
        elif i:
            parts.append("\n")
        parts.append(line)
    return "".join(parts).strip()


# Simpler words that fit in the same place (uninflected adverbs, conjunctions and the adjective stem
# "erforderlich-" whose endings carry over); nothing that would change case or word order.
LEXICON: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"(?<![\w.])({word})(?![\w])", re.IGNORECASE), simple) for word, simple in [
        ("beispielsweise", "zum Beispiel"), ("insbesondere", "vor allem"), ("hauptsächlich", "vor allem"),
        ("gegebenenfalls", "wenn nötig"), (r"ggf\.", "wenn nötig"), ("derzeit", "jetzt"), ("gegenwärtig", "jetzt"),
        ("momentan", "jetzt"), ("zunächst", "zuerst"), ("lediglich", "nur"), ("ausschließlich", "nur"),
        ("bereits", "schon"), ("ungefähr", "etwa"), ("circa", "etwa"), ("umgehend", "sofort"),
        ("unverzüglich", "sofort"), ("zeitnah", "bald"), ("aufgrund", "wegen"), ("sowie", "und"),
        (r"bzw\.", "oder"), ("überwiegend", "meist"), ("sofern", "wenn"),
        ("gemäß", "nach"), ("erforderlich", "nötig"), ("erforderliche", "nötige"), ("erforderlichen", "nötigen"),
        ("erforderlicher", "nötiger"), ("erforderliches", "nötiges"), ("erforderlichem", "nötigem"),
    ]
]


def simpler_words(text: str) -> tuple[str, list[dict[str, str]]]:
    """Replace bureaucratic words by simple ones from :data:`LEXICON`; returns (text, [{from, to}])."""
    changes: list[dict[str, str]] = []
    for pattern, simple in LEXICON:
        def sub(m: re.Match[str], simple: str = simple) -> str:
            new = simple[:1].upper() + simple[1:] if m.group(1)[:1].isupper() else simple
            changes.append({"from": m.group(1), "to": new})
            return new
        text = pattern.sub(sub, text)
    return text, changes


def rule_simplify(text: str, level: str = "B1") -> str:
    """Rule-only simplification: split long sentences where no word has to change (also the bench baseline)."""
    limit = int(rd.targets(level)["max_avg_sentence_words"])  # type: ignore[arg-type]
    blocks = _blocks(text)
    for b in blocks:
        if b.kind != "heading":
            b.sentences = [part for s in b.sentences for part in split_sentence(s, limit + 3)]
    return _render(blocks)


def _hard_words(sentence: str) -> list[str]:
    words = {w for w in rd.words_of(sentence) if rd.syllables(w) >= 4 and not w.isupper()}
    return sorted(words, key=lambda w: -len(w))[:4]


def _difficulty(sentence: str) -> float:
    r = rd.measure(sentence)
    return r.wstf + max(0, r.words - 12)


def _latin_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(unicodedata.name(ch, "").startswith("LATIN") for ch in letters) / len(letters)


def new_long_words(original: str, rewrite: str) -> list[str]:
    """Long words (≥ 8 letters) of a rewrite whose stem does not occur in the original: a simpler text needs
    none, so they point to invented content (or words copied from the prompt's example)."""
    low = original.casefold()
    return [w for w in _WORD_RE.findall(rewrite) if len(w) >= 8 and _stem(w) not in low]


def accept_rewrite(original: str, rewrite: str, level: str,
                   easier: Callable[[str], bool] | None = None) -> tuple[str | None, str]:
    """(cleaned rewrite or None, reason): the checks a model rewrite of one sentence must pass.

    ``easier`` judges whether the rewrite makes the whole text easier (default: the sentence's own WSTF drops).
    """
    rewrite = clean_output(rewrite)
    rewrite = re.sub(r"^\s*(?:satz|sätze)\s*:\s*", "", rewrite, flags=re.IGNORECASE)
    rewrite = re.sub(r"\n*\s*schwere wörter\s*:.*$", "", rewrite, flags=re.IGNORECASE | re.DOTALL)
    lines = [_BULLET.sub("", line).strip() for line in rewrite.split("\n") if line.strip()]
    # a line with a figure the original lacks (often the example's date) is dropped; whether every figure
    # of the original is still there is checked below
    honest = [line for line in lines if not check_numbers(original, line)["unverified_numbers"]]
    lines = honest or lines
    rewrite = " ".join(line if line.endswith((".", "!", "?", ":")) else line + "." for line in lines)
    rewrite, _ = dedupe_sentences(rewrite)
    if not rewrite:
        return None, "empty"
    if _latin_share(rewrite) < 0.97:
        return None, "script"
    n_orig, n_new = len(rd.words_of(original)), len(rd.words_of(rewrite))
    if n_new < max(3, 0.45 * n_orig) or n_new > 2.5 * n_orig + 10:
        return None, "length"
    numbers = check_numbers(original, rewrite)
    if numbers["unverified_numbers"] or numbers["missing_numbers"]:
        return None, "numbers"
    low = original.casefold()
    if any(stem in rewrite.casefold() and stem not in low for stem in EXAMPLE_STEMS):
        return None, "copied from example"
    if len(new_long_words(original, rewrite)) > 1:
        return None, "new content"
    limit = int(rd.targets(level)["max_avg_sentence_words"])  # type: ignore[arg-type]
    rewrite = " ".join(part for s in rd.sentences(rewrite) for part in split_sentence(s, limit + 3))
    if not (easier(rewrite) if easier else rd.measure(rewrite).wstf < rd.measure(original).wstf):
        return None, "not easier"
    return rewrite, "ok"


def _whole_text_judge(blocks: list[_Block], bi: int, si: int) -> Callable[[str], bool]:
    """A rewrite of sentence ``si`` of block ``bi`` must lower the WSTF of the whole text (or, at equal WSTF,
    its words per sentence): a shorter sentence that only drops easy words would raise the long-word share."""
    now = rd.measure(_render(blocks))

    def easier(rewrite: str) -> bool:
        trial = [_Block(b.prefix, list(b.sentences), b.kind) for b in blocks]
        trial[bi].sentences[si] = rewrite
        after = rd.measure(_render(trial))
        return (after.wstf, after.avg_sentence_words) < (now.wstf, now.avg_sentence_words)

    return easier


def simplify(runtime: Runtime, ctx: CallContext, text: str, *, model: str | None = None, level: str = "B1",
             max_rounds: int = 3) -> ToolResult:
    """Einfache Sprache A2/B1: rule splits, then model rewrites of the hardest sentences until the target is met."""
    source = _clean_input(text, "simplify")
    level = _choice(level, ("A2", "B1"), ("Sprachniveau", "level"), "simplify")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int | str) or not str(max_rounds).isdigit() \
            or not 1 <= int(max_rounds) <= 5:
        raise BadRequest(f"simplify: max_rounds muss zwischen 1 und 5 liegen / max_rounds must be 1–5, "
                         f"not {max_rounds!r}")
    max_rounds = int(max_rounds)
    target = rd.targets(level)  # type: ignore[arg-type]
    calls = _Calls(runtime, ctx, model, "simplify")
    tokens = calls.text_tokens(source)
    limit = MAX_CHUNKS * min(calls.spec.max_output_tokens, calls.budget(calls.spec.max_output_tokens, 250))
    if tokens > limit:
        raise calls.too_long(tokens, limit)
    before = rd.measure(source)
    words = LEVEL_WORDS[level]
    system = SIMPLIFY_SYSTEM.format(level=level, words=words)
    max_sentence = int(target["max_avg_sentence_words"]) + 3

    rules = rule_simplify(source, level)
    candidates: list[tuple[str, str]] = [("rules", rules)]
    words_text, replaced_words = simpler_words(rules)
    if replaced_words:
        candidates.append(("rules + words", words_text))
    blocks = _blocks(words_text)
    asked: dict[str, int] = {}  # how often the model was asked about a sentence (a rejected one: once more)
    passes = rewritten = 0
    rejected: dict[str, int] = {}
    if rd.meets(before, level):  # type: ignore[arg-type]
        candidates = [("source", source)]
    for _ in range(max_rounds if candidates[0][0] == "rules" else 0):
        if rd.meets(rd.measure(_render(blocks)), level):  # type: ignore[arg-type]
            break
        hard = [(bi, si) for bi, b in enumerate(blocks) if b.kind != "heading" for si, s in enumerate(b.sentences)
                if asked.get(_norm_sentence(s), 0) < MAX_ASKS_PER_SENTENCE
                and (len(rd.words_of(s)) > max_sentence or (len(rd.words_of(s)) > 8 and _hard_words(s)))]
        if not hard:
            break
        passes += 1
        hard.sort(key=lambda h: -_difficulty(blocks[h[0]].sentences[h[1]]))
        replacements: dict[tuple[int, int], list[str]] = {}
        for bi, si in hard[:MAX_REWRITES_PER_PASS]:
            sentence = blocks[bi].sentences[si]
            asked[_norm_sentence(sentence)] = asked.get(_norm_sentence(sentence), 0) + 1
            messages = [ChatMessage("system", system), ChatMessage("user", SIMPLIFY_EXAMPLE[0]),
                        ChatMessage("assistant", SIMPLIFY_EXAMPLE[1]), ChatMessage("user", sentence)]
            n_tokens = min(calls.spec.max_output_tokens, 2 * calls.text_tokens(sentence) + 48)
            raw, finish = calls.chat(messages, n_tokens, seed=SEED + passes - 1)
            better, reason = accept_rewrite(sentence, _drop_unfinished(raw) if finish == "length" else raw, level,
                                            easier=_whole_text_judge(blocks, bi, si))
            if better is None:
                rejected[reason] = rejected.get(reason, 0) + 1
            else:
                rewritten += 1
                replacements[(bi, si)] = rd.sentences(better) or [better]
                asked.update({_norm_sentence(p): MAX_ASKS_PER_SENTENCE for p in replacements[(bi, si)]
                              if len(rd.words_of(p)) <= max_sentence})  # short model sentences: done
        for bi, b in enumerate(blocks):
            b.sentences = [part for si, s in enumerate(b.sentences) for part in replacements.get((bi, si), [s])]
        if replacements:
            candidates.append((f"pass {passes}", _render(blocks)))

    def rank(i: int) -> tuple[int, float, int]:  # numbers intact, lowest WSTF, at a tie the later candidate
        numbers = check_numbers(source, candidates[i][1])
        return (bool(numbers["unverified_numbers"] or numbers["missing_numbers"]), rd.measure(candidates[i][1]).wstf,
                -i)

    label, best = candidates[min(range(len(candidates)), key=rank)]
    after = rd.measure(best)
    met = rd.meets(after, level)  # type: ignore[arg-type]
    numbers = check_numbers(source, best)
    shown = mark_unverified(best, numbers["unverified_numbers"])
    if numbers["missing_numbers"]:
        shown += f"\n\n> Hinweis: Diese Angaben aus dem Original fehlen: {', '.join(numbers['missing_numbers'])}."
    checks = {
        "wstf_before": before.wstf, "wstf_after": after.wstf,
        "avg_sentence_words_before": before.avg_sentence_words, "avg_sentence_words_after": after.avg_sentence_words,
        "target_met": met, "numbers_in_text": numbers["numbers"], "numbers_verified": numbers["numbers_verified"],
        "unverified_numbers": numbers["unverified_numbers"], "source_numbers_kept": numbers["source_numbers_kept"],
        "missing_numbers": numbers["missing_numbers"], "sentences_rewritten": rewritten,
        "rewrites_rejected": sum(rejected.values()), "rejected_reasons": rejected, "words_replaced": replaced_words,
    }
    extra = {"level": level, "before": before.as_dict(), "after": after.as_dict(), "target": target, "met": met,
             "passes": passes, "chosen": label, "rules_wstf": rd.measure(rules).wstf, "model": calls.name,
             "candidates": [{"name": n, "wstf": rd.measure(t).wstf} for n, t in candidates]}
    fallback = not met or bool(numbers["unverified_numbers"] or numbers["missing_numbers"])
    return calls.result(ToolResult(shown, checks, calls.rounds, calls.metrics, fallback, extra))


# ======================================================================================================
# translate
# ======================================================================================================
# code: (German name in "ins …", English name, native name, script)
LANGUAGES: dict[str, tuple[str, str, str, str]] = {
    "en": ("Englische", "English", "English", "LATIN"),
    "tr": ("Türkische", "Turkish", "Türkçe", "LATIN"),
    "ar": ("Arabische", "Arabic", "العربية", "ARABIC"),
    "uk": ("Ukrainische", "Ukrainian", "українська", "CYRILLIC"),
    "ru": ("Russische", "Russian", "русский", "CYRILLIC"),
    "pl": ("Polnische", "Polish", "polski", "LATIN"),
    "hr": ("Kroatische", "Croatian", "hrvatski", "LATIN"),
    "ro": ("Rumänische", "Romanian", "română", "LATIN"),
    "it": ("Italienische", "Italian", "italiano", "LATIN"),
    "el": ("Griechische", "Greek", "ελληνικά", "GREEK"),
    "de": ("Deutsche", "German", "Deutsch", "LATIN"),
}
# output tokens per input token (the model's tokenizer spends more tokens on non-Latin scripts)
_EXPANSION = {"LATIN": 1.5, "CYRILLIC": 2.2, "ARABIC": 2.2, "GREEK": 3.0}
_DETECTED_OK = {"hr": {"hr", "bs", "sr"}, "uk": {"uk"}, "ru": {"ru"}}
MIN_SCRIPT_SHARE = 0.85
MAX_COPY_SHARE = 0.5


def script_share(text: str, script: str, source: str = "") -> tuple[float, int]:
    """(share of letters in ``script``, letters in neither ``script`` nor Latin); words of the source are ignored."""
    source_words = {w.casefold() for w in _WORD_RE.findall(source)}
    letters = [ch for w in _WORD_RE.findall(text) if w.casefold() not in source_words for ch in w]
    if not letters:
        return 0.0, 0
    names = [unicodedata.name(ch, "UNKNOWN").split(" ")[0] for ch in letters]
    foreign = sum(n not in (script, "LATIN") for n in names)
    return round(sum(n == script for n in names) / len(names), 4), foreign


def copy_share(source: str, output: str) -> float:
    """Share of the output's words (≥ 4 letters) that occur in the source: ~0 for a translation, ~1 for a copy."""
    src = {w.casefold() for w in _WORD_RE.findall(source) if len(w) >= 4}
    words = [w.casefold() for w in _WORD_RE.findall(output) if len(w) >= 4]
    return round(sum(w in src for w in words) / len(words), 4) if words else 0.0


def check_translation(source: str, output: str, target: str) -> dict[str, Any]:
    script = LANGUAGES[target][3]
    share, foreign = script_share(output, script, source)
    letters = sum(ch.isalpha() for ch in output)
    numbers = check_numbers(source, output, loose_dates=True)
    copied = copy_share(source, output)
    detected = _detect(output)
    # wrong language: the detector names another of the city's languages (e.g. still German, or English
    # instead of Turkish); rarer labels are left alone (close languages such as hr/bs/sr get confused)
    lang_ok = detected is None or detected in _DETECTED_OK.get(target, {target}) or detected not in LANGUAGES
    ok = (bool(output.strip()) and share >= (0.97 if script == "LATIN" else MIN_SCRIPT_SHARE)
          and foreign <= max(2, letters // 50) and copied < MAX_COPY_SHARE and lang_ok
          and not numbers["missing_numbers"] and not numbers["unverified_numbers"])
    return {"ok": ok, "script": script, "script_share": share, "foreign_script_letters": foreign,
            "copy_share": copied, "detected_language": detected, "language_ok": lang_ok,
            "source_numbers_kept": numbers["source_numbers_kept"], "missing_numbers": numbers["missing_numbers"],
            "unverified_numbers": numbers["unverified_numbers"]}


def _detect(text: str) -> str | None:
    if len(_WORD_RE.findall(text)) < 4:
        return None
    try:
        from rathaus.knowledge import detect_language

        return detect_language(text, short=True)
    except Exception:  # detection is a hint only
        return None


def _score(check: dict[str, Any]) -> tuple[int, float, float]:
    return (int(check["ok"]), check["source_numbers_kept"] - len(check["unverified_numbers"]) * 0.1,
            check["script_share"] - check["copy_share"])


def _chunks(text: str, limit: int, count: Any) -> list[str]:
    """Paragraph groups of at most ``limit`` tokens (a too long paragraph is split into sentences)."""
    pieces: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        if not para.strip():
            continue
        if count(para) <= limit:
            pieces.append(para.strip())
        else:
            pieces.extend(rd.sentences(para))
    chunks: list[str] = []
    current: list[str] = []
    for piece in pieces:
        joined = "\n\n".join([*current, piece])
        if current and count(joined) > limit:
            chunks.append("\n\n".join(current))
            current = [piece]
        else:
            current.append(piece)
    if current:
        chunks.append("\n\n".join(current))
    return chunks


def translate(runtime: Runtime, ctx: CallContext, text: str, *, model: str | None = None,
              target: str = "en") -> ToolResult:
    """Translation into one of the city's languages; numbers, script and "not a copy" are checked."""
    source = _clean_input(text, "translate")
    target = _choice(target, LANGUAGES, ("Zielsprache", "target language"), "translate")
    detected = _detect(source) or "de"
    if detected == target:
        raise BadRequest(f"translate: der Text ist bereits in der Zielsprache ({target}) / the text is already in "
                         f"the target language ({target}); wähle eine andere Zielsprache / choose another target")
    de_name, en_name, native, script = LANGUAGES[target]
    src_en = LANGUAGES[detected][1] if detected in LANGUAGES else "original"
    calls = _Calls(runtime, ctx, model, "translate")
    expansion = _EXPANSION[script]
    chunk_limit = int(min(calls.spec.max_output_tokens / expansion, calls.budget(calls.spec.max_output_tokens, 200)))
    tokens = calls.text_tokens(source)
    if tokens > MAX_CHUNKS * chunk_limit:
        raise calls.too_long(tokens, MAX_CHUNKS * chunk_limit)
    chunks = _chunks(source, max(chunk_limit, 32), calls.text_tokens)
    system = (f"Übersetze den Text ins {de_name}. Translate the {src_en} text into {en_name} ({native}). "
              "Behalte alle Zahlen, Daten, Beträge und Namen genau bei. Behalte Absätze und Listen bei. "
              f"Gib nur die Übersetzung aus. Output only the {en_name} translation.")
    outputs, reports, retries = [], [], 0
    for chunk in chunks:
        n_tokens = int(calls.text_tokens(chunk) * expansion) + 48
        best_text, best_check = "", None
        for attempt in range(2):
            hint = ""
            if attempt and best_check is not None:
                problems = []
                if best_check["missing_numbers"]:
                    problems.append("keep these numbers / behalte diese Zahlen: "
                                    + ", ".join(best_check["missing_numbers"]))
                if best_check["copy_share"] >= MAX_COPY_SHARE or not best_check["language_ok"] \
                        or best_check["script_share"] < MIN_SCRIPT_SHARE:
                    problems.append(f"write only in {en_name} ({native}), not in {src_en}")
                hint = "\n\nNote: " + "; ".join(problems) if problems else ""
            user = f"{src_en} text:\n{chunk}{hint}\n\n{en_name} translation:"
            raw, finish = calls.chat([ChatMessage("system", system), ChatMessage("user", user)], n_tokens,
                                     temperature=TEMPERATURE + 0.2 * attempt, seed=SEED + attempt)
            if finish == "length":
                raw = _drop_unfinished(raw)
            out, _ = dedupe_sentences(clean_output(raw))
            check = check_translation(chunk, out, target)
            if best_check is None or _score(check) > _score(best_check):
                best_text, best_check = out, check
            if check["ok"]:
                break
            retries += attempt == 0
        outputs.append(best_text)
        reports.append(best_check)
    result = "\n\n".join(o for o in outputs if o).strip()
    overall = check_translation(source, result, target)
    problems = []
    if overall["missing_numbers"]:
        problems.append(f"fehlende Zahlen / missing numbers: {', '.join(overall['missing_numbers'])}")
    if overall["unverified_numbers"]:
        problems.append(f"Zahlen nicht im Original / numbers not in the source: "
                        f"{', '.join(overall['unverified_numbers'])}")
    if overall["script_share"] < (0.97 if script == "LATIN" else MIN_SCRIPT_SHARE) or overall["foreign_script_letters"]:
        problems.append(f"Schrift / script: {overall['script_share']:.0%} {script.lower()}")
    if overall["copy_share"] >= MAX_COPY_SHARE or not overall["language_ok"]:
        problems.append("Text scheint nicht übersetzt / the text seems untranslated")
    shown = result or "(keine Übersetzung / no translation)"
    if problems:
        shown += "\n\n> ⚠ Automatische Prüfung / automatic check: " + "; ".join(problems) + "."
    checks = {k: overall[k] for k in ("script", "script_share", "foreign_script_letters", "copy_share",
                                      "detected_language", "language_ok", "source_numbers_kept",
                                      "missing_numbers", "unverified_numbers")}
    checks.update(ok=overall["ok"], chunks=len(chunks), chunks_ok=sum(bool(r and r["ok"]) for r in reports),
                  retries=retries)
    extra = {"target": target, "language_name": en_name, "native_name": native, "source_language": detected,
             "model": calls.name}
    return calls.result(ToolResult(shown, checks, calls.rounds, calls.metrics, not overall["ok"] or not result, extra))


# ======================================================================================================
# draft
# ======================================================================================================
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

# Generic masculine forms. Nouns that become participles (plural only): "Mitarbeiter" → "Mitarbeitende"
# (strong) / "Mitarbeitenden" (after an article or in the dative); pair forms: "Bürger" → "Bürgerinnen und
# Bürger". A preceding singular determiner ("der", "ein", "jeder", …) makes the form ambiguous or singular:
# it is flagged with a suggestion, not replaced.
PARTICIPLE_NOUNS = {"Mitarbeiter": "Mitarbeitend", "Teilnehmer": "Teilnehmend", "Nutzer": "Nutzend",
                    "Antragsteller": "Antragstellend", "Beschäftigter": "Beschäftigt", "Studenten": "Studierend"}
PAIR_NOUNS = {"Bürger": ("Bürgerinnen", "Bürger"), "Einwohner": ("Einwohnerinnen", "Einwohner"),
              "Kollegen": ("Kolleginnen", "Kollegen"), "Besucher": ("Besucherinnen", "Besucher"),
              "Steuerzahler": ("Steuerzahlerinnen", "Steuerzahler"), "Bewerber": ("Bewerberinnen", "Bewerber"),
              "Ansprechpartner": ("Ansprechpersonen", None)}
_SINGULAR = {"der", "dem", "des", "ein", "einem", "eines", "jeder", "jedem", "jedes", "kein", "keinem", "dieser",
             "diesem", "jener", "unser", "unserem", "ihr", "ihrem", "welcher", "einen"}
_WEAK = {"die", "den", "alle", "allen", "unsere", "unseren", "ihre", "ihren", "diese", "diesen", "keine", "keinen",
         "sämtliche", "sämtlichen", "liebe", "lieben", "geehrte"}
_NOUN_RE = re.compile(r"\b(?P<noun>" + "|".join(sorted({*PARTICIPLE_NOUNS, *PAIR_NOUNS}, key=len, reverse=True))
                      + r")(?P<dat>n?)(?![\w*:/_])")
_SINGULAR_FIXED = [  # unambiguous singular forms of "Antragsteller"
    (re.compile(r"\b([Dd])en Antragsteller\b(?![\w*:/])"), "{d}ie antragstellende Person"),
    (re.compile(r"\b([Dd])em Antragsteller\b(?![\w*:/])"), "{d}er antragstellenden Person"),
    (re.compile(r"\b([Dd])es Antragstellers\b"), "{d}er antragstellenden Person"),
    (re.compile(r"(?:^|(?<=[.!?]\s))([Dd])er Antragsteller\b(?![\w*:/])(?= \w+ )"), "{d}ie antragstellende Person"),
]


def gender_fair(text: str) -> tuple[str, list[dict[str, str]], list[dict[str, str]]]:
    """(text with replacements, replaced [{from, to}], flagged [{text, suggestion}]) for generic masculine forms."""
    replaced: list[dict[str, str]] = []
    flagged: list[dict[str, str]] = []
    text = re.sub(r"\bSehr geehrte Herren\b", "Sehr geehrte Damen und Herren", text)
    for pattern, template in _SINGULAR_FIXED:
        def fixed(m: re.Match[str], template: str = template) -> str:
            d = "D" if m.group(1) == "D" else "d"
            new = template.format(d=d)
            replaced.append({"from": m.group(0), "to": new})
            return new
        text = pattern.sub(fixed, text)

    def plural(m: re.Match[str]) -> str:
        noun, dative = m.group("noun"), m.group("dat")
        before = text[max(0, m.start() - 40):m.start()]
        after = text[m.end():m.end() + 20]
        if re.search(r"innen\s+und\s+$", before) or re.match(r"\s+und\s+\w+innen", after) \
                or re.search(r"\w+innen\s+(?:oder|bzw\.?)\s+$", before):
            return m.group(0)  # already a pair form
        previous = [w.lower() for w in _WORD_RE.findall(before)[-2:]]
        determiner = next((w for w in reversed(previous) if w in _SINGULAR | _WEAK), None)
        if noun == "Kollegen" and not dative:
            determiner = determiner if determiner not in _SINGULAR else None
        if noun == "Beschäftigter" or (determiner in _SINGULAR and not dative and noun != "Kollegen"):
            suggestion = (PARTICIPLE_NOUNS[noun] + "e" if noun in PARTICIPLE_NOUNS
                          else " und ".join(p for p in PAIR_NOUNS[noun] if p))
            entry = {"text": " ".join([*previous[-1:], m.group(0)]), "suggestion": suggestion}
            if entry not in flagged:
                flagged.append(entry)
            return m.group(0)
        if noun in PARTICIPLE_NOUNS:
            weak = bool(dative) or determiner in _WEAK
            new = PARTICIPLE_NOUNS[noun] + ("en" if weak else "e")
        else:
            female, male = PAIR_NOUNS[noun]
            new = female if male is None else f"{female} und {male}{dative if noun != 'Kollegen' else ''}"
        replaced.append({"from": m.group(0), "to": new})
        return new

    text = _NOUN_RE.sub(plural, text)
    return text, replaced, flagged


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
    items = [_BULLET.sub("", line).strip() for line in lines if _BULLET.match(line)]
    if items:
        return items
    if len(lines) > 1:
        return lines
    return [s for s in rd.sentences(text) if rd.words_of(s)] or [text.strip()]


def _stem(word: str) -> str:
    return word.casefold()[:5] if len(word) > 5 else word.casefold()


def key_words(point: str) -> set[str]:
    words = {_stem(w) for w in _WORD_RE.findall(point) if len(w) >= 4 and w.casefold() not in STOPWORDS}
    return words | {n.raw for n in extract_numbers(point)}


def point_covered(point: str, draft: str) -> bool:
    keys = key_words(point)
    if not keys:
        return True
    stems = {_stem(w) for w in _WORD_RE.findall(draft)}
    numbers = {n.raw for n in extract_numbers(draft)}
    hits = sum((k in stems) or (k in numbers) for k in keys)
    point_numbers = {n.raw for n in extract_numbers(point)}
    if point_numbers and point_numbers <= numbers:  # its numbers and dates are strong evidence
        return hits / len(keys) >= 0.3
    return hits / len(keys) >= 0.5


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
    elif _norm_sentence(lines[sal_i]) != _norm_sentence(salutation):
        rest = lines[sal_i][_SALUTATION.match(lines[sal_i]).end():]  # type: ignore[union-attr]
        lines[sal_i] = salutation + (f" {rest.strip()}" if rest.strip() else "")
        repairs.append("salutation corrected")
    lines = [line for line in lines if not _ECHO.match(line)]
    close_i = next((i for i, line in enumerate(lines) if _CLOSING.match(line)), None)
    if close_i is None:
        lines += ["", "Mit freundlichen Grüßen"]
        repairs.append("closing")
    else:  # after the closing only a short signature (name, unit) may follow
        signature = [line for line in lines[close_i + 1:] if line.strip()]
        if len(signature) > 3 or any(len(line.split()) > 6 or line.rstrip().endswith((".", "!", "?", ":"))
                                     for line in signature):
            lines = lines[:close_i + 1]
            repairs.append("text after closing removed")
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, repairs


_ECHO = re.compile(r"^\s*(?:achte darauf|form:|<text|hinweis:|note:|schreibe (?:einen|eine))", re.IGNORECASE)


def _insert_before_closing(text: str, addition: str) -> str:
    lines = text.split("\n")
    close_i = next((i for i, line in enumerate(lines) if _CLOSING.match(line)), len(lines))
    return "\n".join([*lines[:close_i], addition, "", *lines[close_i:]])


DRAFT_SYSTEM = ("Du schreibst für die Stadtverwaltung {what} in korrektem, freundlichem und klarem Verwaltungsdeutsch. "
                "Verwende geschlechtergerechte Sprache (z. B. „Mitarbeitende“, „Bürgerinnen und Bürger“). "
                "Erfinde keine Fakten, Zahlen, Daten oder Namen.")


def draft(runtime: Runtime, ctx: CallContext, text: str, *, model: str | None = None, kind: str = "brief",
          recipient: str | None = None) -> ToolResult:
    """A letter or e-mail from bullet points, with subject, matching salutation, closing and gender-fair wording."""
    source = _clean_input(text, "draft")
    kind = _choice(kind, ("brief", "email"), ("Art", "kind"), "draft",
                   {"e-mail": "email", "mail": "email", "letter": "brief", "schreiben": "brief"})
    if recipient is not None and (not isinstance(recipient, str) or len(recipient) > 200):
        raise BadRequest("draft: recipient muss ein Text mit höchstens 200 Zeichen sein / "
                         "recipient must be a string of at most 200 characters")
    points = parse_points(source)
    salutation = salutation_for(recipient)
    what = "Briefe" if kind == "brief" else "E-Mails"
    calls = _Calls(runtime, ctx, model, "draft")
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
            raw = _drop_unfinished(raw)
        return dedupe_sentences(clean_output(raw))[0]

    raw = ask()
    structure = check_structure(raw)
    missing = [p for p in points if not point_covered(p, raw)]
    retried = False
    if missing and raw:
        retried = True
        again = ask("\n\nAchte darauf, dass diese Punkte vorkommen: " + "; ".join(missing), seed=SEED + 1)
        still = [p for p in points if not point_covered(p, again)]
        if len(still) < len(missing):
            raw, missing, structure = again, still, check_structure(again)
    body = raw or ""
    text_out, repairs = repair_draft(body, salutation, points)
    if missing:
        text_out = _insert_before_closing(
            text_out, "Ergänzend weisen wir auf folgende Punkte hin:\n\n" + "\n".join(f"- {p}" for p in missing))
        repairs.append("points appended")
    text_out, replaced, flagged = gender_fair(text_out)
    covered = [p for p in points if point_covered(p, text_out)]
    checks = {**structure, "points": len(points), "points_covered": round(len(covered) / len(points), 4),
              "points_missing_in_model_text": missing, "salutation": salutation, "repairs": repairs,
              "gender_fair": {"replaced": replaced, "flagged": flagged}, "retried": retried}
    fallback = any(r in ("subject", "salutation", "closing", "points appended") for r in repairs) or not raw
    extra = {"kind": kind, "recipient": recipient, "model": calls.name}
    return calls.result(ToolResult(text_out, checks, calls.rounds, calls.metrics, fallback, extra))


# ======================================================================================================
# brainstorm
# ======================================================================================================
@dataclass
class Node:
    text: str
    children: list[Node] = field(default_factory=list)

    def depth(self) -> int:
        return 1 + max((c.depth() for c in self.children), default=0)

    def count(self) -> int:
        return 1 + sum(c.count() for c in self.children)


_OUTLINE_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?:[-*+•–]|\d{1,2}[.)])\s+(?P<text>.+)$")
_HEADING_LINE = re.compile(r"^\s*(?P<hashes>#{1,6})\s+(?P<text>.+?)\s*#*\s*$")


def _item_text(text: str) -> str:
    text = re.sub(r"\*\*|__|`", "", text).strip()
    return text.rstrip(":").strip()


def parse_outline(markdown: str) -> tuple[str | None, list[Node]]:
    """(topic from "# heading", top-level nodes) of a Markdown outline; "##" headings become top-level items."""
    topic: str | None = None
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []  # (level, node)
    heading_node: Node | None = None
    for line in markdown.replace("\t", "    ").split("\n"):
        if not line.strip():
            continue
        heading = _HEADING_LINE.match(line)
        if heading:
            level = len(heading.group("hashes"))
            text = _item_text(heading.group("text"))
            if level == 1 and topic is None and not roots:
                topic = text
                continue
            heading_node = Node(text)
            if level >= 3 and roots:
                roots[-1].children.append(heading_node)
            else:
                roots.append(heading_node)
            stack = [(-1, heading_node)]
            continue
        item = _OUTLINE_ITEM.match(line)
        if item:
            indent = len(item.group("indent"))
            node = Node(_item_text(item.group("text")))
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if stack:
                stack[-1][1].children.append(node)
            else:
                roots.append(node)
            stack.append((indent, node))
            continue
        text = _item_text(line)
        if not text:
            continue
        if re.fullmatch(r"\*\*.+\*\*:?", line.strip()) or not stack:
            node = Node(text)
            roots.append(node)
            stack = [(-1, node)]
        else:
            stack[-1][1].children.append(Node(text))
    return topic, roots


def outline_ok(roots: list[Node]) -> bool:
    return len(roots) >= 3 and max((r.depth() for r in roots), default=0) >= 2


def restructure(topic: str | None, roots: list[Node]) -> tuple[str | None, list[Node], list[str]]:
    """Deterministic repairs towards ≥ 3 top-level items with sub-items; returns (topic, roots, steps)."""
    steps: list[str] = []
    if len(roots) == 1 and len(roots[0].children) >= 3:  # one root: it is the topic
        topic = topic or roots[0].text
        roots = roots[0].children
        steps.append("single root promoted")
    for node in roots:  # "A: b, c, d" → A with children b, c, d
        if not node.children and ":" in node.text:
            head, tail = (part.strip(" .") for part in node.text.split(":", 1))
            parts = [p.strip(" .") for p in re.split(r"[;,]", tail) if p.strip(" .")]
            keyword_list = len(parts) >= 2 and all(len(p.split()) <= 4 for p in parts) and len(
                {p[:1].isupper() for p in parts}) == 1  # "Erstellen einer effizienten, intuitiven …" is none
            if not keyword_list:  # one sub-item
                parts = [tail] if tail else []
            if head and parts and len(head.split()) <= 6:
                node.text, node.children = head, [Node(p) for p in parts]
                steps.append("colon item split")
    if len(roots) < 3:  # too few top-level items: lift the children of the widest root
        flat = [c for r in roots for c in r.children]
        if len(flat) >= 3 and all(c.children for c in flat[:3]):
            roots = flat
            steps.append("second level lifted")
    return topic, roots, list(dict.fromkeys(steps))


TEMPLATE_BRANCHES = [("Ziele", ["Was soll erreicht werden?", "Woran messen wir Erfolg?"]),
                     ("Beteiligte", ["Wer ist betroffen?", "Wer entscheidet mit?"]),
                     ("Ressourcen", ["Personal und Zeit", "Budget"]),
                     ("Risiken", ["Datenschutz und Recht", "Akzeptanz"]),
                     ("Nächste Schritte", ["Erste Maßnahme", "Termin und Zuständigkeit"])]


def render_outline(topic: str, roots: list[Node]) -> str:
    lines = [f"# {topic}", ""]

    def walk(nodes: list[Node], depth: int) -> None:
        for n in nodes:
            lines.append(f"{'  ' * depth}- {n.text}")
            walk(n.children, depth + 1)

    walk(roots, 0)
    return "\n".join(lines)


def _mermaid_text(text: str, limit: int = 60) -> str:
    """Node text without characters that Mermaid reads as shapes or syntax, cut at a word boundary."""
    clean = " ".join(re.sub(r"[()\[\]{}<>\"`#:;]", " ", text).split())
    if len(clean) > limit:
        clean = clean[:limit].rsplit(" ", 1)[0] + " …"
    return clean or "…"


def mermaid_mindmap(topic: str, roots: list[Node]) -> str:
    lines = ["mindmap", f"  root(({_mermaid_text(topic)}))"]

    def walk(nodes: list[Node], depth: int) -> None:
        for n in nodes:
            lines.append(f"{'  ' * depth}{_mermaid_text(n.text)}")
            walk(n.children, depth + 1)

    walk(roots, 2)
    return "\n".join(lines)


BRAINSTORM_SYSTEM = ("Du hilfst Beschäftigten der Stadtverwaltung beim Brainstorming. Antworte nur mit einer "
                     "Markdown-Gliederung auf Deutsch, ohne Einleitung und ohne Erklärungen.")


def brainstorm(runtime: Runtime, ctx: CallContext, text: str, *, model: str | None = None) -> ToolResult:
    """A Markdown outline ("# topic", nested "- " items) and a Mermaid mindmap; non-outlines are restructured."""
    source = _clean_input(text, "brainstorm")
    calls = _Calls(runtime, ctx, model, "brainstorm")
    max_tokens = 320
    budget = calls.budget(max_tokens, 200)
    tokens = calls.text_tokens(source)
    truncated = False
    if tokens > budget:
        if tokens > 2 * budget:
            raise calls.too_long(tokens, budget)
        source, truncated = _cut(source, budget / tokens), True
    user = (f"Thema: {source}\n\nErstelle eine Mindmap als Markdown-Liste in genau dieser Form:\n# <Thema>\n"
            "- <Hauptpunkt>\n  - <Unterpunkt>\n  - <Unterpunkt>\n"
            "Schreibe 4 bis 6 Hauptpunkte mit je 2 bis 3 Unterpunkten. Nur Stichworte, keine ganzen Sätze.")
    raw, finish = calls.chat([ChatMessage("system", BRAINSTORM_SYSTEM), ChatMessage("user", user)], max_tokens)
    if finish == "length":
        raw = _drop_unfinished(raw)
    topic, roots = parse_outline(clean_output(raw))
    parsed_ok = outline_ok(roots)
    steps: list[str] = []
    if not parsed_ok:
        topic, roots, steps = restructure(topic, roots)
    fallback = not parsed_ok
    if not outline_ok(roots) and sum(r.count() for r in roots) < 3:
        roots = [Node(name, [Node(c) for c in children]) for name, children in TEMPLATE_BRANCHES]
        steps.append("template")
    default_topic = " ".join(rd.words_of(source.split("\n")[0])[:8]) or "Thema"
    if not topic:
        steps.append("heading added")
    topic = topic or default_topic
    depth = max((r.depth() for r in roots), default=0)
    markdown = render_outline(topic, roots)
    checks = {"has_heading": "heading added" not in steps, "top_level_items": len(roots), "depth": depth,
              "items": sum(r.count() for r in roots), "is_outline": outline_ok(roots),
              "parsed_as_outline": parsed_ok, "restructured": steps}
    if truncated:
        markdown += "\n\n> Hinweis: Die Beschreibung war für das Modell zu lang; genutzt wurde nur der Anfang."
    extra = {"mermaid": mermaid_mindmap(topic, roots), "topic": topic, "model": calls.name,
             "input_truncated": truncated}
    return calls.result(ToolResult(markdown, checks, calls.rounds, calls.metrics,
                                   fallback or not outline_ok(roots), extra))
