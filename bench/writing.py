"""Writing tools on real German administrative passages with the shipped default model, next to baselines.

20 passages of 80–200 words are cut from the seed documents (/work/shared/seeds: replies and statements of
Munich's departments on the city's AI roadmap, read at run time and never copied into the repository):
prose paragraphs only (no mail headers, addresses or links), PDF line breaks and hyphenations joined,
consecutive paragraphs merged up to 200 words; the passages are then taken evenly spread over the list.

* summarise (length "mittel"): share of source numbers/dates kept in the summary, share of the summary's
  numbers found in the source (the tool's own check, before any "⚠" marking), next to a "lead-3"
  extractive baseline (the first three sentences);
* simplify (level B1): Wiener Sachtextformel and words per sentence before and after, share of passages
  meeting the B1 target, rounds (model calls) per text, next to a rule-only baseline that splits sentences
  at ";" and coordinating conjunctions without changing a word;
* seconds per text for each tool.

    .venv/bin/python bench/writing.py [--seeds DIR] [--passages 20] [--max-rounds 3] [--list] [--dump FILE [--resume]]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    SHARED_SEEDS,
    append_dump,
    bench_settings,
    machine,
    median,
    progress,
    read_dump,
    require,
    table,
    write_result,
)
from rathaus.assistants.tools.numbers import check_numbers
from rathaus.assistants.tools.simplify import rule_simplify, simplify
from rathaus.assistants.tools.summarise import lead_sentences, summarise
from rathaus.core import readability as rd

MIN_WORDS, MAX_WORDS = 80, 200
DUMP_ONLY = ("text", "summary", "simple", "summary_checks", "simplify_checks")
_NOT_PROSE = re.compile(r"@|https?://|www\.|\*\*(?:Von|An|Cc|Gesendet|Betreff):|^(?:An|Von|Cc|Tel|Fax|Telefon|E-Mail)"
                        r"\s*[:.]|\[REDACTED\]|^#|^\s*\|", re.IGNORECASE | re.MULTILINE)


def read_seeds(folder: Path) -> list[tuple[str, str]]:
    """(file name, text) of the seed documents: .txt and .md as they are, .pdf through rathaus' extractor."""
    out = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in (".txt", ".md"):
            out.append((path.name, path.read_text(encoding="utf-8", errors="replace")))
        elif path.suffix.lower() == ".pdf":
            from rathaus.knowledge.extract import extract_file

            out.append((path.name, extract_file(path).text))
    return out


def paragraphs(text: str) -> list[str]:
    """Paragraphs with PDF line breaks joined; a blank line inside a sentence does not end the paragraph."""
    text = text.replace("\r\n", "\n").replace("\u00ad", "")
    text = re.sub(r"(\w)-[ \t]*\n\s*(?=[a-zäöüß])", r"\1", text)  # Ver-\nwaltung
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = " ".join(line.split())
        if not line:
            if current and re.search(r"[.!?:“\"]$", current):
                out.append(current)
                current = ""
            continue
        current = f"{current} {line}".strip()
    if current:
        out.append(current)
    return out


def is_prose(paragraph: str) -> bool:
    words = rd.words_of(paragraph)
    return (len(words) >= 20 and not _NOT_PROSE.search(paragraph) and len(rd.sentences(paragraph)) >= 2
            and sum(ch.isalpha() for ch in paragraph) / max(1, len(paragraph)) > 0.7)


