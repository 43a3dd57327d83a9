"""The learning modules: Markdown files with YAML front matter in rathaus/literacy/modules (or the folder named by
``RATHAUS_LITERACY_MODULES_DIR``), German text first, then ``<!-- en -->`` and the English text.

Front matter: ``id``, ``version``, ``title_de``, ``title_en`` and 3–5 ``questions`` (``de``, ``en``,
``options_de``, ``options_en``, ``answer`` – the index of the correct option –, ``explain_de``, ``explain_en``).
A module's ``digest`` (SHA-256 of the file) is stored with every result, so an edited module is recognisable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rathaus.core.errors import BadRequest, ConfigError, NotFound

SHIPPED = Path(__file__).resolve().parent / "modules"
PASS_SHARE = 0.8  # passed at ≥ 80 % correct answers
EN_MARKER = "<!-- en -->"


@dataclass(frozen=True)
class Question:
    text_de: str
    text_en: str
    options_de: tuple[str, ...]
    options_en: tuple[str, ...]
    answer: int
    explain_de: str
    explain_en: str

    def text(self, lang: str) -> str:
        return self.text_en if lang == "en" else self.text_de

    def options(self, lang: str) -> tuple[str, ...]:
        return self.options_en if lang == "en" else self.options_de

    def explain(self, lang: str) -> str:
        return self.explain_en if lang == "en" else self.explain_de


@dataclass(frozen=True)
class Module:
    id: str
    version: int
    title_de: str
    title_en: str
    body_de: str
    body_en: str
    questions: tuple[Question, ...]
    digest: str

    def title(self, lang: str) -> str:
        return self.title_en if lang == "en" else self.title_de

    def body(self, lang: str) -> str:
        return self.body_en if lang == "en" else self.body_de

    def as_dict(self, lang: str = "de", with_answers: bool = False) -> dict[str, Any]:
        return {
            "id": self.id, "version": self.version, "digest": self.digest, "title": self.title(lang),
            "title_de": self.title_de, "title_en": self.title_en, "text": self.body(lang),
            "questions": [{"index": i, "text": q.text(lang), "options": list(q.options(lang)),
                           **({"answer": q.answer} if with_answers else {})}
                          for i, q in enumerate(self.questions)],
        }


def parse(text: str, source: str) -> Module:
    """One module file; ConfigError naming the file and the problem."""
    if not text.startswith("---\n"):
        raise ConfigError(f"{source}: a module starts with YAML front matter between '---' lines")
    head, sep, body = text[4:].partition("\n---\n")
    if not sep:
        raise ConfigError(f"{source}: the front matter is not closed by a '---' line")
    try:
        meta = yaml.safe_load(head)
        body_de, _, body_en = body.partition(EN_MARKER)
        questions = tuple(
            Question(str(q["de"]), str(q["en"]), tuple(map(str, q["options_de"])), tuple(map(str, q["options_en"])),
                     int(q["answer"]), str(q["explain_de"]), str(q["explain_en"]))
            for q in meta["questions"])
        module = Module(str(meta["id"]), int(meta.get("version", 1)), str(meta["title_de"]), str(meta["title_en"]),
                        body_de.strip(), (body_en or body_de).strip(), questions,
                        hashlib.sha256(text.encode("utf-8")).hexdigest()[:16])
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {type(exc).__name__}: {exc}") from exc
    if not 3 <= len(questions) <= 5:
        raise ConfigError(f"{source}: a module has 3 to 5 questions, not {len(questions)}")
    for n, q in enumerate(questions, 1):
        if len(q.options_de) != len(q.options_en) or not 0 <= q.answer < len(q.options_de) or len(q.options_de) < 2:
            raise ConfigError(f"{source}: question {n}: options and answer do not fit")
    return module


def load(folder: Path | None = None) -> list[Module]:
    """The modules of ``folder`` (default: the shipped ones), ordered by file name."""
    folder = folder or SHIPPED
    found = [parse(p.read_text(encoding="utf-8"), p.name) for p in sorted(folder.glob("*.md"))]
    ids = [m.id for m in found]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{folder}: a module id is used twice: {', '.join(ids)}")
    return found


def find(modules: list[Module], module_id: str) -> Module:
    for module in modules:
        if module.id == module_id:
            return module
    raise NotFound(f"no learning module {module_id!r}; known: {', '.join(m.id for m in modules)}")


@dataclass(frozen=True)
class Checked:
    correct: int
    total: int
    results: list[dict[str, Any]]

    @property
    def score(self) -> float:
        return round(self.correct / self.total, 4)

    @property
    def passed(self) -> bool:
        return self.correct / self.total >= PASS_SHARE


def check(module: Module, answers: list[int], lang: str = "de") -> Checked:
    """Score ``answers`` (one option index per question); BadRequest when they do not fit the module."""
    if len(answers) != len(module.questions):
        raise BadRequest(f"module {module.id!r} has {len(module.questions)} questions; {len(answers)} answers given")
    results: list[dict[str, Any]] = []
    for i, (q, given) in enumerate(zip(module.questions, answers, strict=True)):
        if not 0 <= given < len(q.options_de):
            raise BadRequest(f"question {i + 1}: answer {given} is not one of the options 0–{len(q.options_de) - 1}")
        results.append({"index": i, "given": given, "correct": given == q.answer, "answer": q.answer,
                        "explanation": q.explain(lang)})
    return Checked(sum(r["correct"] for r in results), len(results), results)
