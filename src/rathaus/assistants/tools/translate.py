"""translate: into one of the city's languages, with numbers, script and "not a copy" checked.

Checks: numbers kept (:mod:`~rathaus.assistants.tools.numbers`, dates may be spelled out); share of letters
in the target's script (Arabic, Cyrillic, Greek, else Latin; words copied from the source such as names are
ignored); no letters of a foreign script (e.g. Chinese); not a copy of the source (share of output words that
occur in the source); the detected language is not another of the city's languages; repeated sentences
removed. Long texts are translated in chunks; a failing chunk is retried once with a hint.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, ClassVar, Literal

from rathaus.assistants.tools.calls import MAX_CHUNKS, SEED, TEMPERATURE, Calls, ToolResult
from rathaus.assistants.tools.numbers import check_numbers
from rathaus.assistants.tools.options import Choice, ToolOptions
from rathaus.assistants.tools.text import WORD_RE, clean_input, clean_output, dedupe_sentences, drop_unfinished
from rathaus.core import readability as rd
from rathaus.core.errors import BadRequest
from rathaus.models.types import ChatMessage

Language = Literal["en", "tr", "ar", "uk", "ru", "pl", "hr", "ro", "it", "el", "de"]  # the keys of LANGUAGES


class TranslateOptions(ToolOptions):
    tool: ClassVar[str] = "translate"
    target: Annotated[Language, Choice("Zielsprache", "target language")] = "en"


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
# the retry's hint echoed at the end of the answer ("Hinweis: behalte diese Zahlen: 1, 30")
_ECHOED_NOTE = re.compile(r"(?:^|\s)(?:Note|Hinweis|Примітка|Примечание|Not)\s*:\s*(?:keep|behalte|write only|"
                          r"schreibe nur)[^\n]*$", re.IGNORECASE)
MIN_SCRIPT_SHARE = 0.85
MAX_COPY_SHARE = 0.5


def script_share(text: str, script: str, source: str = "") -> tuple[float, int]:
    """(share of letters in ``script``, letters in neither ``script`` nor Latin); words of the source are ignored."""
    source_words = {w.casefold() for w in WORD_RE.findall(source)}
    letters = [ch for w in WORD_RE.findall(text) if w.casefold() not in source_words for ch in w]
    if not letters:
        return 0.0, 0
    names = [unicodedata.name(ch, "UNKNOWN").split(" ")[0] for ch in letters]
    foreign = sum(n not in (script, "LATIN") for n in names)
    return round(sum(n == script for n in names) / len(names), 4), foreign


def copy_share(source: str, output: str) -> float:
    """Share of the output's words (≥ 4 letters) that occur in the source: ~0 for a translation, ~1 for a copy."""
    src = {w.casefold() for w in WORD_RE.findall(source) if len(w) >= 4}
    words = [w.casefold() for w in WORD_RE.findall(output) if len(w) >= 4]
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
    if len(WORD_RE.findall(text)) < 4:
        return None
    try:
        from rathaus.core.language import detect_language

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


def translate(runtime: Any, ctx: Any, text: str, *, model: str | None = None, target: str = "en") -> ToolResult:
    """Translation into one of the city's languages; numbers, script and "not a copy" are checked."""
    source = clean_input(text, "translate")
    target = TranslateOptions.parse({"target": target}).target
    detected = _detect(source) or "de"
    if detected == target:
        raise BadRequest(f"translate: der Text ist bereits in der Zielsprache ({target}) / the text is already in "
                         f"the target language ({target}); wähle eine andere Zielsprache / choose another target")
    de_name, en_name, native, script = LANGUAGES[target]
    src_en = LANGUAGES[detected][1] if detected in LANGUAGES else "original"
    calls = Calls(runtime, ctx, model, "translate")
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
                raw = drop_unfinished(raw)
            out, _ = dedupe_sentences(_ECHOED_NOTE.sub("", clean_output(raw)).strip())
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
