"""simplify: Einfache Sprache at level A2 or B1, measured and rewritten until the target is met.

Wiener Sachtextformel and sentence lengths (:mod:`rathaus.core.readability`) against the A2/B1 targets.
Long sentences are first split by rules that keep every word (";", ", aber", ", denn", ", doch", ", jedoch"
and a main-clause ", und"), a few bureaucratic words are swapped for simple ones; then the model rewrites the
hardest sentences one at a time (short prompts suit a small model), up to ``max_rounds`` passes. A rewrite is
kept only if it keeps the sentence's numbers and adds none (:mod:`~rathaus.assistants.tools.numbers`), is in
Latin script, has a sensible length, copies nothing from the prompt's example, brings at most one new long
word and lowers the WSTF of the whole text; the candidate with the lowest WSTF wins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator

from rathaus.assistants.tools.calls import MAX_CHUNKS, SEED, Calls, ToolResult
from rathaus.assistants.tools.numbers import check_numbers, mark_unverified
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

MAX_ROUNDS = 5


def _rounds(value: Any) -> int:
    """1 to MAX_ROUNDS, as a number or a string of digits (a form field); no bool."""
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdecimal() \
            or not 1 <= int(value) <= MAX_ROUNDS:
        raise ValueError(f"max_rounds muss zwischen 1 und {MAX_ROUNDS} liegen / max_rounds must be 1–{MAX_ROUNDS}, "
                         f"not {value!r}")
    return int(value)


class SimplifyOptions(ToolOptions):
    tool: ClassVar[str] = "simplify"
    level: Annotated[Literal["A2", "B1"], Choice("Sprachniveau", "level")] = "B1"
    max_rounds: Annotated[int, BeforeValidator(_rounds)] = 3


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
    return [w for w in WORD_RE.findall(rewrite) if len(w) >= 8 and stem(w) not in low]


def accept_rewrite(original: str, rewrite: str, level: str,
                   easier: Callable[[str], bool] | None = None) -> tuple[str | None, str]:
    """(cleaned rewrite or None, reason): the checks a model rewrite of one sentence must pass.

    ``easier`` judges whether the rewrite makes the whole text easier (default: the sentence's own WSTF drops).
    """
    rewrite = clean_output(rewrite)
    rewrite = re.sub(r"^\s*(?:satz|sätze)\s*:\s*", "", rewrite, flags=re.IGNORECASE)
    rewrite = re.sub(r"\n*\s*schwere wörter\s*:.*$", "", rewrite, flags=re.IGNORECASE | re.DOTALL)
    lines = [BULLET.sub("", line).strip() for line in rewrite.split("\n") if line.strip()]
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


def simplify(runtime: Any, ctx: Any, text: str, *, model: str | None = None, level: str = "B1",
             max_rounds: int = 3) -> ToolResult:
    """Einfache Sprache A2/B1: rule splits, then model rewrites of the hardest sentences until the target is met."""
    source = clean_input(text, "simplify")
    options = SimplifyOptions.parse({"level": level, "max_rounds": max_rounds})
    level, max_rounds = options.level, options.max_rounds
    target = rd.targets(level)
    calls = Calls(runtime, ctx, model, "simplify")
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
    if rd.meets(before, level):
        candidates = [("source", source)]
    for _ in range(max_rounds if candidates[0][0] == "rules" else 0):
        if rd.meets(rd.measure(_render(blocks)), level):
            break
        hard = [(bi, si) for bi, b in enumerate(blocks) if b.kind != "heading" for si, s in enumerate(b.sentences)
                if asked.get(norm_sentence(s), 0) < MAX_ASKS_PER_SENTENCE
                and (len(rd.words_of(s)) > max_sentence or (len(rd.words_of(s)) > 8 and _hard_words(s)))]
        if not hard:
            break
        passes += 1
        hard.sort(key=lambda h: -_difficulty(blocks[h[0]].sentences[h[1]]))
        replacements: dict[tuple[int, int], list[str]] = {}
        for bi, si in hard[:MAX_REWRITES_PER_PASS]:
            sentence = blocks[bi].sentences[si]
            asked[norm_sentence(sentence)] = asked.get(norm_sentence(sentence), 0) + 1
            messages = [ChatMessage("system", system), ChatMessage("user", SIMPLIFY_EXAMPLE[0]),
                        ChatMessage("assistant", SIMPLIFY_EXAMPLE[1]), ChatMessage("user", sentence)]
            n_tokens = min(calls.spec.max_output_tokens, 2 * calls.text_tokens(sentence) + 48)
            raw, finish = calls.chat(messages, n_tokens, seed=SEED + passes - 1)
            better, reason = accept_rewrite(sentence, drop_unfinished(raw) if finish == "length" else raw, level,
                                            easier=_whole_text_judge(blocks, bi, si))
            if better is None:
                rejected[reason] = rejected.get(reason, 0) + 1
            else:
                rewritten += 1
                replacements[(bi, si)] = rd.sentences(better) or [better]
                asked.update({norm_sentence(p): MAX_ASKS_PER_SENTENCE for p in replacements[(bi, si)]
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
    met = rd.meets(after, level)
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
