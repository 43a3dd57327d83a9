"""Citizen answers on the official FAQ (official-faq-de, issue 17): right entry, wrong entry or abstention.

    .venv/bin/python bench/answers_faq.py [--data DIR] [--limit N] [--off-topic 100] [--max-wrong 0.05]
                                          [--embedder multilingual-e5-small] [--out answers_faq_e5]

The 390 FAQ entries are ingested as in bench/retrieval_faq.py (same helper, same collection); its 118
colloquial questions are split into the same halves (seed 17). A citizen assistant over the collection
(real embedded models, quote-first answers) answers each question: **right** = shown with a verified
quote from the question's own entry, **wrong** = shown with quotes from other entries only, or
**abstained**. Off-topic utterances (MASSIVE-de) should be turned away.

* The answer thresholds (``min_similarity`` for the passages, ``min_evidence_similarity`` for the best
  sentence) are calibrated with ``rathaus.assistants.calibrate`` on the **tune** half and MASSIVE-de
  **dev** utterances: the most right answers with at most ``--max-wrong`` wrong ones, and at least the
  off-topic abstention of the shipped thresholds. This is done for both passage rankings an assistant
  can use (``rescore``: exact cosine + BM25 of the text, the default; ``fused``: the hybrid's fused ranks
  with the title lists); the one with more right answers on the tune half gives the headline figures.
* Reported on the **report** half and MASSIVE-de **test** utterances, with the real Answerer end to end.
* Baselines in the same run, on the same questions: the shipped thresholds, and a plain search that shows
  its top hit as the answer (never abstains). Also predicted from one gates-open pass per question:
  right/wrong shares on the report half at looser limits on wrong answers (the trade-off).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, ingest_jsonl, machine, percentile, require, table, write_result
from rathaus.assistants.answer import MIN_EVIDENCE_SIMILARITY, MIN_PASSAGE_SIMILARITY, Answerer
from rathaus.assistants.calibrate import calibrate, collect, measure
from rathaus.assistants.definitions import Assistant
from rathaus.core.auth import local_principal
from rathaus.core.settings import Settings
from rathaus.knowledge import search
from rathaus.knowledge.access import ANONYMOUS
from rathaus.runtime import Runtime
from retrieval_faq import SEED, split

TRADE_OFF = (0.05, 0.10, 0.20, 1.0)  # limits on wrong answers, calibrated on tune, predicted on report


def off_topic(path: Path, n: int) -> list[dict[str, Any]]:
    """``n`` utterances of a MASSIVE-de split, sampled with the fixed seed (the file is grouped by scenario)."""
    lines = [x.split("\t")[0] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [{"question": text} for text in random.Random(SEED).sample(lines, min(n, len(lines)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--limit", type=int, default=None, help="only N questions per half (quick runs)")
    ap.add_argument("--off-topic", type=int, default=100, help="MASSIVE-de utterances per split")
    ap.add_argument("--max-wrong", type=float, default=0.05)
    ap.add_argument("--out", default="answers_faq", help="results file name in bench/results (without .json)")
    ap.add_argument("--embedder", default=None,
                    help="the collection's embedding model (default: the catalogue's default; e.g. "
                         "multilingual-e5-small, as bench/retrieval_faq.py's e5 collection)")
    args = ap.parse_args()
    faq = require(args.data / "official-faq-de", "official-faq-de")
    passages_file = require(faq / "passages.jsonl", "passages.jsonl")
    questions = [json.loads(x) for x in require(faq / "questions_dev.jsonl", "questions_dev.jsonl")
                 .read_text(encoding="utf-8").splitlines() if x.strip()]
    halves = {h: qs[: args.limit] for h, qs in split(questions).items()}
    n_off = min(args.off_topic, args.limit) if args.limit else args.off_topic
    massive = {s: off_topic(require(args.data / "massive-de" / f"{s}.tsv", f"MASSIVE-de {s}.tsv"), n_off)
               for s in ("dev", "test")}
    figures: dict[str, Any] = {"split_seed": SEED, "tune_questions": len(halves["tune"]),
                               "report_questions": len(halves["report"]), "off_topic_dev": len(massive["dev"]),
                               "off_topic_test": len(massive["test"]), "max_wrong": args.max_wrong, **machine()}

    work = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    settings = Settings(_env_file=None, data_dir=work, database_name="bench_" + uuid.uuid4().hex[:6])
    with Runtime(settings) as rt:
        principal = local_principal(settings)
        figures["embedder"] = args.embedder or rt.catalog.defaults.embedding
        figures["ingest_s"], figures["chunks"] = ingest_jsonl(rt, principal, "faq", passages_file,
                                                              embedding_model=args.embedder)
        with rt.db.engine.connect() as conn:
            entry = {r[0]: r[1] for r in conn.execute(sa.text("SELECT id, external_id FROM kb_documents"))}
        rt.gateway.warm_up()
        shipped = Assistant(
            name="faq", title={"de": "Corona-FAQ"}, persona="Du beantwortest Fragen von Bürgerinnen und Bürgern.",
            collections=["faq"], department="Benchmark", languages=["de", "en"],
            contacts=[{"label": {"de": "Bürgertelefon"}, "phone": "115"}])

        # 1. one gates-open pass per question and ranking: what the assistant would cite, and how similar
        variants = {"rescore": shipped, "fused": shipped.model_copy(update={"rescore": False})}
        t0 = time.perf_counter()
        signals = {(v, part): collect(rt, a, items) for v, a in variants.items()
                   for part, items in (*halves.items(), *massive.items())}
        figures["signals_s_per_question"] = (time.perf_counter() - t0) / sum(len(x) for x in signals.values())

        # 2. calibration on tune + MASSIVE dev: at most --max-wrong, at least the shipped off-topic abstention;
        #    the ranking (rescore, the shipped one, or the hybrid's fused ranks) is chosen on tune too
        base = measure(signals["rescore", "tune"], signals["rescore", "dev"], MIN_PASSAGE_SIMILARITY,
                       MIN_EVIDENCE_SIMILARITY)
        floor = base.off_topic_abstention_rate or 0.0
        cals = {v: calibrate(signals[v, "tune"], signals[v, "dev"], max_wrong=args.max_wrong,
                             min_off_topic_abstention=floor) for v in variants}
        chosen = max(variants, key=lambda v: (cals[v].outcomes.right_share, -cals[v].outcomes.wrong_share))
        figures.update(shipped_min_similarity=MIN_PASSAGE_SIMILARITY,
                       shipped_min_evidence_similarity=MIN_EVIDENCE_SIMILARITY, ranking=chosen,
                       min_similarity=cals[chosen].min_similarity,
                       min_evidence_similarity=cals[chosen].min_evidence_similarity,
                       tune_shipped_right_entry_share=base.right_share,
                       tune_shipped_wrong_entry_share=base.wrong_share)
        trade = []
        for v, cal in cals.items():
            figures.update({f"{v}_min_similarity": cal.min_similarity,
                            f"{v}_min_evidence_similarity": cal.min_evidence_similarity,
                            f"{v}_tune_right_entry_share": cal.outcomes.right_share,
                            f"{v}_tune_wrong_entry_share": cal.outcomes.wrong_share,
                            f"{v}_tune_abstention_rate": cal.outcomes.abstention_rate,
                            f"{v}_tune_off_topic_abstention_rate": cal.outcomes.off_topic_abstention_rate,
                            # the ceiling: right entry among the quotes with every gate open
                            f"{v}_report_cited_ceiling": sum(s.gold in s.cited for s in signals[v, "report"])
                            / len(signals[v, "report"])})
            print(f"{v}: calibrated on tune ({len(halves['tune'])}) + MASSIVE dev ({len(massive['dev'])}): "
                  f"min_similarity {cal.min_similarity}, min_evidence_similarity {cal.min_evidence_similarity}, "
                  f"tune right {cal.outcomes.right_share:.0%} / wrong {cal.outcomes.wrong_share:.0%}")
            for limit in TRADE_OFF:
                c = calibrate(signals[v, "tune"], signals[v, "dev"], max_wrong=limit, min_off_topic_abstention=floor)
                r = measure(signals[v, "report"], signals[v, "test"], c.min_similarity, c.min_evidence_similarity)
                key = f"{v}_predicted_max_wrong_{round(limit * 100)}"
                figures.update({f"{key}_right_entry_share": r.right_share, f"{key}_wrong_entry_share": r.wrong_share,
                                f"{key}_off_topic_abstention_rate": r.off_topic_abstention_rate})
                trade.append((v, f"<= {limit:.0%}", f"{c.min_similarity:g} / {c.min_evidence_similarity:g}",
                              f"{c.outcomes.right_share:.0%} / {c.outcomes.wrong_share:.0%}",
                              f"{r.right_share:.0%} / {r.wrong_share:.0%}", f"{r.off_topic_abstention_rate:.0%}"))
        figures.update({k.removeprefix(f"{chosen}_"): v for k, v in list(figures.items())
                        if k.startswith(f"{chosen}_tune_") or k == f"{chosen}_report_cited_ceiling"})

        # 3. the report half and MASSIVE test, end to end: shipped vs calibrated thresholds, top-1 search
        runs = [("shipped_", "shipped thresholds", shipped)]
        for v in variants:
            runs.append((f"{v}_", f"calibrated, {v} ranking", variants[v].model_copy(update={
                "min_similarity": cals[v].min_similarity, "min_evidence_similarity": cals[v].min_evidence_similarity})))
        rows = []
        for key, label, assistant in runs:
            counts = {"right": 0, "wrong": 0, "abstained": 0, "first": 0}
            seconds = []
            for q in halves["report"]:
                t = time.perf_counter()
                answer = Answerer(rt, assistant, channel="bench").answer(q["question"])
                seconds.append(time.perf_counter() - t)
                cited = [entry.get(c.document_id) for c in answer.citations if c.verified]
                if answer.abstained or not cited:
                    counts["abstained"] += 1
                else:
                    counts["right" if q["passage_id"] in cited else "wrong"] += 1
                    counts["first"] += cited[0] == q["passage_id"]
            turned_away = sum(Answerer(rt, assistant, channel="bench").answer(x["question"]).abstained
                              for x in massive["test"])
            n = len(halves["report"])
            values = {"right_entry_share": counts["right"] / n, "wrong_entry_share": counts["wrong"] / n,
                      "abstention_rate": counts["abstained"] / n, "right_entry_first_share": counts["first"] / n,
                      "off_topic_abstention_rate": turned_away / len(massive["test"]),
                      "seconds_per_answer_p50": percentile(seconds, 0.5),
                      "seconds_per_answer_p95": percentile(seconds, 0.95)}
            figures.update({f"{key}{k}": v for k, v in values.items()})
            if key == f"{chosen}_":  # the headline figures: the ranking and thresholds chosen on tune
                figures.update(values)
            rows.append((f"assistant, {label}{' (chosen on tune)' if key == f'{chosen}_' else ''}",
                         f"{counts['right'] / n:.0%} ({counts['first'] / n:.0%})", f"{counts['wrong'] / n:.0%}",
                         f"{counts['abstained'] / n:.0%}", f"{turned_away / len(massive['test']):.0%}",
                         f"{percentile(seconds, 0.5):.2f} / {percentile(seconds, 0.95):.2f}"))
        top1_right = 0
        for q in halves["report"]:
            hits = search(rt, ANONYMOUS, q["question"], collection_names=["faq"], k=1).hits
            top1_right += bool(hits) and hits[0].external_id == q["passage_id"]
        n = len(halves["report"])
        figures.update(top1_right_entry_share=top1_right / n, top1_wrong_entry_share=1 - top1_right / n,
                       top1_abstention_rate=0.0, top1_off_topic_abstention_rate=0.0)
        rows.append(("plain search, top hit shown (baseline)", f"{top1_right / n:.0%}", f"{1 - top1_right / n:.0%}",
                     "0%", "0%", ""))
    print(f"\nreport half ({n} questions, seed {SEED}) and MASSIVE-de test ({len(massive['test'])} utterances):")
    print(table(rows, ("system", "right entry (shown quote)", "wrong entry", "abstained", "off-topic abstained",
                       "s p50 / p95")))
    print("right entry among the quotes with every gate open (ceiling): "
          + ", ".join(f"{v} {figures[f'{v}_report_cited_ceiling']:.0%}" for v in ("rescore", "fused")))
    print("\ntrade-off: calibrated on tune + MASSIVE dev, predicted on report + MASSIVE test")
    print(table(trade, ("ranking", "wrong at most", "thresholds", "tune right / wrong", "report right / wrong",
                        "off-topic abstained")))
    print(f"written: {write_result(args.out, figures)}")


if __name__ == "__main__":
    main()
