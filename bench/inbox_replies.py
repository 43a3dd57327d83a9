"""Inbox reply drafts on real colloquial questions to official FAQ entries, and inbox throughput.

Replies. Data: ``official-faq-de`` (deepset COVID-QA, see its PROVENANCE.md): the 390 official FAQ entries are
ingested into one knowledge collection through the real ingestion path; the 118 colloquial dev questions, each with
the FAQ entry that answers it (gold), arrive as incoming messages (channel ``api``, subject "Anfrage", body = the
question) in the mailbox of the only department of a taxonomy made for this run, whose knowledge_collections is
that collection. Without a routing model the message goes to that department by its mailbox (processing.process,
nothing is routed by a model); then the inbox's real drafting path :func:`rathaus.inbox.drafts.create_draft` writes
a reply (rathaus.assistants.Answerer over the department's collection, quotes verified word for word). A draft is

* right source: at least one of its verified quotes comes from the gold entry,
* wrong source: it cites only other entries,
* abstained: no verified quote (the holding reply; a case worker writes the answer),

so the three add up to 1. Many entries are near-duplicates published by two bodies ("Wo kann ich erfahren, ob eine
Reise in ein betroffenes Land noch sicher ist?" / "Wo erfährt man, ob eine Reise in ein betroffenes Land ..."), so a
lenient figure is printed too: right source OR an entry whose official question shares at least half of its words
with the gold entry's (word Jaccard >= 0.5, set before any draft was scored, not tuned). Baseline in the same run:
plain search (rathaus.knowledge.search, top-1 hit) over the same question text – it always shows a passage, so its
"wrong" share is everything it does not get right. Nothing is tuned here: the answer thresholds were set on MLQA-de
(bench/answers.py); these questions are only reported.

Throughput: the sample routing model (src/rathaus/samples/inbox/past_requests.csv, shipped taxonomy) is trained,
then N messages (default 300, a seeded sample of the data set's colloquial and official questions, each wrapped
in a synthetic greeting and closing with a synthetic sender) are stored with intake.store_message and processed
one by one with processing.process (embedding, routing, data takeover, duplicate check; no drafts). Baseline in
the same run: intake only (store without processing) of the same texts under other ids.

    PYTHONPATH=src .venv/bin/python bench/inbox_replies.py [--data DIR] [--messages 300] [--seed 15]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, SHARED_DATA, machine, median, percentile, require, table, write_result
from rathaus.core.auth import Principal
from rathaus.core.settings import Settings
from rathaus.inbox import learning, processing
from rathaus.inbox.drafts import create_draft, question_of
from rathaus.inbox.intake import store_message
from rathaus.inbox.message import IncomingMessage
from rathaus.inbox.routing import read_training_csv
from rathaus.inbox.samples import SAMPLES
from rathaus.inbox.service import taxonomy as current_taxonomy
from rathaus.inbox.taxonomy import load_taxonomy
from rathaus.knowledge import collections, search
from rathaus.knowledge.ingest import Ingestor, sources_from_jsonl
from rathaus.runtime import Runtime

COLLECTION = "faq"
DEPARTMENT = "faq"
MAILBOX = "faq@musterstadt.example"
SUBJECT = "Anfrage"
NEAR_DUPLICATE_JACCARD = 0.5  # fixed beforehand: official questions sharing half their words are one entry
WORD = re.compile(r"\w+")
T = TypeVar("T")


def progress(items: Iterable[T], total: int, what: str) -> Iterator[T]:
    columns = (TextColumn(f"{what:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(what, total=total)
        for item in items:
            yield item
            bar.advance(task)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def near_duplicates(passages: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Entry id → ids of entries whose official question (title) has word Jaccard >= 0.5 with its own."""
    words = {p["id"]: set(WORD.findall(p["title"].casefold())) for p in passages}
    out: dict[str, set[str]] = {i: set() for i in words}
    for a, wa in words.items():
        for b, wb in words.items():
            if a < b and wa and wb and len(wa & wb) / len(wa | wb) >= NEAR_DUPLICATE_JACCARD:
                out[a].add(b)
                out[b].add(a)
    return out


