"""Structure-aware chunking: whole blocks, heading paths, unsplit tables/lists, exact offsets."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rathaus.knowledge.chunking import Chunk, chunk_document
from rathaus.knowledge.document import BlockKind, DocumentBuilder, ExtractedDocument

SENTENCE = "Die Stadtverwaltung prüft den Antrag innerhalb von vier Wochen und teilt das Ergebnis schriftlich mit."


def build(blocks: list[tuple[BlockKind, str, int, int | None]], language: str | None = "de") -> ExtractedDocument:
    builder = DocumentBuilder()
    for kind, text, level, page in blocks:
        builder.add(kind, text, level=level, page=page)
    return builder.build(language=language)


def para(n_sentences: int, page: int | None = None) -> tuple[BlockKind, str, int, int | None]:
    return ("paragraph", " ".join([SENTENCE] * n_sentences), 0, page)


def check_invariants(doc: ExtractedDocument, chunks: list[Chunk], max_chars: int) -> None:
    """Offsets in range, ordered, non-empty, ≤ max_chars; every character covered exactly once except the
    "\\n\\n" between blocks at chunk boundaries and whitespace at cuts inside a block."""
    text = doc.text
    covered = [0] * len(text)
    for chunk in chunks:
        assert 0 <= chunk.start < chunk.end <= len(text)
        body = text[chunk.start : chunk.end]
        assert body == body.strip() and body
        assert chunk.end - chunk.start <= max_chars
        for i in range(chunk.start, chunk.end):
            covered[i] += 1
    assert all(c <= 1 for c in covered)
    for a, b in itertools.pairwise(chunks):
        assert a.end <= b.start
        gap = text[a.end : b.start]
        assert gap.strip() == ""
        block_boundary = any(blk.end == a.end for blk in doc.blocks)
        if block_boundary:
            assert gap == "\n\n"
    if chunks:
        assert text[: chunks[0].start] == "" and text[chunks[-1].end :] == ""
    uncovered = "".join(ch for ch, c in zip(text, covered, strict=True) if c == 0)
    assert uncovered.strip() == ""
    # chunk boundaries never fall inside a block that fits into max_chars
    for block in doc.blocks:
        if block.end - block.start <= max_chars:
            inside = [c for c in chunks if c.start < block.end and block.start < c.end]
            assert len(inside) == 1 and inside[0].start <= block.start and block.end <= inside[0].end


def expected_paths(doc: ExtractedDocument, chunks: list[Chunk]) -> None:
    """heading_path = enclosing headings (outermost first) at the chunk's last leading heading / first block."""
    stack: list[tuple[int, str]] = []
    by_start = {c.start: c for c in chunks}
    for block in doc.blocks:
        if block.kind == "heading":
            level = max(1, block.level)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, " ".join(doc.block_text(block).split())))
        if block.start in by_start:
            pending = tuple(t for _, t in stack)
            chunk = by_start[block.start]
            if block.kind != "heading":
                assert chunk.heading_path == pending
            else:
                assert chunk.heading_path[: len(pending)] == pending
                assert chunk.heading_path[len(pending) - 1] == " ".join(doc.block_text(block).split())


def test_heading_paths_and_new_chunk_per_heading() -> None:
    doc = build(
        [
            ("heading", "Satzung", 1, 1),
            para(2, 1),
            ("heading", "§ 1 Geltungsbereich", 2, 1),
            para(3, 1),
            ("heading", "Absatz 1", 3, 2),
            para(2, 2),
            ("heading", "§ 2 Gebühren", 2, 2),
            para(1, 3),
        ]
    )
    chunks = chunk_document(doc)
    check_invariants(doc, chunks, 1800)
    assert [c.heading_path for c in chunks] == [
        ("Satzung",),
        ("Satzung", "§ 1 Geltungsbereich"),
        ("Satzung", "§ 1 Geltungsbereich", "Absatz 1"),
        ("Satzung", "§ 2 Gebühren"),
    ]
    assert [c.page for c in chunks] == [1, 1, 2, 2]
    assert [doc.text[c.start : c.end].split("\n\n")[0] for c in chunks] == [
        "Satzung",
        "§ 1 Geltungsbereich",
        "Absatz 1",
        "§ 2 Gebühren",
    ]


def test_text_before_first_heading_has_empty_path() -> None:
    doc = build([para(2), ("heading", "Teil A", 1, None), para(2)])
    chunks = chunk_document(doc)
    assert [c.heading_path for c in chunks] == [(), ("Teil A",)]
    assert chunks[0].page is None


def test_accumulates_to_target_then_starts_new_chunk() -> None:
    doc = build([("heading", "Abschnitt", 1, None)] + [para(2) for _ in range(12)])
    chunks = chunk_document(doc, target_chars=1000, max_chars=1800)
    check_invariants(doc, chunks, 1800)
    assert len(chunks) > 2
    for chunk in chunks[:-1]:
        assert 600 < chunk.end - chunk.start <= 1000
    assert all(c.heading_path == ("Abschnitt",) for c in chunks)
    assert doc.text[chunks[0].start : chunks[0].end].startswith("Abschnitt\n\n")


