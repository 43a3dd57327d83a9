"""Inbox routing: rathaus' routing model against four baselines measured in the same run.

Data (read from ../shared/data, never part of the repository):

* GermEval 2017 ``germeval2017-db-feedback/dev.tsv`` – real German customer feedback to a rail operator, the
  nearest real stand-in found for citizen requests (it is NOT mail to a city). Two tasks: *service area*
  (label = first category other than ``Allgemein``; documents with only ``Allgemein`` or none left out; areas
  with fewer than 20 documents merged into "other") and *relevance* (true/false). Stratified 5-fold
  cross-validation; every method is trained and tuned inside the training folds only (rathaus: 3-fold
  out-of-fold predictions of the training part choose the combination, fit the temperature and calibrate the
  95 %-precision thresholds; baselines: their 95 % threshold from 3-fold out-of-fold predictions of the
  training part, and they route with those fold models – macro-F1 from one model refitted on all
  rows) and the held-out fold is predicted once: share routed automatically and the precision
  actually reached are measured there.
* MASSIVE de-DE ``massive-de`` – intent (60 classes) of voice-assistant utterances, scenario as department:
  trained on train, tuned and thresholds calibrated on dev, reported on test.

Methods: majority class; TF-IDF (word 1-2-grams + char 2-5-grams, sublinear, links and @handles one token
each) + logistic regression (C=4, balanced class weights – the features and one of the candidates rathaus itself
tries, so not a strawman); sentence embeddings (the platform's default embedder ``multilingual-use``, and
``multilingual-e5-small``) + logistic regression (C=8, balanced); zero-shot with the
embedded chat model ``qwen2.5-coder-1.5b`` on a random sample (default 100 messages per GermEval task: about
1.5 s per message on 2 cores; MASSIVE's 60 intents make a prompt too long for it and are left out), compared
with rathaus' cross-validated predictions of the same sample; rathaus' model (``rathaus.inbox.routing.train``)
with the inbox's routing embedders (USE and e5 side by side with TF-IDF, the "views" head) on GermEval, and with
USE alone on MASSIVE (e5 would take ~25 min for its 16,500 utterances on 2 cores).

The models are called through their providers (``rathaus.models.providers.build_provider`` with the shipped
catalogue), without a database: no metering or audit is needed for a benchmark.

    .venv/bin/python bench/inbox_routing.py [--data DIR] [--zero-shot N] [--folds 5] [--skip-massive]
    .venv/bin/python bench/inbox_routing.py --service-area-only   # the GermEval service-area task alone (~2 min)

Writes flat keys into bench/results/inbox.json (merged with the keys other inbox benchmarks write) and the
service-area confusion matrix to docs/images/inbox_confusion.png.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, SHARED_DATA, machine, require, table
from rathaus.core.settings import DEFAULT_MODELS_FILE, Settings
from rathaus.inbox.routing import TrainingRow, threshold_for_precision, train
from rathaus.inbox.routing.evaluate import (
    Predictions,
    Scores,
    cached,
    cross_validate,
    load_germeval,
    load_massive,
    massive_taxonomy,
    plot_confusion,
    routing_fit_predict,
    score,
)
from rathaus.inbox.routing.head import TextFeatures
from rathaus.inbox.routing.model import embed_all
from rathaus.inbox.settings import InboxSettings
from rathaus.models.catalog import load_catalog
from rathaus.models.providers import build_provider
from rathaus.models.types import ChatMessage, ChatParams

TFIDF_C, EMBED_C = 4.0, 8.0
INNER = 3
PLOT = ROOT / "docs" / "images" / "inbox_confusion.png"
AREA_DE = {
    "Zugfahrt": "die Zugfahrt selbst: Verspätung, Ausfall, Anschluss",
    "Sonstige_Unregelmässigkeiten": "sonstige Störungen: Streik, Unwetter, Bauarbeiten, Unfälle",
    "Atmosphäre": "Atmosphäre im Zug oder Bahnhof: Lärm, Geruch, Temperatur, Mitreisende",
    "Ticketkauf": "Ticketkauf, Preise, Fahrkarten",
    "Sicherheit": "Sicherheit: Polizei, Gewalt, Kontrollen",
    "Service_und_Kundenbetreuung": "Service und Kundenbetreuung, Personal",
    "Connectivity": "WLAN, Mobilfunk, Internet im Zug",
    "other": "etwas anderes (Informationen, Platzangebot, Ausstattung, App, Barrierefreiheit …)",
}


# --- embeddings and chat through the platform's providers -----------------------------------------------------

def embedder_of(name: str) -> Callable[[list[str]], np.ndarray]:
    spec = load_catalog(DEFAULT_MODELS_FILE).get(name)
    assert spec is not None, name
    embedder = build_provider(spec, Settings(_env_file=None))

    def embed(texts: list[str]) -> np.ndarray:
        # as rathaus.inbox.learning.embedder: "query" (e5's prefix for classification; USE has none)
        return np.asarray(embedder.embed(texts, purpose="query").vectors, dtype=np.float32)  # type: ignore[union-attr]
    return embed


def joined(embeds: Sequence[Callable[[list[str]], np.ndarray]]) -> Callable[[list[str]], np.ndarray]:
    """Several embedders side by side, each part scaled to length 1 – as ``rathaus.inbox.learning.embedder``."""
    def embed(texts: list[str]) -> np.ndarray:
        parts = [np.asarray(e(texts), dtype=np.float64) for e in embeds]
        return np.hstack([p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12) for p in parts])
    return embed


def providers() -> tuple[Callable[[list[str]], np.ndarray], Callable[[], Any], str]:
    catalog = load_catalog(DEFAULT_MODELS_FILE)
    embed = embedder_of(catalog.defaults.embedding)

    def chat() -> Any:
        chat_spec = catalog.get(catalog.defaults.chat)
        assert chat_spec is not None
        return build_provider(chat_spec, Settings(_env_file=None, llm_threads=2))

    return embed, chat, catalog.defaults.embedding


# --- baselines -------------------------------------------------------------------------------------------------

def _oof_threshold(x_fn: Callable[[Sequence[int], Sequence[int]], tuple[Any, Any, Any]], y: np.ndarray,
                   c: float, seed: int = 0) -> tuple[float, list[str], np.ndarray]:
    """95 %-precision threshold from INNER-fold out-of-fold predictions of the training part, and the label and
    confidence the same fold models (probabilities averaged) give the held-out messages: the threshold applies to
    the models it was calibrated on (a model refitted on all training rows is more confident than they were, and
    its routed share would miss the precision – see docs/benchmarks.md)."""
    conf, correct = np.zeros(len(y)), np.zeros(len(y), dtype=bool)
    classes = np.array(sorted(set(y.tolist())))
    test_p: list[np.ndarray] = []
    for tr, te in StratifiedKFold(INNER, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        x_tr, x_te, x_test = x_fn(tr, te)
        lr = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x_tr, y[tr])
        p = lr.predict_proba(x_te)
        conf[te] = p.max(axis=1)
        correct[te] = lr.classes_[p.argmax(axis=1)] == y[te]
        full = np.zeros((x_test.shape[0], len(classes)))
        full[:, np.searchsorted(classes, lr.classes_)] = lr.predict_proba(x_test)
        test_p.append(full)
    avg = np.mean(test_p, axis=0)
    return threshold_for_precision(conf, correct, 0.95), list(classes[avg.argmax(axis=1)]), avg.max(axis=1)


def baseline_fit_predict(kind: str, label: Callable[[TrainingRow], str],
                         embed: Callable[[list[str]], np.ndarray],
                         tune: Sequence[TrainingRow] | None = None
                         ) -> Callable[[Sequence[TrainingRow], Sequence[TrainingRow]], Predictions]:
    """majority | tfidf | embed, with a 95 % threshold from inner out-of-fold predictions (or ``tune``)."""

    def fit_predict(train_rows: Sequence[TrainingRow], test_rows: Sequence[TrainingRow]) -> Predictions:
        y = np.array([label(r) for r in train_rows])
        texts = [r.text for r in train_rows]
        test = [r.text for r in test_rows]
        if kind == "majority":
            top, count = Counter(y.tolist()).most_common(1)[0]
            prior = count / len(y)
            t = threshold_for_precision(np.full(len(y), prior), y == top, 0.95)
            return Predictions([top] * len(test), np.full(len(test), prior), np.full(len(test), t))
        if kind == "tfidf":
            def feats(tr: Sequence[int], te: Sequence[int]) -> tuple[Any, Any, Any]:
                f = TextFeatures.fit([texts[i] for i in tr])
                return (f.transform([texts[i] for i in tr]), f.transform([texts[i] for i in te]),
                        f.transform(test))
            f = TextFeatures.fit(texts)
            x, x_test = f.transform(texts), f.transform(test)
            c = TFIDF_C
            x_tune = f.transform([r.text for r in tune]) if tune else None
        else:
            e, e_test = embed_all(embed, texts), embed_all(embed, test)

            def feats(tr: Sequence[int], te: Sequence[int]) -> tuple[Any, Any, Any]:
                return e[tr], e[te], e_test
            x, x_test, c = e, e_test, EMBED_C
            x_tune = embed_all(embed, [r.text for r in tune]) if tune else None
        lr = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(x, y)
        p = lr.predict_proba(x_test)
        labels = list(lr.classes_[p.argmax(axis=1)])
        if tune:  # one model, calibrated on a separate tuning split: it labels and routes
            y_tune = np.array([label(r) for r in tune])
            p_tune = lr.predict_proba(x_tune)
            t = threshold_for_precision(p_tune.max(axis=1), lr.classes_[p_tune.argmax(axis=1)] == y_tune, 0.95)
            return Predictions(labels, p.max(axis=1), np.full(len(test), t))
        # macro-F1 from the model refitted on all training rows (the stronger baseline); the automatic route from
        # the inner fold models whose out-of-fold predictions calibrated the threshold
        t, auto_labels, auto_conf = _oof_threshold(feats, y, c)
        return Predictions(labels, auto_conf, np.full(len(test), t), auto_labels)

    return fit_predict


# --- zero-shot -------------------------------------------------------------------------------------------------

def zero_shot(chat: Any, texts: list[str], task: str, areas: list[str]) -> list[str]:
    params = ChatParams(max_tokens=12, temperature=0.0, seed=7)
    if task == "relevance":
        system = ("Du prüfst Texte aus sozialen Medien und Nachrichten. Antworte nur mit 'ja' oder 'nein': Ist der "
                  "Text eine Rückmeldung, Beschwerde, Frage oder Meinung zur Deutschen Bahn oder ihren Zügen, "
                  "Bahnhöfen, Tickets oder ihrem Service?")
    else:
        listing = "\n".join(f"- {a}: {AREA_DE.get(a, a)}" for a in areas)
        system = ("Ordne die Kundenrückmeldung an die Deutsche Bahn genau einem Servicebereich zu. Antworte nur "
                  f"mit dem Namen des Bereichs (vor dem Doppelpunkt).\nBereiche:\n{listing}")
    out = []
    for text in texts:
        answer = chat.chat([ChatMessage("system", system), ChatMessage("user", text[:1500])], params).text
        low = answer.strip().casefold()
        if task == "relevance":
            out.append("relevant" if low.startswith("ja") or low.startswith("yes") else "irrelevant")
            continue
        norm = re.sub(r"[\s_-]+", "", low)
        hit = next((a for a in areas if re.sub(r"[\s_-]+", "", a.casefold()) in norm), None)
        out.append(hit or "other")
    return out


# --- runs -----------------------------------------------------------------------------------------------------

def run_cv(name: str, rows: list[TrainingRow], label: Callable[[TrainingRow], str], embed: Any, folds: int,
           second: Any, routing: tuple[Any, list[int]]) -> dict[str, Scores]:
    methods: dict[str, Any] = {
        "majority": baseline_fit_predict("majority", label, embed),
        "tfidf_lr": baseline_fit_predict("tfidf", label, embed),
        "embed_lr": baseline_fit_predict("embed", label, embed),
        "e5_lr": baseline_fit_predict("embed", label, second),
        "rathaus": routing_fit_predict(routing[0], "category" if name == "service_area" else "relevance",
                                       folds=INNER, views=routing[1]),
    }
    out = {}
    for method, fp in methods.items():
        t0 = time.perf_counter()
        out[method] = cross_validate(rows, label, fp, folds, seed=0)
        print(f"  {name}/{method}: macro-F1 {out[method].macro_f1:.3f} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    return out


def sample_compare(rows: list[TrainingRow], label: Callable[[TrainingRow], str], scores: Scores, chat: Any,
                   n: int, task: str) -> dict[str, float]:
    rnd = random.Random(15)
    idx = sorted(rnd.sample(range(len(rows)), min(n, len(rows))))
    areas = sorted({label(r) for r in rows})
    t0 = time.perf_counter()
    pred = zero_shot(chat, [rows[i].text for i in idx], task, areas)
    secs = (time.perf_counter() - t0) / len(idx)
    truth = [label(rows[i]) for i in idx]
    ours = [scores.y_pred[i] for i in idx]
    one = np.ones(len(idx))
    zs = score(truth, Predictions(pred, one * 0, one * 2))
    rt = score(truth, Predictions(ours, one * 0, one * 2))
    return {"zero_shot_macro_f1": zs.macro_f1, "zero_shot_accuracy": zs.accuracy, "zero_shot_n": len(idx),
            "zero_shot_s_per_message": secs, "rathaus_on_sample_macro_f1": rt.macro_f1,
            "rathaus_on_sample_accuracy": rt.accuracy}


def run_massive(data: Path, embed: Any) -> dict[str, Scores]:
    splits = load_massive(data)
    taxonomy = massive_taxonomy(sorted({r.category for s in splits.values() for r in s if r.category}))

    def label(r: TrainingRow) -> str:
        return str(r.category)
    out = {}
    for kind in ("majority", "tfidf", "embed"):
        t0 = time.perf_counter()
        pred = baseline_fit_predict(kind, label, embed, tune=splits["dev"])(splits["train"], splits["test"])
        out[{"tfidf": "tfidf_lr", "embed": "embed_lr"}.get(kind, kind)] = score([label(r) for r in splits["test"]],
                                                                                 pred)
        print(f"  massive/{kind}: {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    model = train(splits["train"], embed, taxonomy, tune_rows=splits["dev"])
    tuning = model.tuning["category"]
    assert model.category is not None
    t = threshold_for_precision(tuning.probs.max(axis=1), tuning.probs.argmax(axis=1) == tuning.labels, 0.95)
    test = [r.text for r in splits["test"]]
    probs = model.category_probs(test)
    labels = [model.category.classes[j] for j in probs.argmax(axis=1)]
    out["rathaus"] = score([label(r) for r in splits["test"]],
                           Predictions(labels, probs.max(axis=1), np.full(len(test), t)))
    out["rathaus"].fold_macro_f1 = []
    print(f"  massive/rathaus: {time.perf_counter() - t0:.0f} s, choice {model.info['category']['choice']}",
          flush=True)
    return out


def merge_results(figures: dict[str, Any]) -> Path:
    path = RESULTS / "inbox.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update({k: (round(v, 6) if isinstance(v, float) else v) for k, v in figures.items()})
    path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--zero-shot", type=int, default=100, help="messages per GermEval task for the chat model "
                    "(0: skip)")
    ap.add_argument("--skip-massive", action="store_true")
    ap.add_argument("--service-area-only", action="store_true", help="only the GermEval service-area task (no "
                    "relevance, zero-shot or MASSIVE); writes only its keys")
    args = ap.parse_args()
    if args.service_area_only:
        args.skip_massive, args.zero_shot = True, 0
    germeval = require(args.data / "germeval2017-db-feedback" / "dev.tsv", "GermEval 2017")
    massive = require(args.data / "massive-de", "MASSIVE de-DE") if not args.skip_massive else None
    started = time.perf_counter()
    embed_raw, chat_factory, embed_name = providers()
    embed = cached(embed_raw)
    # rathaus' routing reads the inbox's routing embedders side by side (InboxSettings.inbox_routing_embedders)
    names = InboxSettings.model_fields["inbox_routing_embedders"].get_default(call_default_factory=True)
    catalog = load_catalog(DEFAULT_MODELS_FILE)
    second_name = next(n for n in names if n != embed_name)
    second = cached(embedder_of(second_name))
    routing = (cached(joined([embed if n == embed_name else second for n in names])),
               [int(catalog.get(n).dimensions or 0) for n in names])  # type: ignore[union-attr]
    figures: dict[str, Any] = {"routing_embedder": "+".join(names), "routing_folds": args.folds,
                               "routing_inner_folds": INNER, **{f"routing_{k}": v for k, v in machine().items()}}

    area_rows = load_germeval(germeval, "service_area")
    rel_rows = load_germeval(germeval, "relevance")
    t0 = time.perf_counter()
    first = area_rows if args.service_area_only else rel_rows  # fills the cache once (area texts are a subset)
    embed_all(routing[0], [r.text for r in first])
    if not args.service_area_only:  # the full run embeds all 2,369 texts with both: the figure of record
        figures["routing_embed_s_per_message"] = (time.perf_counter() - t0) / len(first)

    def area(r: TrainingRow) -> str:
        return str(r.category)

    def rel(r: TrainingRow) -> str:
        return "relevant" if r.relevant else "irrelevant"

    print(f"GermEval 2017 service area: {len(area_rows)} documents, {Counter(map(area, area_rows))}", flush=True)
    sa = run_cv("service_area", area_rows, area, embed, args.folds, second, routing)
    rv: dict[str, Scores] = {}
    if not args.service_area_only:
        print(f"GermEval 2017 relevance: {len(rel_rows)} documents, {Counter(map(rel, rel_rows))}", flush=True)
        rv = run_cv("relevance", rel_rows, rel, embed, args.folds, second, routing)
    plot_confusion(sa["rathaus"].y_true, sa["rathaus"].y_pred, PLOT,
                   f"GermEval 2017 service area, rathaus routing ({args.folds}-fold CV, n={len(area_rows)})")

    for method, s in sa.items():
        figures |= s.as_dict(f"service_area_{method}_")
    for method, s in rv.items():
        figures |= s.as_dict(f"relevance_{method}_")
    figures |= {
        "routing_macro_f1": sa["rathaus"].macro_f1, "tfidf_lr_macro_f1": sa["tfidf_lr"].macro_f1,
        "embed_lr_macro_f1": sa["embed_lr"].macro_f1, "majority_macro_f1": sa["majority"].macro_f1,
        "auto_route_share_at_p95": sa["rathaus"].auto_share,
        "tfidf_lr_auto_route_share_at_p95": sa["tfidf_lr"].auto_share,
        "auto_route_precision_reached": sa["rathaus"].auto_precision,
        "tfidf_lr_auto_route_precision_reached": sa["tfidf_lr"].auto_precision,
    }
    if rv:
        figures |= {"relevance_macro_f1": rv["rathaus"].macro_f1,
                    "relevance_tfidf_lr_macro_f1": rv["tfidf_lr"].macro_f1}
    if args.zero_shot:
        chat = chat_factory()
        for task, rows, label, scores in (("service_area", area_rows, area, sa["rathaus"]),
                                          ("relevance", rel_rows, rel, rv["rathaus"])):
            t0 = time.perf_counter()
            z = sample_compare(rows, label, scores, chat, args.zero_shot, task)
            figures |= {f"{task}_{k}": v for k, v in z.items()}
            print(f"  {task}/zero-shot: macro-F1 {z['zero_shot_macro_f1']:.3f} on {z['zero_shot_n']} "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
        figures["zero_shot_macro_f1"] = figures["service_area_zero_shot_macro_f1"]

    if massive is not None:
        print("MASSIVE de-DE: train → tune on dev → test", flush=True)
        ms = run_massive(massive, embed)
        for method, s in ms.items():
            figures |= s.as_dict(f"massive_{method}_")
        figures["massive_macro_f1"] = ms["rathaus"].macro_f1

    figures["routing_service_area_only_bench_s" if args.service_area_only else "routing_bench_s"] = \
        time.perf_counter() - started
    path = merge_results(figures)

    def row(task: str, method: str, s: Scores, base: Scores) -> tuple[str, ...]:
        prec = "–" if s.auto_precision is None else f"{s.auto_precision:.3f}"
        return (task, method, f"{s.macro_f1:.3f}", f"{s.macro_f1 / base.macro_f1:.2f}" if base.macro_f1 else "–",
                f"{s.accuracy:.3f}", f"{s.auto_share:.3f}", prec)

    rows_out = [row("service area", m, s, sa["tfidf_lr"]) for m, s in sa.items()]
    rows_out += [row("relevance", m, s, rv["tfidf_lr"]) for m, s in rv.items()]
    if massive is not None:
        rows_out += [row("MASSIVE intent", m, s, ms["tfidf_lr"]) for m, s in ms.items()]
    print()
    print(table(rows_out, ("task", "method", "macro-F1", "×TF-IDF", "accuracy", "auto share p95",
                           "precision reached")))
    if args.zero_shot:
        for task in ("service_area", "relevance"):
            print(f"zero-shot {task} on {figures[f'{task}_zero_shot_n']} sampled: macro-F1 "
                  f"{figures[f'{task}_zero_shot_macro_f1']:.3f} (rathaus on the same sample "
                  f"{figures[f'{task}_rathaus_on_sample_macro_f1']:.3f}), "
                  f"{figures[f'{task}_zero_shot_s_per_message']:.1f} s/message")
    relevance = f"; relevance macro-F1 ≥ 0.80: {rv['rathaus'].macro_f1:.3f}" if rv else ""

    def held(s: Scores) -> str:  # a share is "at ≥ 95 % precision" only if the held-out folds reached it
        if s.auto_precision is None:
            return "nothing routed"
        return f"held-out precision {s.auto_precision:.3f}" + ("" if s.auto_precision >= 0.95 - 1e-9
                                                               else " < 0.95: target precision MISSED")
    print(f"\ngoals: service area +5 points over TF-IDF+LR: "
          f"{(sa['rathaus'].macro_f1 - sa['tfidf_lr'].macro_f1) * 100:+.1f} points; auto share ≥ 2× TF-IDF+LR: "
          f"{sa['rathaus'].auto_share:.3f} ({held(sa['rathaus'])}) vs {sa['tfidf_lr'].auto_share:.3f} "
          f"({held(sa['tfidf_lr'])}){relevance}")
    print(f"wrote {path.relative_to(ROOT)} and {PLOT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
