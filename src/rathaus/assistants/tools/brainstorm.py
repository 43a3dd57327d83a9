"""brainstorm: a Markdown outline ("# topic", nested "- " items) and a Mermaid mindmap of it.

The model's Markdown must parse as an outline (:mod:`~rathaus.assistants.tools.outline`: "# topic", ≥ 3
top-level items, depth ≥ 2); otherwise it is restructured ("## headings", "A: b, c" items, a single root),
and when nothing usable is left a template of questions (goals, people, resources, risks, next steps) is
offered; a Mermaid ``mindmap`` is built from the outline.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rathaus.assistants.tools.calls import Calls, ToolResult
from rathaus.assistants.tools.options import ToolOptions
from rathaus.assistants.tools.outline import (
    Node,
    drop_repeated,
    mermaid_mindmap,
    outline_ok,
    parse_outline,
    render_outline,
    restructure,
)
from rathaus.assistants.tools.text import clean_input, clean_output, drop_unfinished, leading_part
from rathaus.core import readability as rd
from rathaus.models.types import ChatMessage


class BrainstormOptions(ToolOptions):
    """brainstorm takes no options."""

    tool: ClassVar[str] = "brainstorm"


TEMPLATE_BRANCHES = [("Ziele", ["Was soll erreicht werden?", "Woran messen wir Erfolg?"]),
                     ("Beteiligte", ["Wer ist betroffen?", "Wer entscheidet mit?"]),
                     ("Ressourcen", ["Personal und Zeit", "Budget"]),
                     ("Risiken", ["Datenschutz und Recht", "Akzeptanz"]),
                     ("Nächste Schritte", ["Erste Maßnahme", "Termin und Zuständigkeit"])]
BRAINSTORM_SYSTEM = ("Du hilfst Beschäftigten der Stadtverwaltung beim Brainstorming. Antworte nur mit einer "
                     "Markdown-Gliederung auf Deutsch, ohne Einleitung und ohne Erklärungen.")


def brainstorm(runtime: Any, ctx: Any, text: str, *, model: str | None = None) -> ToolResult:
    """A Markdown outline ("# topic", nested "- " items) and a Mermaid mindmap; non-outlines are restructured."""
    source = clean_input(text, "brainstorm")
    calls = Calls(runtime, ctx, model, "brainstorm")
    max_tokens = 320
    budget = calls.budget(max_tokens, 200)
    tokens = calls.text_tokens(source)
    truncated = False
    if tokens > budget:
        if tokens > 2 * budget:
            raise calls.too_long(tokens, budget)
        source, truncated = leading_part(source, budget / tokens), True
    user = (f"Thema: {source}\n\nErstelle eine Mindmap als Markdown-Liste in genau dieser Form:\n# <Thema>\n"
            "- <Hauptpunkt>\n  - <Unterpunkt>\n  - <Unterpunkt>\n"
            "Schreibe 4 bis 6 Hauptpunkte mit je 2 bis 3 Unterpunkten. Nur Stichworte, keine ganzen Sätze.")
    raw, finish = calls.chat([ChatMessage("system", BRAINSTORM_SYSTEM), ChatMessage("user", user)], max_tokens)
    if finish == "length":
        raw = drop_unfinished(raw)
    topic, roots = parse_outline(clean_output(raw))
    roots, repeated = drop_repeated(roots)
    parsed_ok = outline_ok(roots) and not repeated
    steps: list[str] = ["repeated items removed"] if repeated else []
    if not outline_ok(roots):
        topic, roots, more = restructure(topic, roots)
        steps += more
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
              "parsed_as_outline": parsed_ok, "restructured": steps,
              "repeated_items_removed": repeated}
    if truncated:
        markdown += "\n\n> Hinweis: Die Beschreibung war für das Modell zu lang; genutzt wurde nur der Anfang."
    extra = {"mermaid": mermaid_mindmap(topic, roots), "topic": topic, "model": calls.name,
             "input_truncated": truncated}
    return calls.result(ToolResult(markdown, checks, calls.rounds, calls.metrics,
                                   fallback or not outline_ok(roots), extra))