def faq_taxonomy_file(folder: Path) -> Path:
    """One department receiving everything, its drafts grounded in the FAQ collection."""
    path = folder / "taxonomy-faq.yaml"
    path.write_text(yaml.safe_dump({
        "languages": ["de"],
        "urgency": [{"key": "normal", "label_de": "normal", "label_en": "normal"}],
        "departments": [{"key": DEPARTMENT, "name_de": "Bürgerservice", "name_en": "Citizen service",
                         "mailbox": MAILBOX, "knowledge_collections": [COLLECTION]}],
        "categories": [{"key": "faq", "label_de": "Frage", "label_en": "Question", "department": DEPARTMENT}],
    }, allow_unicode=True), encoding="utf-8")
    load_taxonomy(path)  # fail here, not in the middle of the run
    return path


def settings_for(work: Path, name: str, **extra: Any) -> Settings:
    return Settings(_env_file=None, data_dir=work, database_name=f"bench_{name}_{uuid.uuid4().hex[:6]}",
                    inbox_models_dir=work / f"models-{name}", **extra)


def replies(work: Path, passages_file: Path, questions: list[dict[str, Any]], titles: dict[str, str],
            siblings: dict[str, set[str]]) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
    figures: dict[str, Any] = {}
    settings = settings_for(work, "replies", inbox_taxonomy_file=faq_taxonomy_file(work))
    with Runtime(settings) as rt:
        editor = Principal(id="bench-editor", kind="user", department=DEPARTMENT, roles=frozenset({"admin"}))
        worker = Principal(id="bench-worker", kind="user", department=DEPARTMENT)
        with rt.db.session() as session:
            collections.create(session, editor, COLLECTION, embedding_model=rt.catalog.defaults.embedding)
        sources, problems = sources_from_jsonl(passages_file)
        t0 = time.perf_counter()
        report = Ingestor(rt, editor, COLLECTION).run(sources, failures=problems)
        figures["faq_ingest_s"] = time.perf_counter() - t0
        figures["faq_chunks"] = report.counts["chunks"]
        with rt.db.engine.connect() as conn:
            external = dict(conn.execute(sa.text("SELECT id, external_id FROM kb_documents")).all())
        rt.gateway.warm_up()
        tax = current_taxonomy(rt)

        ids: list[tuple[dict[str, Any], int]] = []
        for q in progress(questions, len(questions), "store + route (mailbox)"):
            stored = store_message(rt, IncomingMessage(channel="api", external_id=q["id"], subject=SUBJECT,
                                                       body=q["question"], mailbox=MAILBOX))
            outcome = processing.process(rt, stored.id)
            if outcome.get("department") != DEPARTMENT:
                raise SystemExit(f"bench: message {q['id']} not in department {DEPARTMENT!r}: {outcome}")
            ids.append((q, stored.id))

        right = wrong = abstained = all_gold = base_right = base_rescored = base_top3 = 0
        lenient = base_lenient = 0
        seconds: list[float] = []
        examples: list[tuple[str, ...]] = []
        for q, message_id in progress(ids, len(ids), "drafts"):
            t = time.perf_counter()
            draft = create_draft(rt, worker, message_id, tax)
            seconds.append(time.perf_counter() - t)
            text = question_of(SUBJECT, q["question"])
            top = search(rt, worker, text, collection_names=[COLLECTION], k=3).hits
            gold = {q["passage_id"], *siblings.get(q["passage_id"], ())}
            base_right += bool(top) and top[0].external_id == q["passage_id"]
            base_lenient += bool(top) and top[0].external_id in gold
            base_top3 += any(h.external_id == q["passage_id"] for h in top)
            rescored = search(rt, worker, text, collection_names=[COLLECTION], k=1, rescore=True).hits
            base_rescored += bool(rescored) and rescored[0].external_id == q["passage_id"]
            cited = [external.get(s["document_id"]) for s in draft["sources"]]
            if draft["abstained"] or not cited:
                abstained += 1
            elif q["passage_id"] in cited:
                right += 1
                lenient += 1
                all_gold += all(c == q["passage_id"] for c in cited)
            else:
                wrong += 1
                lenient += any(c in gold for c in cited)
                examples.append((q["question"], titles.get(q["passage_id"], "?"),
                                 " | ".join(titles.get(c or "", "?") for c in dict.fromkeys(cited))))
        n = len(ids)
        figures.update({
            "draft_questions": n, "draft_right_source_share": right / n, "draft_wrong_source_share": wrong / n,
            "draft_abstain_rate": abstained / n, "draft_only_gold_quotes_share": all_gold / n,
            "draft_right_source_share_answered": right / max(1, n - abstained),
            "draft_seconds_p50": median(seconds), "draft_seconds_p95": percentile(seconds, 0.95),
            "search_top1_right_source_share": base_right / n,
            "search_rescored_top1_right_source_share": base_rescored / n,
            "search_top3_right_source_share": base_top3 / n,
            "draft_right_or_near_duplicate_share": lenient / n,
            "search_top1_right_or_near_duplicate_share": base_lenient / n,
            "gold_entries_with_near_duplicates": sum(1 for q in questions if siblings.get(q["passage_id"])),
        })
    return figures, examples


