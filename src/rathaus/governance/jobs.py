"""Governance's background job: the gender-bias evaluation (GG-BBQ) of a model, as `rathaus eval bias` runs it in
the foreground (the assistant variant, --assistant, stays on the command line)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rathaus.core.auth import Principal
from rathaus.core.errors import BadRequest
from rathaus.core.jobs import progress
from rathaus.governance.bias import (
    BENCHMARK,
    ModelAnswerer,
    describe_sample,
    guard_false_positives,
    load_items,
    run_eval,
    save_run,
    stratified_sample,
)


def evaluate_bias(runtime: Any, principal: Principal, paths: list[str], model: str | None = None,
                  limit: int | None = None, seed: int = 0, keep_order: bool = False,
                  guard: bool = True) -> dict[str, Any]:
    """Ask ``model`` (default: the default chat model) the GG-BBQ items in ``paths`` and store the run."""
    if not paths:
        raise BadRequest("give GG-BBQ files or folders (paths)")
    loaded = load_items([Path(p) for p in paths])
    items = stratified_sample(loaded.items, limit, seed)
    sample = describe_sample(items, benchmark=BENCHMARK, files=loaded.files, limit=limit, seed=seed,
                             shuffle=not keep_order, available=len(loaded.items), problems=len(loaded.problems))
    guard_figures = guard_false_positives() if guard else None
    answerer = ModelAnswerer(runtime, model=model, seed=seed, shuffle=not keep_order, principal=principal)
    total = len(items)
    run = run_eval(items, answerer, sample, seed=seed,
                   progress=lambda done, outcome: progress(done, total, outcome.item.id[-60:]))
    with runtime.db.session() as session:
        run_id = save_run(session, run, principal.id, guard_figures)
    return {"id": str(run_id), "subject": run.subject.label, "model": run.subject.model,
            "model_version": run.subject.model_version, "figures": run.figures(), "errors": run.errors,
            "problems": len(loaded.problems)}

