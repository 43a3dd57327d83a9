"""Markdown outlines (used by brainstorm): parsed into a tree, checked, repaired, rendered, and drawn as a
Mermaid ``mindmap``.

An outline is a "# topic" heading and nested "- " items; it is *ok* with at least three top-level items and a
depth of at least two. The parser also reads "## headings" as top-level items and bold lines as groups;
:func:`restructure` repairs the usual near misses deterministically ("A: b, c" items, a single root that is
really the topic, a lone second level).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


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


def drop_repeated(roots: list[Node], seen: set[str] | None = None) -> tuple[list[Node], int]:
    """Items that repeat an earlier item of the outline removed (a small model can loop, writing the same branch
    or sub-item again and again, or a sub-item equal to its parent); returns (nodes, how many were removed,
    with their sub-items). ``seen`` holds the texts met so far, shared down the tree."""
    seen = set() if seen is None else seen
    kept: list[Node] = []
    removed = 0
    for node in roots:
        key = " ".join(re.findall(r"\w+", node.text.casefold()))
        if key in seen:
            removed += node.count()
            continue
        seen.add(key)
        node.children, below = drop_repeated(node.children, seen)
        removed += below
        kept.append(node)
    return kept, removed


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