def throughput_texts(questions: list[dict[str, Any]], pairs_file: Path, passages: list[dict[str, Any]], n: int,
                     seed: int) -> list[str]:
    import csv

    with pairs_file.open(encoding="utf-8") as f:
        colloquial = [r["question_2"].strip() for r in csv.DictReader(f)]
    pool = sorted({*(q["question"] for q in questions), *colloquial, *(p["title"] for p in passages)} - {""})
    random.Random(seed).shuffle(pool)
    return (pool * (n // len(pool) + 1))[:n]


def message(i: int, text: str, prefix: str) -> IncomingMessage:
    body = f"Sehr geehrte Damen und Herren,\n\n{text}\n\nMit freundlichen Grüßen\nErika Beispiel-{i}"
    return IncomingMessage(channel="api", external_id=f"{prefix}-{i}", subject=SUBJECT, body=body,
                           sender_name=f"Erika Beispiel-{i}", sender_address=f"buerger{i}@example.org")


def throughput(work: Path, texts: list[str]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with Runtime(settings_for(work, "throughput")) as rt:
        tax = current_taxonomy(rt)
        rows, _ = read_training_csv(SAMPLES / "past_requests.csv", tax)
        learning.store_examples(runtime=rt, rows=rows, source="sample:past_requests.csv")
        t0 = time.perf_counter()
        learning.train_current(rt, tax)
        figures["routing_train_s"] = time.perf_counter() - t0
        figures["routing_train_examples"] = len(rows)
        warm = store_message(rt, message(0, "Wann ist das Bürgerbüro geöffnet?", "warm"))
        processing.process(rt, warm.id)  # loads the routing model and the embedder; not timed

        t0 = time.perf_counter()
        for i, text in progress(enumerate(texts), len(texts), "baseline: intake only"):
            store_message(rt, message(i, text, "base"))
        intake_only_s = time.perf_counter() - t0

        intake_ms: list[float] = []
        process_ms: list[float] = []
        statuses: dict[str, int] = {}
        t0 = time.perf_counter()
        for i, text in progress(enumerate(texts), len(texts), "intake + processing"):
            t = time.perf_counter()
            stored = store_message(rt, message(i, text, "msg"))
            t1 = time.perf_counter()
            outcome = processing.process(rt, stored.id)
            t2 = time.perf_counter()
            intake_ms.append((t1 - t) * 1000)
            process_ms.append((t2 - t1) * 1000)
            statuses[outcome.get("status", "?")] = statuses.get(outcome.get("status", "?"), 0) + 1
        pipeline_s = time.perf_counter() - t0
    n = len(texts)
    figures.update({
        "throughput_messages": n, "messages_per_s": n / pipeline_s, "intake_only_messages_per_s": n / intake_only_s,
        "intake_ms_per_message": sum(intake_ms) / n, "processing_ms_p50": percentile(process_ms, 0.5),
        "processing_ms_p95": percentile(process_ms, 0.95), "processing_ms_mean": sum(process_ms) / n,
        "throughput_statuses": statuses,
    })
    figures["pipeline_vs_intake_only"] = figures["messages_per_s"] / figures["intake_only_messages_per_s"]
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA, help="folder holding official-faq-de/")
    ap.add_argument("--messages", type=int, default=300, help="messages for the throughput part")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--questions", type=int, default=0, help="only the first N questions (smoke runs; 0: all)")
    ap.add_argument("--show-wrong", type=int, default=12, help="print this many drafts citing a wrong source")
    ap.add_argument("--no-write", action="store_true", help="print only, write no result files (smoke runs)")
    args = ap.parse_args()
    data = require(args.data / "official-faq-de", "official-faq-de")
    passages_file = require(data / "passages.jsonl", "official-faq-de/passages.jsonl")
    questions = read_jsonl(require(data / "questions_dev.jsonl", "official-faq-de/questions_dev.jsonl"))
    pairs_file = require(data / "paraphrase_pairs_dev.csv", "official-faq-de/paraphrase_pairs_dev.csv")
    passages = read_jsonl(passages_file)
    titles = {p["id"]: p["title"] for p in passages}
    siblings = near_duplicates(passages)
    if args.questions:
        questions = questions[: args.questions]

    work = Path(tempfile.mkdtemp(prefix="rathaus-bench-inbox-"))
    started = time.perf_counter()
    figures, wrong_examples = replies(work, passages_file, questions, titles, siblings)
    figures.update(throughput(work, throughput_texts(questions, pairs_file, passages, args.messages, args.seed)))
    figures.update({"split": "dev questions only (questions_dev.jsonl), all of them; nothing tuned on them",
                    "seed": args.seed, "run_s": time.perf_counter() - started,
                    **{f"machine_{k}": v for k, v in machine().items()}})

    n = figures["draft_questions"]
    print(f"\nReplies: {n} colloquial dev questions, {len(passages)} official FAQ entries "
          f"({figures['faq_chunks']} chunks)")
    base = figures["search_top1_right_source_share"]

    def ratio(x: float) -> str:
        return f"{x / base:.2f}" if base else "–"

    print(table([
        ("plain search, top-1 hit (baseline)", f"{base:.1%}", "0.0%", f"{1 - base:.1%}", "1.00", ""),
        ("search as the draft uses it (re-scored), top-1", f"{figures['search_rescored_top1_right_source_share']:.1%}",
         "0.0%", f"{1 - figures['search_rescored_top1_right_source_share']:.1%}",
         ratio(figures["search_rescored_top1_right_source_share"]), ""),
        ("inbox draft (create_draft)", f"{figures['draft_right_source_share']:.1%}",
         f"{figures['draft_abstain_rate']:.1%}", f"{figures['draft_wrong_source_share']:.1%}",
         ratio(figures["draft_right_source_share"]),
         f"{figures['draft_seconds_p50']:.2f} / {figures['draft_seconds_p95']:.2f}"),
    ], ("system", "right source", "abstained", "wrong source", "right vs baseline", "s/draft p50 / p95")))
    print(f"search top-3 contains the gold entry: {figures['search_top3_right_source_share']:.1%}; drafts citing "
          f"only the gold entry: {figures['draft_only_gold_quotes_share']:.1%}; right among answered drafts: "
          f"{figures['draft_right_source_share_answered']:.1%}")
    print(f"right or a near-duplicate of the gold entry (title word Jaccard >= {NEAR_DUPLICATE_JACCARD}; "
          f"{figures['gold_entries_with_near_duplicates']} of {n} questions have such an entry): draft "
          f"{figures['draft_right_or_near_duplicate_share']:.1%}, plain search top-1 "
          f"{figures['search_top1_right_or_near_duplicate_share']:.1%}")
    for question, gold, cited in wrong_examples[: args.show_wrong]:
        print(f"  wrong source: {question!r}\n      gold: {gold!r}\n      cited: {cited!r}")
    print(f"\nThroughput: {figures['throughput_messages']} messages, 2 shared cores")
    print(table([
        ("intake only (baseline)", f"{figures['intake_only_messages_per_s']:.1f}", "1.00", "", ""),
        ("intake + routing + extraction + duplicates", f"{figures['messages_per_s']:.1f}",
         f"{figures['pipeline_vs_intake_only']:.2f}", f"{figures['intake_ms_per_message']:.1f}",
         f"{figures['processing_ms_p50']:.1f} / {figures['processing_ms_p95']:.1f}"),
    ], ("path", "messages/s", "vs intake only", "intake ms/msg", "processing ms p50 / p95")))
    print(f"routing outcomes: {figures['throughput_statuses']}; run took {figures['run_s']:.0f} s")

    if args.no_write:
        return
    write_result("inbox_replies", {k: v for k, v in figures.items() if not isinstance(v, dict)}
                 | {f"throughput_status_{k}": v for k, v in figures["throughput_statuses"].items()})
    merged_path = RESULTS / "inbox.json"
    merged = json.loads(merged_path.read_text()) if merged_path.exists() else {}
    for key in ("draft_right_source_share", "draft_abstain_rate", "draft_wrong_source_share", "draft_seconds_p50",
                "draft_seconds_p95", "search_top1_right_source_share", "messages_per_s",
                "intake_only_messages_per_s", "intake_ms_per_message", "processing_ms_p50", "processing_ms_p95"):
        merged[key] = round(float(figures[key]), 6)
    merged_path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    print("written: bench/results/inbox_replies.json, keys merged into bench/results/inbox.json")


if __name__ == "__main__":
    main()