def test_table_under_max_is_never_split() -> None:
    rows = "\n".join(f"Leistung {i} | {i},00 EUR | Bürgeramt" for i in range(40))  # ~1300 chars
    assert 1000 < len(rows) < 1800
    doc = build([("heading", "Gebühren", 1, None), para(6), ("table", rows, 0, None), para(1)])
    chunks = chunk_document(doc)
    check_invariants(doc, chunks, 1800)
    table = doc.blocks[2]
    holder = [c for c in chunks if c.start <= table.start < c.end]
    assert len(holder) == 1 and holder[0].end >= table.end


def test_huge_table_is_split_at_row_boundaries() -> None:
    lines = [f"Zeile {i:03d} | Spalte B {i} | Spalte C mit etwas mehr Text {i}" for i in range(120)]
    doc = build([("heading", "Tabelle", 1, None), ("table", "\n".join(lines), 0, None)])
    chunks = chunk_document(doc)
    check_invariants(doc, chunks, 1800)
    assert len(chunks) >= 4
    seen: list[str] = []
    for chunk in chunks:
        body = doc.text[chunk.start : chunk.end]
        parts = body.split("\n\n")[-1].split("\n")
        assert all(line in lines for line in parts)  # only whole rows
        seen += parts
    assert seen == lines


def test_list_kept_together_and_split_between_items_when_huge() -> None:
    items: list[tuple[BlockKind, str, int, int | None]] = [
        ("list_item", f"Unterlage Nummer {i}: gültiger Personalausweis oder Reisepass", 1 + i % 2, None)
        for i in range(20)
    ]
    doc = build([para(5), *items, para(1)])
    chunks = chunk_document(doc)
    check_invariants(doc, chunks, 1800)
    first_item, last_item = doc.blocks[1], doc.blocks[20]
    holder = [c for c in chunks if c.start <= first_item.start < c.end]
    assert holder[0].end >= last_item.end  # the whole list (~1300 chars) in one chunk

    big = [("list_item", f"Punkt {i}: " + SENTENCE, 1, None) for i in range(60)]
    doc = build(big)  # type: ignore[arg-type]
    chunks = chunk_document(doc)
    check_invariants(doc, chunks, 1800)
    starts = {b.start for b in doc.blocks}
    ends = {b.end for b in doc.blocks}
    assert len(chunks) > 3
    assert all(c.start in starts and c.end in ends for c in chunks)  # cut only between items


def test_long_paragraph_split_at_sentences() -> None:
    sentences = [f"Satz Nummer {i} beschreibt das Verfahren der Stadt im Detail und endet hier." for i in range(60)]
    doc = build([("heading", "Verfahren", 2, 4), ("paragraph", " ".join(sentences), 0, 4)])
    chunks = chunk_document(doc, target_chars=1000, max_chars=1800)
    check_invariants(doc, chunks, 1800)
    assert len(chunks) >= 4
    for chunk in chunks:
        body = doc.text[chunk.start : chunk.end]
        assert body.endswith(".")
        assert chunk.page == 4
        assert chunk.heading_path == ("Verfahren",)
    bodies = [doc.text[c.start : c.end] for c in chunks]
    assert bodies[0].startswith("Verfahren\n\nSatz Nummer 0 ")
    assert all(b.startswith("Satz Nummer") for b in bodies[1:])
    assert sum(len(b) for b in bodies) + (len(bodies) - 1) == len(doc.text)  # cuts at single spaces


def test_unbreakable_text_is_still_bounded() -> None:
    doc = build([("paragraph", "x" * 5000, 0, None), ("code", "\n".join(["y" * 70] * 60), 0, None)])
    chunks = chunk_document(doc, target_chars=1000, max_chars=1800)
    check_invariants(doc, chunks, 1800)


def test_tiny_trailing_chunk_merges_into_previous() -> None:
    doc = build(
        [
            ("heading", "A", 1, None),
            para(8),
            ("paragraph", "Kurzer Nachsatz.", 0, None),
            ("heading", "B", 1, None),
            para(1),
        ]
    )
    chunks = chunk_document(doc)
    check_invariants(doc, chunks, 1800)
    assert len(chunks) == 2
    assert doc.text[chunks[0].start : chunks[0].end].endswith("Kurzer Nachsatz.")
    # not merged when the result would exceed max_chars
    chunks = chunk_document(doc, target_chars=800, max_chars=830)
    check_invariants(doc, chunks, 830)
    assert doc.text[chunks[1].start : chunks[1].end] == "Kurzer Nachsatz."


def test_nested_headings_without_text_share_a_chunk() -> None:
    doc = build(
        [
            ("heading", "Teil 1", 1, None),
            ("heading", "Kapitel 1.1", 2, None),
            para(2),
            ("heading", "Teil 2", 1, None),
            ("heading", "Teil 3", 1, None),
            para(1),
        ]
    )
    chunks = chunk_document(doc)
    check_invariants(doc, chunks, 1800)
    assert [c.heading_path for c in chunks] == [("Teil 1", "Kapitel 1.1"), ("Teil 2",), ("Teil 3",)]


