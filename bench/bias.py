"""Gender bias (GG-BBQ subset 2) of the default local chat model, next to baselines on the same sample.

A stratified, seeded sample (default 400 items: 100 each of ambiguous/disambiguated × negative/non-negative)
of the German gender-bias QA set GG-BBQ (Satheesh et al. 2025, CC BY 4.0; read from ../shared/data/gg-bbq,
never copied) is put to the embedded default chat model through the rathaus gateway, exactly as
``rathaus eval bias`` does (German multiple-choice prompt, answers shuffled per item, temperature 0).
In the same run and on the same items, four answerers without a model give the scale:

* always-unknown: always "keine Antwort" (perfect on ambiguous contexts, no bias score);
* random: uniform over the three answers, seeded per item;
* always-stereotype: always the stereotype-consistent answer (both scores +1);
* always-correct: always the gold answer (what a perfect model would get).

Figures: accuracy on ambiguous and on disambiguated contexts (95 % Wilson), BBQ's bias scores s_DIS and s_AMB
(95 % bootstrap), unknown and unparsable rates, seconds per item.

    .venv/bin/python bench/bias.py [--data DIR] [--limit 400] [--seed 0] [--html FILE] [--dump FILE [--resume]]

``--dump`` appends every model reply (with its seconds) to a JSONL file; with ``--resume`` replies already there are
reused, so an interrupted run on a shared machine continues where it stopped (timing covers the replies that carry
their seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED_DATA, machine, require, table, write_result
from rathaus.governance.bias import (
    BENCHMARK,
    ModelAnswerer,
    Outcome,
    baselines,
    describe_sample,
    entry_from_run,
    load_items,
    run_eval,
    stratified_sample,
    write_html,
)
from rathaus.governance.bias.items import Item
from rathaus.governance.bias.prompt import presentation_order
from rathaus.governance.bias.report import pct, score

PREFIX = {"always-unknown": "unknown", "random": "random", "always-stereotype": "stereotype",
          "always-correct": "correct"}
KEYS = ("acc_ambig", "acc_disambig", "bias_ambig", "bias_disambig", "bias_disambig_on_ambig", "unknown_rate_ambig",
        "unknown_rate_disambig", "unparsable_rate", "acc_disambig_aligned", "acc_disambig_conflicting",
        "acc_ambig_ci_low", "acc_ambig_ci_high", "acc_disambig_ci_low", "acc_disambig_ci_high",
        "bias_ambig_ci_low", "bias_ambig_ci_high", "bias_disambig_ci_low", "bias_disambig_ci_high")


class ResumableAnswerer:
    """Wraps the model answerer: replies found in the dump are reused, new ones are appended and timed."""

    def __init__(self, inner: ModelAnswerer, dump: Path | None, resume: bool):
        self.inner, self.dump = inner, dump
        self.subject = inner.subject
        self.usage = inner.usage
        self.errors = 0
        self.fresh_seconds = 0.0
        self.fresh = 0
        self.known: dict[str, dict[str, Any]] = {}
        if dump and resume and dump.is_file():
            for line in dump.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    self.known[rec["id"]] = rec
        elif dump and dump.exists():
            dump.unlink()

    def answer(self, item: Item) -> Outcome:
        if item.id in self.known:
            rec = self.known[item.id]
            if rec.get("seconds") is not None:  # timed when it was asked (an earlier, interrupted session)
                self.fresh_seconds += rec["seconds"]
                self.fresh += 1
            return Outcome(item, rec["choice"], rec["reply"])
        t0 = time.perf_counter()
        outcome = self.inner.answer(item)
        seconds = time.perf_counter() - t0
        self.fresh_seconds += seconds
        self.fresh += 1
        self.errors = self.inner.errors
        if self.dump:
            with self.dump.open("a", encoding="utf-8") as out:
                out.write(json.dumps({"id": item.id, "choice": outcome.choice, "reply": outcome.reply,
                                      "seconds": round(seconds, 3)}, ensure_ascii=False) + "\n")
        return outcome


def letter_shares(run: Any, seed: int) -> dict[str, float]:
    """Share of read replies that picked the answer shown as A, B or C (position preference of the model)."""
    letters = Counter("ABC"[presentation_order(o.item, seed).index(o.choice)] for o in run.outcomes
                      if o.choice is not None)
    total = sum(letters.values()) or 1
    return {f"model_picked_{x}_share": letters.get(x, 0) / total for x in "ABC"}


def fmt_row(name: str, f: dict[str, Any], random: dict[str, Any]) -> tuple[str, ...]:
    ratio = (f["acc_disambig"] / random["acc_disambig"]) if random["acc_disambig"] else float("nan")
    return (name, f"{pct(f['acc_ambig'])} [{pct(f['acc_ambig_ci_low'])}–{pct(f['acc_ambig_ci_high'])}]",
            f"{pct(f['acc_disambig'])} [{pct(f['acc_disambig_ci_low'])}–{pct(f['acc_disambig_ci_high'])}]",
            f"{ratio:.2f}", score(f["bias_ambig"]), score(f["bias_disambig"]), pct(f["unknown_rate_ambig"]),
            pct(f["unparsable_rate"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "gg-bbq" / "subset-2")
    ap.add_argument("--limit", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--html", type=Path, help="also write the HTML report (not into the repository: it quotes items)")
    ap.add_argument("--dump", type=Path, help="JSONL file of the model's replies (for --resume)")
    ap.add_argument("--resume", action="store_true")
    args = ap.parse_args()
    data = require(args.data, "GG-BBQ subset-2")
    loaded = load_items(data)
    items = stratified_sample(loaded.items, args.limit, args.seed)
    sample = describe_sample(items, benchmark=BENCHMARK, files=loaded.files, limit=args.limit, seed=args.seed,
                             shuffle=True, available=len(loaded.items), problems=len(loaded.problems))
    print(f"GG-BBQ: {len(loaded.items)} items, {len(loaded.problems)} bad lines; sample {sample['strata']}",
          file=sys.stderr)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from rathaus.core.settings import Settings
    from rathaus.runtime import Runtime

    work = Path(tempfile.mkdtemp(prefix="rathaus-bench-bias-"))
    settings = Settings(_env_file=None, data_dir=work, database_name="bench_" + uuid.uuid4().hex[:6])
    with Runtime(settings) as rt:
        answerer = ResumableAnswerer(ModelAnswerer(rt, seed=args.seed), args.dump, args.resume)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      transient=False) as progress:
            task = progress.add_task(f"GG-BBQ → {answerer.subject.label}", total=len(items))
            run = run_eval(items, answerer, sample, seed=args.seed,
                           progress=lambda done, _o: progress.update(task, completed=done))
    runs = {"model": run, **{PREFIX[b.subject.name]: run_eval(items, b, sample, seed=args.seed)
                             for b in baselines(args.seed)}}
    seconds_per_item = answerer.fresh_seconds / answerer.fresh if answerer.fresh else float("nan")

    figures: dict[str, Any] = {"items": len(items), "limit": args.limit, "seed": args.seed,
                               "model": run.subject.model, "model_version": run.subject.model_version,
                               "prompt_version": sample["prompt_version"], "strata": json.dumps(sample["strata"]),
                               "seconds_per_item": seconds_per_item, "items_timed": answerer.fresh,
                               "model_errors": answerer.errors, **machine()}
    for prefix, r in runs.items():
        f = r.figures()
        for key in KEYS:
            figures[f"{prefix}_{key}"] = f[key]
    figures["model_vs_random_acc_disambig_ratio"] = (
        figures["model_acc_disambig"] / figures["random_acc_disambig"] if figures["random_acc_disambig"] else None)
    figures["model_vs_unknown_acc_ambig_ratio"] = figures["model_acc_ambig"] / figures["unknown_acc_ambig"]
    figures.update(letter_shares(run, args.seed))
    figures["model_prompt_tokens_per_item"] = run.usage.get("prompt_tokens", 0) / max(1, answerer.fresh)
    figures["model_energy_wh_per_item"] = run.usage.get("energy_wh", 0) / max(1, answerer.fresh)

    random_f = runs["random"].figures()
    header = ("answerer", "acc ambiguous [95 %]", "acc disambiguated [95 %]", "dis. ratio to random",
              "s_AMB ×100", "s_DIS ×100", "unknown (amb.)", "unparsable")
    rows = [fmt_row(r.subject.label, r.figures(), random_f) for r in runs.values()]
    print(table(rows, header))
    m = run.figures()
    print(f"\nmodel s_DIS 95 % bootstrap [{score(m['bias_disambig_ci_low'])}, {score(m['bias_disambig_ci_high'])}], "
          f"s_AMB [{score(m['bias_ambig_ci_low'])}, {score(m['bias_ambig_ci_high'])}]; "
          f"accuracy disambiguated: stereotype-aligned {pct(m['acc_disambig_aligned'])}, "
          f"conflicting {pct(m['acc_disambig_conflicting'])}")
    shares = letter_shares(run, args.seed)
    picked = ", ".join(f"{x} {pct(shares[f'model_picked_{x}_share'])}" for x in "ABC")
    print(f"model picked the answer shown as {picked} (answers are shuffled per item)")
    print(f"{seconds_per_item:.2f} s per item ({answerer.fresh} items timed), "
          f"{figures['model_prompt_tokens_per_item']:.0f} prompt tokens per item; {answerer.errors} failed calls")
    print(f"written {write_result('bias', figures)}")
    if args.html:
        entries = [entry_from_run(run)] + [entry_from_run(r, examples=0) for k, r in runs.items() if k != "model"]
        print(f"report {write_html(args.html, entries)}")


if __name__ == "__main__":
    main()
