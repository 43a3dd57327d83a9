"""Citizens' words against the authority's: a colloquial question finds the FAQ entry whose title (the
question the entry answers) means the same, through the title as a search field of its own (issue 17).
Real embedded PostgreSQL and the real embedder; the entries are written for this test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from rathaus.core.auth import Principal
from rathaus.core.errors import BadRequest
from rathaus.knowledge import collections, embedders, search
from rathaus.knowledge.ingest import Ingestor, sources_from_jsonl
from rathaus.runtime import Runtime

ADMIN = Principal(id="admin", kind="user", department="IT", roles=frozenset({"admin"}))

# Official question → official answer. The answers share their vocabulary (fee, appointment, documents),
# as an authority's FAQ does; what tells them apart is the question each answers.
FAQ = [
    ("anwohnerparken", "Wie beantrage ich einen Anwohnerparkausweis?",
     "Den Antrag stellen Sie online oder im Bürgerbüro. Mitzubringen sind der Personalausweis und der "
     "Fahrzeugschein. Die Gebühr beträgt 30 Euro pro Jahr."),
    ("trauung", "Was kostet die Eheschließung im Standesamt?",
     "Die Gebühr beträgt 80 Euro; außerhalb der Öffnungszeiten kommen 100 Euro hinzu. Den Termin vereinbaren "
     "Sie online."),
    ("ummeldung", "Wie melde ich meinen Wohnsitz um?",
     "Sie haben dafür zwei Wochen Zeit. Bringen Sie den Personalausweis und die Bestätigung des Vermieters zum "
     "Termin im Bürgerbüro mit."),
    ("angelschein", "Wo bekomme ich einen Fischereischein?",
     "Nach bestandener Prüfung stellt das Ordnungsamt den Schein gegen eine Gebühr von 25 Euro aus. Bringen Sie "
     "ein Passbild mit."),
    ("biotonne", "Wann wird die Biotonne geleert?",
     "Im Sommer wöchentlich, im Winter alle zwei Wochen. Die Termine stehen im Abfallkalender."),
]


@pytest.fixture
def faq(runtime: Runtime, tmp_path: Path) -> Runtime:
    records = tmp_path / "faq.jsonl"
    lines = [json.dumps({"id": i, "title": t, "text": a}, ensure_ascii=False) for i, t, a in FAQ]
    lines.append(json.dumps({"id": "ohne-titel", "text": "Das Fundbüro ist montags bis freitags geöffnet."}))
    records.write_text("\n".join(lines), encoding="utf-8")
    with runtime.db.session() as s:
        collections.create(s, ADMIN, "faq", embedding_model=runtime.catalog.defaults.embedding)
    sources, problems = sources_from_jsonl(records)
    report = Ingestor(runtime, ADMIN, "faq").run(sources, failures=problems)
    assert report.counts["added"] == len(FAQ) + 1
    return runtime


@pytest.mark.parametrize(("question", "entry"), [
    ("Wo krieg ich eine Parkerlaubnis für meine Straße?", "anwohnerparken"),
    ("Was zahlt man fürs Heiraten?", "trauung"),
    ("Ich bin umgezogen, was muss ich beim Amt machen?", "ummeldung"),
    ("Ich will angeln gehen, wo gibt es die Erlaubnis?", "angelschein"),
    ("Wann holen die den Biomüll ab?", "biotonne"),
])
def test_a_colloquial_question_finds_the_entry_whose_title_it_paraphrases(faq: Runtime, question: str,
                                                                            entry: str) -> None:
    hits = search(faq, ADMIN, question, collection_names=["faq"], k=3).hits
    assert hits[0].external_id == entry, [h.external_id for h in hits]
    assert hits[0].ranks.get("context_vector") == 1  # found through the question the entry answers


def test_the_title_is_stored_as_its_own_field_and_a_record_without_title_has_none(faq: Runtime) -> None:
    with faq.db.engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(sa.text(
            "SELECT d.external_id, d.title, c.context, c.context_embedding IS NOT NULL AS has_vector, "
            "c.context_tsv::text AS tsv FROM kb_chunks c JOIN kb_documents d ON d.id = c.document_id"))}
    assert rows["biotonne"].context == "Wann wird die Biotonne geleert?" and rows["biotonne"].has_vector
    assert "'biotonn'" in rows["biotonne"].tsv  # German lexemes of the title, searched apart from the body
    assert rows["ohne-titel"].context == "" and not rows["ohne-titel"].has_vector
    assert rows["ohne-titel"].title == "ohne-titel"  # shown by its id, but the id is not what it answers


def test_body_only_weights_leave_the_title_lists_out_of_the_ranking(faq: Runtime) -> None:
    body_only = {"fts": 1.0, "vector": 1.0, "context_vector": 0.0, "context_fts": 0.0}
    question = "Was zahlt man fürs Heiraten?"
    shipped = search(faq, ADMIN, question, collection_names=["faq"], k=6).hits
    plain = search(faq, ADMIN, question, collection_names=["faq"], k=6, weights=body_only).hits
    assert shipped[0].external_id == "trauung"
    expected = sum(1 / (60 + r) for name, r in plain[0].ranks.items() if name in ("fts", "vector"))
    assert plain[0].score == pytest.approx(expected)  # the context lists' ranks carry no weight


# --- an embedder per collection -------------------------------------------------------------------------------
def _ingest(runtime: Runtime, name: str, tmp_path: Path, embedding_model: str) -> None:
    records = tmp_path / f"{name}.jsonl"
    records.write_text("\n".join(json.dumps({"id": i, "title": t, "text": a}, ensure_ascii=False)
                                 for i, t, a in FAQ), encoding="utf-8")
    with runtime.db.session() as s:
        collections.create(s, ADMIN, name, embedding_model=embedders.check_embedder(runtime, embedding_model))
    sources, problems = sources_from_jsonl(records)
    assert Ingestor(runtime, ADMIN, name).run(sources, failures=problems).counts["added"] == len(FAQ)


def test_a_collection_keeps_its_own_embedder_and_questions_are_embedded_with_it(faq: Runtime,
                                                                                  tmp_path: Path) -> None:
    _ingest(faq, "faq-e5", tmp_path, "local-e5")
    with faq.db.engine.connect() as conn:
        model, dims, tail = conn.execute(sa.text(
            "SELECT k.embedding_model, vector_dims(c.embedding), (c.embedding::real[])[385:512] "
            "FROM kb_chunks c JOIN kb_collections k ON k.id = c.collection_id WHERE k.name = 'faq-e5' LIMIT 1")).one()
    assert model == "local-e5" and dims == 512 and set(tail) == {0.0}  # 384 numbers, zero-padded
    for question, entry in [("Was zahlt man fürs Heiraten?", "trauung"),
                            ("Wann holen die den Biomüll ab?", "biotonne")]:
        hits = search(faq, ADMIN, question, collection_names=["faq-e5"], k=3, mode="vector").hits
        assert hits[0].external_id == entry and hits[0].vector_score is not None and hits[0].vector_score > 0.8
    # both collections at once: each is searched with its own question vector, both answer, metering adds up
    faq.gateway.queries.clear()  # the questions above are cached (no model call, nothing metered)
    one = search(faq, ADMIN, "Was zahlt man fürs Heiraten?", collection_names=["faq"], k=10)
    faq.gateway.queries.clear()
    both = search(faq, ADMIN, "Was zahlt man fürs Heiraten?", collection_names=["faq", "faq-e5"], k=10)
    assert {h.collection for h in both.hits[:2]} == {"faq", "faq-e5"}
    assert {h.external_id for h in both.hits[:2]} == {"trauung"}
    assert one.embedding_metrics and both.embedding_metrics
    assert both.embedding_metrics["prompt_tokens"] > one.embedding_metrics["prompt_tokens"]


def test_an_unusable_embedder_is_refused_with_its_reason_and_nothing_is_created(runtime: Runtime) -> None:
    cases = {"no-such-model": "no embedding model named 'no-such-model'",
             "local-chat": "is a chat model, not an embedding model"}
    for name, reason in cases.items():
        with pytest.raises(BadRequest, match=reason):
            embedders.check_embedder(runtime, name)
    assert embedders.check_embedder(runtime, None) == runtime.catalog.defaults.embedding
    assert embedders.fitted([[1.0, 2.0]])[0][:3] == [1.0, 2.0, 0.0]
    with pytest.raises(BadRequest, match="at most 512"):
        embedders.fitted([[0.1] * 513])


def test_fusion_weights_follow_the_embedder_only_when_it_is_the_only_one() -> None:
    from rathaus.knowledge.search import FUSION_WEIGHTS, FUSION_WEIGHTS_BY_EMBEDDER, fusion_weights

    e5 = FUSION_WEIGHTS_BY_EMBEDDER["multilingual-e5-small"]
    assert fusion_weights(["multilingual-e5-small"]) == e5 and e5["vector"] > FUSION_WEIGHTS["vector"]
    assert fusion_weights(["multilingual-use"]) == FUSION_WEIGHTS
    assert fusion_weights(["multilingual-e5-small", "multilingual-use"]) == FUSION_WEIGHTS
