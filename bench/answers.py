"""Answers with verified quotes on MLQA-de with the embedded model, next to a plain-search baseline.

* 50 German dev questions (gold answers known) and the 15 hand-translated English ones (bench/embedders.py):
  share of answers shown with verified quotes, abstentions, answers containing a gold answer string,
  answer language, latency.
* 50 off-topic utterances (MASSIVE-de, a voice-assistant domain): how often the assistant rightly abstains.
* Baseline in the same run: a plain search that shows the top passage for every question (never abstains,
  nothing verified).

    .venv/bin/python bench/answers.py [--data DIR] [--questions 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import unicodedata
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, machine, median, percentile, require, table, write_result
from embedders import EN_QUESTIONS
from rathaus.assistants.answer import Answerer
from rathaus.assistants.definitions import Assistant
from rathaus.core.auth import local_principal
from rathaus.core.settings import Settings
from rathaus.knowledge import collections, search
from rathaus.knowledge.access import ANONYMOUS
from rathaus.knowledge.ingest import Ingestor, sources_from_jsonl
from rathaus.runtime import Runtime


def norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def contains_gold(text: str, gold: list[str]) -> bool:
    return any(norm(g) in norm(text) for g in gold if g)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--questions", type=int, default=50)
    args = ap.parse_args()
    mlqa = require(args.data / "mlqa-de", "MLQA-de")
    massive = require(args.data / "massive-de" / "dev.tsv", "MASSIVE-de dev.tsv")
    questions = [json.loads(x) for x in (mlqa / "questions_dev.jsonl").read_text(encoding="utf-8").splitlines()
                 if x.strip()]
    by_id = {q["id"]: q for q in questions}
    german = questions[: args.questions]
    english = [{**by_id[i], "question": text} for i, text in EN_QUESTIONS.items() if i in by_id]
    off_topic = [line.split("\t")[0] for line in massive.read_text(encoding="utf-8").splitlines()[:50]]

    work = Path(tempfile.mkdtemp(prefix="rathaus-bench-"))
    settings = Settings(_env_file=None, data_dir=work, database_name="bench_" + uuid.uuid4().hex[:6])
    figures: dict[str, object] = {"german_questions": len(german), "english_questions": len(english),
                                  "off_topic": len(off_topic), **machine()}
    with Runtime(settings) as rt:
        principal = local_principal(settings)
        with rt.db.session() as session:
            collections.create(session, principal, "mlqa", embedding_model=rt.catalog.defaults.embedding)
        sources, problems = sources_from_jsonl(mlqa / "passages.jsonl")
        Ingestor(rt, principal, "mlqa").run(sources, failures=problems)
        rt.gateway.warm_up()
        assistant = Assistant(
            name="mlqa", title={"de": "MLQA"}, persona="Du beantwortest Fragen zu Wikipedia-Artikeln.",
            collections=["mlqa"], department="Benchmark", languages=["de", "en"],
            contacts=[{"label": {"de": "Kontakt"}, "phone": "115"}])
        rows = []
        for label, items in (("de", german), ("en", english)):
            shown = abstained = gold = base_gold = right_lang = translated = 0
            seconds = []
            for q in items:
                t0 = time.perf_counter()
                answer = Answerer(rt, assistant, channel="bench").answer(q["question"])
                seconds.append(time.perf_counter() - t0)
                top = search(rt, ANONYMOUS, q["question"], collection_names=["mlqa"], k=1).hits
                base_gold += bool(top and contains_gold(top[0].text, q["answers"]))
                right_lang += answer.language == label
                if answer.abstained:
                    abstained += 1
                    continue
                shown += all(c.verified for c in answer.citations) and bool(answer.citations)
                translated += answer.phrasing == "translate"
                gold += contains_gold(answer.text + " " + " ".join(c.quote for c in answer.citations), q["answers"])
            n = len(items)
            figures.update({f"{label}_verified_share": shown / n, f"{label}_abstention_rate": abstained / n,
                            f"{label}_gold_share": gold / n,
                            f"{label}_gold_share_answered": gold / max(1, n - abstained),
                            f"{label}_baseline_gold_share": base_gold / n, f"{label}_language_correct": right_lang / n,
                            f"{label}_translated_share": translated / n, f"{label}_p50_s": median(seconds),
                            f"{label}_p95_s": percentile(seconds, 0.95)})
            rows.append((f"{label}: rathaus assistant", f"{shown / n:.0%}", f"{abstained / n:.0%}", f"{gold / n:.0%}",
                         f"{median(seconds):.1f}"))
            rows.append((f"{label}: plain search, top passage (baseline)", "0% (none)", "0%",
                         f"{base_gold / n:.0%}", ""))
        right = sum(Answerer(rt, assistant, channel="bench").answer(text).abstained for text in off_topic)
        figures["off_topic_abstention_rate"] = right / len(off_topic)
        rows.append(("off-topic: rathaus assistant", "", f"{right / len(off_topic):.0%}", "", ""))
        rows.append(("off-topic: plain search (baseline)", "", "0%", "", ""))
    print(table(rows, ("questions / system", "verified quotes", "abstained", "contains gold answer", "p50 s")))
    print(f"written: {write_result('answers', figures)}")


if __name__ == "__main__":
    main()