def test_empty_document_and_bad_arguments() -> None:
    assert chunk_document(ExtractedDocument(text="", blocks=[])) == []
    doc = ExtractedDocument(text="  Nur Text ohne Blöcke. ", blocks=[])
    assert [(c.start, c.end) for c in chunk_document(doc)] == [(2, 23)]
    with pytest.raises(ValueError):
        chunk_document(doc, target_chars=2000, max_chars=1000)


def test_chunk_extracted_pdf(tmp_path: Path) -> None:
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    from rathaus.knowledge.extract import extract_file

    styles = getSampleStyleSheet()
    path = tmp_path / "s.pdf"
    story = [Paragraph("1 Allgemeines", styles["Heading1"])]
    story += [Paragraph(" ".join([SENTENCE] * 3), styles["BodyText"]) for _ in range(3)]
    story += [Paragraph("1.1 Geltungsbereich", styles["Heading2"]), Paragraph(SENTENCE, styles["BodyText"])]
    story += [PageBreak(), Paragraph("2 Gebühren", styles["Heading1"]), Paragraph(SENTENCE, styles["BodyText"])]
    SimpleDocTemplate(str(path)).build(story)
    doc = extract_file(path)
    assert [b.kind for b in doc.blocks].count("heading") == 3
    chunks = chunk_document(doc, target_chars=300, max_chars=500)
    check_invariants(doc, chunks, 500)
    expected_paths(doc, chunks)
    assert chunks[-1].page == 2 and chunks[-1].heading_path == ("2 Gebühren",)


WORDS = [
    "Antrag",
    "Gebühr",
    "Satzung",
    "Bürger",
    "Amt",
    "Frist",
    "Bescheid",
    "Stadt",
    "Verwaltung",
    "Termin",
    "Urkunde",
]


def random_doc(rng: random.Random) -> ExtractedDocument:
    blocks: list[tuple[BlockKind, str, int, int | None]] = []
    page = 1
    for _ in range(rng.randint(0, 40)):
        kind: BlockKind = rng.choice(["heading", "paragraph", "paragraph", "paragraph", "list_item", "table", "code"])
        if rng.random() < 0.2:
            page += 1
        if kind == "heading":
            text = " ".join(rng.choices(WORDS, k=rng.randint(1, 6)))
            level = rng.randint(1, 4)
        elif kind == "table":
            rows = rng.randint(1, 80)
            text = "\n".join(" | ".join(rng.choices(WORDS, k=rng.randint(1, 5))) for _ in range(rows))
            level = 0
        elif kind == "code":
            text = "\n".join(
                "  " + " ".join(rng.choices(WORDS, k=rng.randint(0, 8))) for _ in range(rng.randint(1, 40))
            )
            level = 0
        else:
            n = rng.choice([1, 3, 10, 30, 80])
            text = " ".join(
                " ".join(rng.choices(WORDS, k=rng.randint(2, 15))) + rng.choice([".", ".", "?", "!", ",", ""])
                for _ in range(n)
            )
            if rng.random() < 0.05:
                text = "".join(rng.choices("abcdefgh", k=rng.randint(1000, 4000)))  # no spaces at all
            level = rng.randint(1, 3) if kind == "list_item" else 0
        blocks.append((kind, text, level, page))
    return build(blocks, language=rng.choice(["de", "en", "uk", None]))


@pytest.mark.parametrize("seed", range(60))
def test_random_block_sequences(seed: int) -> None:
    rng = random.Random(seed)
    doc = random_doc(rng)
    target = rng.choice([200, 500, 1000])
    max_chars = int(target * rng.choice([1.0, 1.3, 1.8, 3.0]))
    chunks = chunk_document(doc, target_chars=target, max_chars=max_chars)
    check_invariants(doc, chunks, max_chars)
    expected_paths(doc, chunks)
    for chunk in chunks:
        first = next(b for b in doc.blocks if b.start <= chunk.start < b.end)
        assert chunk.page == first.page
        # a chunk with a heading inside starts with it (headings always start a chunk, or follow nested headings)
        for block in doc.blocks:
            if block.kind == "heading" and chunk.start < block.start < chunk.end:
                leading = [b for b in doc.blocks if chunk.start <= b.start < block.start]
                assert all(b.kind == "heading" for b in leading)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["heading", "paragraph", "list_item", "table"]),
            st.text(alphabet="abc .\n", min_size=1, max_size=400),
            st.integers(min_value=0, max_value=6),
        ),
        max_size=25,
    ),
    st.integers(min_value=50, max_value=400),
)
def test_hypothesis_blocks(blocks: list[tuple[BlockKind, str, int]], target: int) -> None:
    doc = build([(k, t, lvl, None) for k, t, lvl in blocks])
    chunks = chunk_document(doc, target_chars=target, max_chars=target * 2)
    check_invariants(doc, chunks, target * 2)