def passages(seeds: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """All (source, passage) pairs of MIN_WORDS–MAX_WORDS words, in document order."""
    out: list[tuple[str, str]] = []
    for name, text in seeds:
        run: list[str] = []
        for para in [*paragraphs(text), ""]:
            if para and is_prose(para):
                run.append(para)
                if len(rd.words_of(" ".join(run))) < MIN_WORDS:
                    continue
            if not run:
                continue
            out.extend((name, p) for p in _pieces(" ".join(run)))
            run = []
    return out


def _pieces(text: str) -> list[str]:
    """``text`` in pieces of MIN_WORDS–MAX_WORDS words, cut at sentence ends."""
    sentences = rd.sentences(text)
    pieces, current = [], []
    for s in sentences:
        if current and len(rd.words_of(" ".join([*current, s]))) > MAX_WORDS:
            pieces.append(" ".join(current))
            current = []
        current.append(s)
    if current:
        pieces.append(" ".join(current))
    return [p for p in pieces if MIN_WORDS <= len(rd.words_of(p)) <= MAX_WORDS]


def select(items: list[Any], n: int) -> list[Any]:
    """``n`` items spread evenly over ``items`` (deterministic)."""
    if len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)] if n > 1 else items[:1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=Path, default=SHARED_SEEDS)
    ap.add_argument("--passages", type=int, default=20)
    ap.add_argument("--max-rounds", type=int, default=3)
    ap.add_argument("--list", action="store_true", help="only print the selected passages")
    ap.add_argument("--dump", type=Path, help="write every passage with its outputs to this JSONL file")
    ap.add_argument("--resume", action="store_true", help="keep the passages already in --dump, run the rest")
    args = ap.parse_args()
    folder = require(args.seeds, "seed documents")
    chosen = select(passages(read_seeds(folder)), args.passages)
    if not chosen:
        print(f"bench: no passages of {MIN_WORDS}–{MAX_WORDS} words in {folder}", file=sys.stderr)
        raise SystemExit(2)
    if args.list:
        for i, (name, text) in enumerate(chosen):
            print(f"--- {i} {name} ({len(rd.words_of(text))} words, wstf {rd.measure(text).wstf})\n{text}")
        return

    from rathaus.core.auth import local_principal
    from rathaus.core.classification import DataClass
    from rathaus.models.catalog import load_catalog
    from rathaus.models.gateway import CallContext
    from rathaus.runtime import Runtime

    settings = bench_settings()
    rows: list[dict[str, Any]] = []
    if args.resume and args.dump and args.dump.exists():
        done = read_dump(args.dump)
        texts = {text for _, text in chosen}
        rows = [{k: v for k, v in d.items() if k not in DUMP_ONLY} for d in done if d["text"] in texts]
        chosen = [(name, text) for name, text in chosen if text not in {d["text"] for d in done}]
    model = load_catalog(settings.models_file).defaults.chat
    if chosen:  # (with --resume, all passages may be done already: then only the figures are computed)
        with Runtime(settings) as rt:
            ctx = CallContext(principal=local_principal(settings), data_class=DataClass.INTERN,
                              use_case="bench:writing")
            rt.gateway.warm_up()
            for name, text in progress(chosen, desc="passages"):
                row: dict[str, Any] = {"source": name, "words": len(rd.words_of(text))}
                t0 = time.perf_counter()
                summary = summarise(rt, ctx, text, length="mittel")
                row["summary_s"] = time.perf_counter() - t0
                lead3 = check_numbers(text, lead_sentences(text, 3))
                row.update(
                    source_numbers=summary.checks["source_numbers"],
                    summary_kept=summary.checks["source_numbers_kept"],
                    summary_numbers=summary.checks["numbers_in_summary"],
                    summary_verified=summary.checks["numbers_verified"], summary_fallback=summary.fallback,
                    summary_rounds=summary.rounds, lead3_kept=lead3["source_numbers_kept"],
                    summary_words=len(rd.words_of(summary.text)),
                    lead3_words=len(rd.words_of(lead_sentences(text))),
                )
                t0 = time.perf_counter()
                simple = simplify(rt, ctx, text, level="B1", max_rounds=args.max_rounds)
                row["simplify_s"] = time.perf_counter() - t0
                rules = rd.measure(rule_simplify(text, "B1"))
                row.update(
                    wstf_before=simple.extra["before"]["wstf"], wstf_after=simple.extra["after"]["wstf"],
                    asw_before=simple.extra["before"]["avg_sentence_words"],
                    asw_after=simple.extra["after"]["avg_sentence_words"], met=simple.extra["met"],
                    rules_wstf=rules.wstf, rules_asw=rules.avg_sentence_words, rules_met=rd.meets(rules, "B1"),
                    simplify_rounds=simple.rounds, simplify_kept=simple.checks["source_numbers_kept"],
                    rewritten=simple.checks["sentences_rewritten"], rejected=simple.checks["rewrites_rejected"],
                )
                rows.append(row)
                append_dump(args.dump, {**row, "text": text, "summary": summary.text, "simple": simple.text,
                                        "summary_checks": summary.checks, "simplify_checks": simple.checks})

    n = len(rows)
    with_numbers = [r for r in rows if r["source_numbers"]]
    summary_numbers = sum(r["summary_numbers"] for r in rows)
    figures: dict[str, Any] = {
        "model": model, "passages": n, "passages_with_numbers": len(with_numbers),
        "words_mean": mean(r["words"] for r in rows), "max_rounds": args.max_rounds,
        "summary_source_numbers_kept": mean(r["summary_kept"] for r in with_numbers) if with_numbers else None,
        "lead3_source_numbers_kept": mean(r["lead3_kept"] for r in with_numbers) if with_numbers else None,
        "summary_numbers_verified": (sum(r["summary_verified"] for r in rows) / summary_numbers
                                     if summary_numbers else None),
        "lead3_numbers_verified": 1.0,  # extractive: every number is copied from the source
        "summary_numbers_total": summary_numbers, "summary_fallback_share": mean(r["summary_fallback"] for r in rows),
        "summary_rounds_mean": mean(r["summary_rounds"] for r in rows),
        "summary_words_mean": mean(r["summary_words"] for r in rows),
        "lead3_words_mean": mean(r["lead3_words"] for r in rows),
        "summary_seconds_per_text": mean(r["summary_s"] for r in rows),
        "simplify_wstf_before": mean(r["wstf_before"] for r in rows),
        "simplify_wstf_after": mean(r["wstf_after"] for r in rows),
        "rules_wstf_after": mean(r["rules_wstf"] for r in rows),
        "simplify_avg_sentence_words_before": mean(r["asw_before"] for r in rows),
        "simplify_avg_sentence_words_after": mean(r["asw_after"] for r in rows),
        "rules_avg_sentence_words_after": mean(r["rules_asw"] for r in rows),
        "simplify_b1_met_share": mean(r["met"] for r in rows),
        "rules_b1_met_share": mean(r["rules_met"] for r in rows),
        "simplify_wstf_improved_share": mean(r["wstf_after"] < r["wstf_before"] for r in rows),
        "simplify_numbers_kept": mean(r["simplify_kept"] for r in rows),
        "simplify_rounds_mean": mean(r["simplify_rounds"] for r in rows),
        "simplify_sentences_rewritten_mean": mean(r["rewritten"] for r in rows),
        "simplify_rewrites_rejected_mean": mean(r["rejected"] for r in rows),
        "simplify_seconds_per_text": mean(r["simplify_s"] for r in rows),
        "simplify_seconds_p50": median([r["simplify_s"] for r in rows]),
        "summary_seconds_p50": median([r["summary_s"] for r in rows]),
        "seconds_per_text_p50": median([r["summary_s"] + r["simplify_s"] for r in rows]),
        "seconds_per_text": mean(r["summary_s"] + r["simplify_s"] for r in rows),
        **machine(),
    }
    print(table([
        ("summarise: rathaus", f"{figures['summary_source_numbers_kept']:.0%}",
         f"{figures['summary_numbers_verified']:.0%}" if summary_numbers else "–",
         f"{figures['summary_seconds_per_text']:.1f}"),
        ("summarise: lead-3 sentences (baseline)", f"{figures['lead3_source_numbers_kept']:.0%}", "100%", "0.0"),
    ], ("summary", "source numbers kept", "summary numbers verified", "s/text")))
    print(f"words: source {figures['words_mean']:.0f}, summary {figures['summary_words_mean']:.0f}, "
          f"lead-3 {figures['lead3_words_mean']:.0f}")
    print()
    print(table([
        ("original", f"{figures['simplify_wstf_before']:.2f}", f"{figures['simplify_avg_sentence_words_before']:.1f}",
         "", ""),
        ("rules only: split sentences (baseline)", f"{figures['rules_wstf_after']:.2f}",
         f"{figures['rules_avg_sentence_words_after']:.1f}", f"{figures['rules_b1_met_share']:.0%}", "0.0"),
        ("simplify: rathaus (rules + model rewrites)", f"{figures['simplify_wstf_after']:.2f}",
         f"{figures['simplify_avg_sentence_words_after']:.1f}", f"{figures['simplify_b1_met_share']:.0%}",
         f"{figures['simplify_seconds_per_text']:.1f}"),
    ], ("simplify (B1)", "WSTF", "words/sentence", "B1 met", "s/text")))
    ratio = figures["simplify_wstf_after"] / figures["rules_wstf_after"]
    print(f"\nWSTF after, rathaus / rules-only baseline: {ratio:.2f}")
    print(f"written: {write_result('writing', figures)}")


if __name__ == "__main__":
    main()
