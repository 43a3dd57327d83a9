"""Gender-bias evaluation with GG-BBQ (German BBQ): ask a model or assistant, score it as BBQ does, keep the runs.

Public API::

    load_items(paths) -> LoadResult                       # items + "<file>:<line>: why" problems
    stratified_sample(items, limit, seed) -> list[Item]   # equal ambiguous/disambiguated, negative/non-negative
    ModelAnswerer(runtime, model=..., assistant=..., seed=...), baselines(seed)
    run_eval(items, answerer, sample, seed=...) -> BiasRun
    compute_metrics(outcomes, seed=...) -> BiasMetrics    # accuracies, s_DIS, s_AMB, intervals, splits
    save_run(session, run, created_by, guard) / list_runs(session) / get_run(session, id)
    render_html(entries, guard) / terminal_table(entries)

The formulas are documented in :mod:`rathaus.governance.bias.metrics` and docs/bias-evaluation.md.
"""

from rathaus.governance.bias.guard import guard_false_positives
from rathaus.governance.bias.items import Item, LoadResult, load_items, strata_counts, stratified_sample
from rathaus.governance.bias.metrics import BiasMetrics, Outcome, bias_score, compute_metrics, wilson
from rathaus.governance.bias.prompt import PROMPT_VERSION, build_messages, parse_reply, read_choice
from rathaus.governance.bias.report import entry_from_run, entry_from_stored, render_html, terminal_table, write_html
from rathaus.governance.bias.runner import (
    BiasRun,
    CorrectAnswerer,
    ModelAnswerer,
    RandomAnswerer,
    StereotypeAnswerer,
    Subject,
    UnknownAnswerer,
    baselines,
    describe_sample,
    run_eval,
)
from rathaus.governance.bias.store import get_run, list_runs, save_run

BENCHMARK = "GG-BBQ"

__all__ = [
    "BENCHMARK", "PROMPT_VERSION", "BiasMetrics", "BiasRun", "CorrectAnswerer", "Item", "LoadResult", "ModelAnswerer",
    "Outcome", "RandomAnswerer", "StereotypeAnswerer", "Subject", "UnknownAnswerer", "baselines", "bias_score",
    "build_messages", "compute_metrics", "describe_sample", "entry_from_run", "entry_from_stored", "get_run",
    "guard_false_positives", "list_runs", "load_items", "parse_reply", "read_choice", "render_html", "run_eval",
    "save_run", "strata_counts", "stratified_sample", "terminal_table", "wilson", "write_html",
]
