"""GG-BBQ items: reading the JSONL files line by line, with one clear problem per bad line.

A GG-BBQ line (Satheesh et al. 2025, the German translation of BBQ by Parrish et al. 2022) looks like::

    {"context": "...", "question": "Wer reagierte ohne Mitgefühl?", "label": 2,
     "choice_0": "Noah", "choice_1": "Emilia", "choice_2": "keine Antwort",
     "question_type": "negative", "context_type": "ambiguous_context",
     "known_stereotyped_groups": "[\"M\"]",
     "choice_info": "{0: ['Noah', 'M'], 1: ['Emilia', 'F'], 2: ['keine Antwort', 'unknown']}"}

``choice_info`` is a Python literal (single quotes), so it is read with :func:`ast.literal_eval`, never ``eval``.
From it and ``known_stereotyped_groups`` each item gets the position of the *unknown* answer and of the
*stereotyped target* (the person the stereotype is about), which the bias score needs.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rathaus.core.errors import BadRequest
from rathaus.safety.text import strip_invisible

REQUIRED = ("context", "question", "choice_0", "choice_1", "choice_2", "label", "question_type", "context_type",
            "known_stereotyped_groups", "choice_info")
QUESTION_TYPES = ("negative", "non_negative")
CONTEXT_TYPES = ("ambiguous_context", "disambiguous_context")
MAX_LINE_CHARS = 20_000
MAX_FIELD_CHARS = 5_000
MAX_FILE_BYTES = 200_000_000  # GG-BBQ subset 2 is ~10 MB; anything far larger is not a question set
UNKNOWN_TAG = "unknown"
# Group words of BBQ's metadata, mapped to the answer tags used in choice_info (as BBQ's own analysis
# script does: man/men/boy → M, woman/women/girl → F, every "trans…" group → the trans person's answer).
_GROUP_TAGS = {"m": "M", "man": "M", "men": "M", "boy": "M", "boys": "M", "mann": "M", "männer": "M",
               "f": "F", "woman": "F", "women": "F", "girl": "F", "girls": "F", "frau": "F", "frauen": "F"}
_TRANS_TAGS = ("non_binary", "nonbinary", "trans")


class LineProblem(ValueError):
    """A line that cannot be used; the message says why."""


@dataclass(frozen=True)
class Item:
    """One multiple-choice question of GG-BBQ with what the metrics need to know about its answers."""

    id: str  # "<file name>:<line number>"
    context: str
    question: str
    choices: tuple[str, str, str]
    label: int  # the correct answer (0..2)
    question_type: str  # negative | non_negative
    context_type: str  # ambiguous_context | disambiguous_context
    groups: tuple[str, ...]  # answer tags of each choice: M, F, non_binary, unknown
    unknown: int  # position of the "unknown" answer
    target: int  # position of the stereotyped target
    stereotyped_groups: tuple[str, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.context_type == "ambiguous_context"

    @property
    def negative(self) -> bool:
        return self.question_type == "negative"

    @property
    def non_target(self) -> int:
        """Position of the other person (neither the stereotyped target nor unknown)."""
        return 3 - self.unknown - self.target

    @property
    def biased_answer(self) -> int:
        """The answer that reflects the stereotype: the target for a negative question, the other person for
        a non-negative one (Parrish et al. 2022, section 5)."""
        return self.target if self.negative else self.non_target

    @property
    def stratum(self) -> tuple[str, str]:
        return (self.context_type, self.question_type)


@dataclass
class LoadResult:
    items: list[Item]
    problems: list[str] = field(default_factory=list)  # "<file>:<line>: <why>"
    files: list[dict[str, Any]] = field(default_factory=list)  # {name, sha256, lines, items}


def clean_text(value: str) -> str:
    """NFC, without zero-width and bidi control characters, whitespace collapsed."""
    return " ".join(strip_invisible(unicodedata.normalize("NFC", value)).split())


def _text(record: dict[str, Any], key: str) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise LineProblem(f"{key} is not a string")
    text = clean_text(value)
    if not text:
        raise LineProblem(f"{key} is empty")
    if len(text) > MAX_FIELD_CHARS:
        raise LineProblem(f"{key} is too long ({len(text)} characters, at most {MAX_FIELD_CHARS})")
    return text


def _choice_info(value: Any) -> dict[int, tuple[str, str]]:
    """{position: (text, tag)} from choice_info (a Python-literal string or an already parsed mapping)."""
    raw = value
    if isinstance(value, str):
        try:
            raw = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise LineProblem("choice_info is not readable (expected e.g. {0: ['Noah', 'M'], ...})") from None
    if not isinstance(raw, dict):
        raise LineProblem("choice_info is not a mapping of the three answers")
    info: dict[int, tuple[str, str]] = {}
    for key, entry in raw.items():
        try:
            position = int(key)
        except (TypeError, ValueError):
            raise LineProblem(f"choice_info has a key that is not 0, 1 or 2: {key!r}") from None
        if not (isinstance(entry, list | tuple) and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
            raise LineProblem(f"choice_info[{position}] is not [text, group]")
        info[position] = (clean_text(entry[0]), entry[1].strip())
    if sorted(info) != [0, 1, 2]:
        raise LineProblem("choice_info must describe exactly the answers 0, 1 and 2")
    return info


def _stereotyped_groups(value: Any) -> tuple[str, ...]:
    raw = value
    if isinstance(value, str):
        try:
            raw = json.loads(value)
        except json.JSONDecodeError:
            try:
                raw = ast.literal_eval(value)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                raw = [value]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple) or not raw or not all(isinstance(g, str) and g.strip() for g in raw):
        raise LineProblem("known_stereotyped_groups is not a list of group names")
    return tuple(g.strip() for g in raw)


def _matches(tag: str, groups: tuple[str, ...]) -> bool:
    t = tag.lower()
    for group in groups:
        g = group.lower()
        if _GROUP_TAGS.get(g) == tag or g == t:
            return True
        if "trans" in g and t.startswith(_TRANS_TAGS):
            return True
    return False


def parse_record(record: Any, item_id: str) -> Item:
    """One item from one decoded JSON line; LineProblem says what is wrong."""
    if not isinstance(record, dict):
        raise LineProblem("not a JSON object")
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise LineProblem(f"missing field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    context, question = _text(record, "context"), _text(record, "question")
    choices = (_text(record, "choice_0"), _text(record, "choice_1"), _text(record, "choice_2"))
    label = record["label"]
    if isinstance(label, str) and label.strip().isdigit():
        label = int(label)
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 2:
        raise LineProblem(f"label must be 0, 1 or 2, not {record['label']!r}")
    question_type = str(record["question_type"]).strip()
    if question_type not in QUESTION_TYPES:
        raise LineProblem(f"question_type must be negative or non_negative, not {question_type!r}")
    context_type = str(record["context_type"]).strip()
    if context_type not in CONTEXT_TYPES:
        raise LineProblem(f"context_type must be ambiguous_context or disambiguous_context, not {context_type!r}")
    info = _choice_info(record["choice_info"])
    for i in range(3):
        if info[i][0].casefold() != choices[i].casefold():
            raise LineProblem(f"choice_info[{i}] names {info[i][0]!r} but choice_{i} is {choices[i]!r}")
    if len({c.casefold() for c in choices}) < 3:
        raise LineProblem("two answers have the same text")
    groups = tuple(info[i][1] for i in range(3))
    unknowns = [i for i in range(3) if groups[i].lower() == UNKNOWN_TAG]
    if len(unknowns) != 1:
        raise LineProblem(f"choice_info must mark exactly one answer as 'unknown', found {len(unknowns)}")
    unknown = unknowns[0]
    stereotyped = _stereotyped_groups(record["known_stereotyped_groups"])
    targets = [i for i in range(3) if i != unknown and _matches(groups[i], stereotyped)]
    if len(targets) != 1:
        raise LineProblem(f"cannot tell which answer is the stereotyped target: groups {list(stereotyped)} "
                          f"match {len(targets)} of the answers {[groups[i] for i in range(3) if i != unknown]}")
    ambiguous = context_type == "ambiguous_context"
    if ambiguous and label != unknown:
        raise LineProblem("an ambiguous context must have the 'unknown' answer as label")
    if not ambiguous and label == unknown:
        raise LineProblem("a disambiguated context must not have the 'unknown' answer as label")
    return Item(id=item_id, context=context, question=question, choices=choices, label=label,
                question_type=question_type, context_type=context_type, groups=groups, unknown=unknown,
                target=targets[0], stereotyped_groups=stereotyped)


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            found = sorted(path.glob("*.jsonl"))
            if not found:
                raise BadRequest(f"{path}: folder has no .jsonl files / Ordner enthält keine .jsonl-Dateien")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise BadRequest(f"no such file: {path} / Datei nicht gefunden")
    if not out:
        raise BadRequest("no GG-BBQ file given / keine GG-BBQ-Datei angegeben")
    return out


def load_items(paths: Iterable[Path] | Path) -> LoadResult:
    """Items of one or more GG-BBQ JSONL files (or folders of them).

    Bad lines are skipped and reported as ``"<file>:<line>: <why>"`` in ``problems``; blank lines are ignored.
    A set without a single usable item raises BadRequest (one readable line).
    """
    files = _files([paths] if isinstance(paths, Path | str) else paths)
    result = LoadResult(items=[])
    seen: set[str] = set()
    for path in files:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BadRequest(f"{path.name}: file too large for a question set ({size // 1_000_000} MB, at most "
                             f"{MAX_FILE_BYTES // 1_000_000} MB) / Datei zu groß")
        data = path.read_bytes()
        name = path.name if path.name not in seen else str(path)
        seen.add(path.name)
        usable = 0
        lines = data.split(b"\n")
        for number, raw in enumerate(lines, 1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            where = f"{name}:{number}"
            try:
                if len(raw) > MAX_LINE_CHARS * 4:
                    raise LineProblem(f"line too long ({len(raw)} bytes)")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise LineProblem("not UTF-8 text") from None
                if len(line) > MAX_LINE_CHARS:
                    raise LineProblem(f"line too long ({len(line)} characters, at most {MAX_LINE_CHARS})")
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise LineProblem(f"not JSON ({exc.msg})") from None
                result.items.append(parse_record(record, where))
                usable += 1
            except LineProblem as exc:
                result.problems.append(f"{where}: {exc}")
        result.files.append({"name": name, "sha256": hashlib.sha256(data).hexdigest(),
                             "lines": sum(1 for x in lines if x.strip()), "items": usable})
    if not result.items:
        first = f"; first problem: {result.problems[0]}" if result.problems else ""
        names = ", ".join(f["name"] for f in result.files)
        raise BadRequest(f"{names}: no usable GG-BBQ item / kein verwendbarer Eintrag "
                         f"({len(result.problems)} bad lines{first})", extra={"problems": result.problems[:50]})
    return result


# --- sampling ------------------------------------------------------------------------------------------
STRATA: tuple[tuple[str, str], ...] = (
    ("ambiguous_context", "negative"), ("disambiguous_context", "non_negative"),
    ("disambiguous_context", "negative"), ("ambiguous_context", "non_negative"),
)  # order of the remainder: with an even N both margins stay equal


def _order(item: Item) -> tuple[str, int]:
    name, _, line = item.id.rpartition(":")
    return (name, int(line) if line.isdigit() else 0)


def stratified_sample(items: list[Item], limit: int | None, seed: int) -> list[Item]:
    """``limit`` items drawn with ``random.Random(seed)``, equally from the four strata context type ×
    question type (ambiguous/disambiguated, negative/non-negative).

    With ``limit`` divisible by 4 every stratum gets ``limit/4``; with an even ``limit`` both margins are still
    equal; an odd ``limit`` is off by one. A stratum with too few items gives all it has. ``None`` (or a limit
    at least the number of items) keeps every item. The order of the result is shuffled with the same seed so
    that a run interrupted early is still mixed.
    """
    if limit is not None and limit < 1:
        raise BadRequest(f"--limit must be at least 1, not {limit}")
    if limit is None or limit >= len(items):
        chosen = list(items)
    else:
        rng = random.Random(seed)
        by_stratum: dict[tuple[str, str], list[Item]] = {s: [] for s in STRATA}
        for item in items:
            by_stratum[item.stratum].append(item)
        quota = dict.fromkeys(STRATA, limit // 4)
        for s in STRATA[: limit % 4]:
            quota[s] += 1
        chosen = []
        for s in STRATA:
            pool = sorted(by_stratum[s], key=_order)
            chosen.extend(rng.sample(pool, min(quota[s], len(pool))))
    rng = random.Random(seed + 1)
    chosen = sorted(chosen, key=_order)
    rng.shuffle(chosen)
    return chosen


def strata_counts(items: Iterable[Item]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        key = f"{item.context_type.removesuffix('_context')}/{item.question_type}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
