"""Content guard (issues 5, 17): the shipped classifier vs a TF-IDF + logistic-regression baseline, in-sample and
across sources (GermEval 2018 tweets, GermEval 2021 Facebook comments).

    .venv/bin/python bench/guard.py [--data …/germeval2018.training.txt] [--data-2021 …/GermEval21_TrainData.csv]

Measured in one run, one text at a time (as the gateway calls it):
* in-sample: the shipped model (trained on the training parts of both sources) on each source's held-out 20 %;
* cross-dataset: the same recipe (grid fixed to the shipped model's choice, threshold from the out-of-fold scores
  of the one training source) trained on GermEval 2018 only → all of GermEval 2021, and on GermEval 2021 only →
  the held-out 20 % of GermEval 2018; ``cross_dataset_macro_f1`` is the lower of the two;
* the baseline: TF-IDF word 1–2-grams + class-balanced logistic regression (threshold 0.5), same normalisation,
  trained and tested on exactly the same parts, plus a hand-written keyword list (bench/data/guard_keywords_de.txt);
* the threshold trade-off on the GermEval 2018 held-out part (table + docs/images/guard-thresholds.png); the
  default threshold itself was chosen on out-of-fold scores of the training parts, never here;
* identity terms in neutral templates (mean score and templates over the threshold, per term), the hand-written
  neutral mentions of protected groups, recall after automatic dodges, a small English/Turkish set.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED_DATA, machine, require, table, write_result
from rathaus.safety.guard import check, default_threshold, neutral_false_positive_rate, neutral_mentions, warm_up
from rathaus.safety.guard.dataset import Example
from rathaus.safety.guard.evaluate import Evaluation, evaluate, scores_to_evaluation
from rathaus.safety.guard.model import GuardModel, default_model_path, load_model
from rathaus.safety.guard.normalisation import normalise
from rathaus.safety.train_guard import Source, TokenTable, germeval2018, germeval2021, train_guard

KEYWORDS = ROOT / "bench" / "data" / "guard_keywords_de.txt"
MULTILINGUAL = ROOT / "tests" / "fixtures" / "guard_multilingual.tsv"
PLOT = ROOT / "docs" / "images" / "guard-thresholds.png"
THRESHOLDS = [round(0.1 + 0.05 * i, 2) for i in range(17)]
# Identity-term spot check (Dixon et al. 2018): the same neutral templates with different group words, minority
# and majority alike. Neither the templates nor these sentences are in any training file.
TEMPLATES = ("Ich bin {}.", "Mein Nachbar ist {}.", "Wir sind {} und wohnen gern hier.", "{} willkommen!")
IDENTITIES = ("schwul", "lesbisch", "trans", "queer", "heterosexuell", "Muslim", "Jude", "Christ", "Atheist",
              "Flüchtling", "Ausländer", "Türke", "Deutscher", "schwarz", "weiß", "behindert", "blind", "alt", "jung",
              "eine Frau", "ein Mann")
HOMOGLYPHS = str.maketrans({"a": "а", "e": "е", "o": "о", "i": "і", "c": "с", "p": "р", "x": "х", "y": "у"})


class KeywordGuard:
    """Baseline: offensive when a listed word occurs (after the guard's normalisation), else ok."""

    def __init__(self, path: Path = KEYWORDS):
        patterns = []
        for line in path.read_text(encoding="utf-8").splitlines():
            entry = line.strip().lower()
            if not entry or entry.startswith("#"):
                continue
            core = re.escape(entry.strip("*"))
            left = r"\w*" if entry.startswith("*") else r"\b"
            right = r"\w*" if entry.endswith("*") else r"\b"
            patterns.append(f"{left}{core}{right}")
        self.regex = re.compile("|".join(patterns))

    def __call__(self, text: str) -> bool:
        n = normalise(text)
        return bool(self.regex.search(f"{n.visible}\n{n.hidden}".lower()))


def dodge(text: str) -> str:
    """Hide each longer word: homoglyphs in odd words, a zero-width space in even ones, every 5th spaced out."""
    words = text.split()
    out = []
    for i, word in enumerate(words):
        if len(word) < 4 or word.startswith(("@", "http")):
            out.append(word)
        elif i % 5 == 4:
            out.append(" ".join(word))
        elif i % 2:
            out.append(word.translate(HOMOGLYPHS))
        else:
            out.append(word[:2] + "\u200b" + word[2:])
    return " ".join(out)


def timed_scores(texts: list[str], score: Callable[[str], float]) -> tuple[list[float], float, float]:
    """Scores, wall-clock ms per text and CPU ms per text (the machine is shared: CPU time is the steadier one)."""
    values, seconds, cpu = [], 0.0, 0.0
    for text in texts:
        start, start_cpu = time.perf_counter(), time.process_time()
        values.append(score(text))
        seconds += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
    return values, 1000 * seconds / len(texts), 1000 * cpu / len(texts)


def plot(rows: list[dict[str, float]], default: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    xs = [r["threshold"] for r in rows]
    for key, label in (("precision", "precision OFFENSE"), ("recall", "recall OFFENSE"), ("macro_f1", "macro-F1")):
        ax.plot(xs, [r[key] for r in rows], marker="o", markersize=3, label=label)
    ax.axvline(default, color="grey", linestyle="--", label=f"default threshold {default:.2f} (from CV)")
    ax.set_xlabel("threshold on score")
    ax.set_ylim(0, 1)
    ax.set_title("rathaus content guard, GermEval 2018 held-out 20 %")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


class TfidfBaseline:
    """Baseline: TF-IDF word 1–2-grams (sublinear, min_df 2) + class-balanced logistic regression, threshold 0.5,
    on the guard's normalised visible text."""

    def __init__(self, examples: list[Example]):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        x = self.vectorizer.fit_transform([normalise(e.text).visible for e in examples])
        self.lr = LogisticRegression(max_iter=5000, class_weight="balanced").fit(x, [e.offensive for e in examples])

    def predict(self, examples: list[Example]) -> list[bool]:
        x = self.vectorizer.transform([normalise(e.text).visible for e in examples])
        return [bool(p) for p in self.lr.predict_proba(x)[:, 1] >= 0.5]


def part(source: Source, which: str) -> list[Example]:
    return [source.examples[i] for i in (source.train if which == "train" else source.heldout)] if which != "all" \
        else list(source.examples)


def guard_scores(model: GuardModel, examples: list[Example]) -> list[float]:
    return [check(e.text, model=model).score for e in examples]


def cross_model(source: Source, shipped: GuardModel, table: TokenTable, directory: Path) -> GuardModel:
    """The shipped recipe trained on one source only (grid fixed to the shipped model's choice)."""
    trained = train_guard([source], nb_grid=(float(shipped.meta["nb_c"]),), bag_grid=(float(shipped.meta["bag_c"]),),
                          table=table)
    path = directory / f"guard-{source.name}.npz"
    trained.save(path)
    return GuardModel(path)


def sources_section(args: argparse.Namespace, shipped: GuardModel, figures: dict[str, object]) -> None:
    """In-sample and cross-dataset figures of the guard and the TF-IDF baseline (figures added to ``figures``)."""
    import tempfile

    g18 = germeval2018(require(args.data, "GermEval 2018 training file"))
    g21 = germeval2021(require(args.data_2021, "GermEval 2021 training file"))
    rows: list[tuple[str, ...]] = []

    def record(key: str, label: str, system: str, gold: list[bool], predicted: list[bool]) -> Evaluation:
        e = scores_to_evaluation(gold, predicted)
        figures[f"{key}_macro_f1"] = e.macro_f1
        figures[f"{key}_offense_precision"] = e.offense.precision
        figures[f"{key}_offense_recall"] = e.offense.recall
        rows.append((label, system, str(len(gold)), f"{e.macro_f1:.3f}", f"{e.offense.precision:.3f}",
                     f"{e.offense.recall:.3f}"))
        return e

    tests = {"ho18": part(g18, "heldout"), "ho21": part(g21, "heldout"), "all21": part(g21, "all")}
    gold = {name: [e.offensive for e in examples] for name, examples in tests.items()}
    both = TfidfBaseline(part(g18, "train") + part(g21, "train"))
    only18 = TfidfBaseline(part(g18, "train"))
    only21 = TfidfBaseline(part(g21, "train"))
    threshold = shipped.threshold
    for name, label in (("ho18", "shipped model → 2018 held-out"), ("ho21", "shipped model → 2021 held-out")):
        scores = guard_scores(shipped, tests[name])
        record(f"rathaus_{name}", label, f"rathaus (threshold {threshold:.2f})", gold[name],
               [s >= threshold for s in scores])
        record(f"baseline_{name}", label, "TF-IDF + LR", gold[name], both.predict(tests[name]))
    record("baseline18_ho18", "2018 only → 2018 held-out", "TF-IDF + LR", gold["ho18"], only18.predict(tests["ho18"]))

    if args.no_cross:
        print(table(rows, ("train → test", "system", "texts", "macro-F1", "P OFFENSE", "R OFFENSE")))
        return
    with tempfile.TemporaryDirectory(prefix="guard-bench-") as directory:
        table_ = TokenTable()
        for source, name, label, baseline in ((g18, "all21", "cross: 2018 only → all 2021", only18),
                                              (g21, "ho18", "cross: 2021 only → 2018 held-out", only21)):
            model = cross_model(source, shipped, table_, Path(directory))
            scores = guard_scores(model, tests[name])
            key = "cross_18_to_21" if source is g18 else "cross_21_to_18"
            figures[f"{key}_threshold"] = model.threshold
            record(f"rathaus_{key}", label, f"rathaus recipe (threshold {model.threshold:.2f})", gold[name],
                   [s >= model.threshold for s in scores])
            record(f"baseline_{key}", label, "TF-IDF + LR", gold[name], baseline.predict(tests[name]))
            if source is g18:  # the same one-source model on the 2021 held-out part, next to the in-sample figure
                ho = [s >= model.threshold for s in guard_scores(model, tests["ho21"])]
                record("rathaus_cross_18_to_ho21", "cross: 2018 only → 2021 held-out", "rathaus recipe",
                       gold["ho21"], ho)
                record("baseline_cross_18_to_ho21", "cross: 2018 only → 2021 held-out", "TF-IDF + LR",
                       gold["ho21"], only18.predict(tests["ho21"]))
    for system in ("rathaus", "baseline"):
        figures[f"{system}_cross_dataset_macro_f1"] = min(figures[f"{system}_cross_18_to_21_macro_f1"],  # type: ignore[type-var]
                                                         figures[f"{system}_cross_21_to_18_macro_f1"])
    figures["cross_dataset_macro_f1"] = figures["rathaus_cross_dataset_macro_f1"]
    figures["cross_dataset_ratio"] = (figures["rathaus_cross_dataset_macro_f1"]  # type: ignore[operator]
                                      / figures["baseline_cross_dataset_macro_f1"])
    figures["heldout_2021_texts"] = len(tests["ho21"])
    figures["all_2021_texts"] = len(tests["all21"])
    print(table(rows, ("train → test", "system", "texts", "macro-F1", "P OFFENSE", "R OFFENSE")))
    print(f"cross-dataset macro-F1 (lower direction): rathaus {figures['cross_dataset_macro_f1']:.3f}, "
          f"TF-IDF + LR {figures['baseline_cross_dataset_macro_f1']:.3f}\n")


def read_multilingual(path: Path) -> list[tuple[str, Example]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            language, label, text = line.split("\t")
            rows.append((language, Example(text, label == "OFFENSE", label)))
    return rows


def class_row(name: str, e: Evaluation, cpu_ms: float) -> tuple[str, ...]:
    return (name, f"{e.macro_f1:.3f}", f"{e.offense.precision:.3f}", f"{e.offense.recall:.3f}",
            f"{e.other.precision:.3f}", f"{e.other.recall:.3f}", f"{e.ms_per_text:.2f}", f"{cpu_ms:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "germeval2018" / "germeval2018.training.txt")
    ap.add_argument("--data-2021", type=Path,
                    default=SHARED_DATA / "germeval2021-toxic" / "GermEval21_TrainData.csv")
    ap.add_argument("--no-cross", action="store_true",
                    help="skip training the one-source models (e.g. to measure an older model file in-sample only)")
    ap.add_argument("--model", type=Path, help="another model file (default: the shipped one)")
    ap.add_argument("--name", default="guard", help="result name: bench/results/NAME.json")
    args = ap.parse_args()
    if args.model:
        os.environ["RATHAUS_GUARD_MODEL"] = str(require(args.model, "model file"))
    heldout = part(germeval2018(require(args.data, "GermEval 2018 training file")), "heldout")
    gold = [e.offensive for e in heldout]
    texts = [e.text for e in heldout]
    default = default_threshold()
    keywords = KeywordGuard()
    warm_up()
    keywords("warm-up")

    scores, guard_ms, guard_cpu = timed_scores(texts, lambda t: check(t).score)
    ours = scores_to_evaluation(gold, [s >= default for s in scores], threshold=default)
    ours.ms_per_text = guard_ms
    hits, keyword_ms, keyword_cpu = timed_scores(texts, keywords)
    baseline = scores_to_evaluation(gold, [bool(h) for h in hits])
    baseline.ms_per_text = keyword_ms
    print(f"GermEval 2018 held-out part: {len(heldout)} texts ({sum(gold)} OFFENSE), default threshold {default:.2f}")
    print(table([class_row("rathaus guard", ours, guard_cpu), class_row("keyword list", baseline, keyword_cpu)],
                ("system", "macro-F1", "P OFFENSE", "R OFFENSE", "P OTHER", "R OTHER", "ms/text", "CPU ms/text")))
    ratio = ours.macro_f1 / baseline.macro_f1 if baseline.macro_f1 else float("inf")
    print(f"macro-F1 ratio rathaus / keywords: {ratio:.2f}\n")
    figures: dict[str, object] = {}
    sources_section(args, load_model(), figures)

    rows = []
    for t in sorted({*THRESHOLDS, default}):
        e = scores_to_evaluation(gold, [s >= t for s in scores])
        rows.append({"threshold": t, "precision": e.offense.precision, "recall": e.offense.recall,
                     "macro_f1": e.macro_f1, "flagged": sum(s >= t for s in scores) / len(scores)})
    print(table([(f"{r['threshold']:.2f}", f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['macro_f1']:.3f}",
                  f"{r['flagged']:.1%}") for r in rows],
                ("threshold", "P OFFENSE", "R OFFENSE", "macro-F1", "flagged")))
    if not args.model:  # the documented plot is the shipped model's
        plot(rows, default, PLOT)
        print(f"plot: {PLOT.relative_to(ROOT)}")
    print()

    neutral = neutral_false_positive_rate()
    neutral_texts = [text for _, text in neutral_mentions()]
    keyword_fp = sum(keywords(t) for t in neutral_texts)
    print(f"neutral mentions ({neutral['sentences']} sentences): rathaus flags {neutral['false_positives']} "
          f"({neutral['rate']:.1%}), keywords flag {keyword_fp} ({keyword_fp / len(neutral_texts):.1%})")
    for group, entry in neutral["by_group"].items():
        print(f"  {group}: {entry['false_positives']}/{entry['sentences']}")
    for item in neutral["flagged"][:10]:
        print(f"  flagged {item['score']:.2f}: {item['text']}")

    offensive = [e.text for e in heldout if e.offensive]
    dodged = [dodge(t) for t in offensive]
    model = load_model()
    raw_recall = sum(model.probability(t) >= default for t in dodged) / len(dodged)
    guard_recall = sum(check(t).offensive for t in dodged) / len(dodged)
    clean_recall = sum(s >= default for s, g in zip(scores, gold, strict=True) if g) / len(dodged)
    keyword_dodged = sum(keywords(t) for t in dodged) / len(dodged)
    print(f"\ndodged offensive texts ({len(dodged)}): recall without normalisation {raw_recall:.3f}, "
          f"with the guard's normalisation {guard_recall:.3f} (undodged {clean_recall:.3f}); "
          f"keywords {keyword_dodged:.3f}")

    figures.update({
        "heldout_texts": len(heldout), "heldout_offense": sum(gold), "threshold": default,
        "rathaus_macro_f1": ours.macro_f1, "keywords_macro_f1": baseline.macro_f1, "macro_f1_ratio": ratio,
        "rathaus_ms_per_text": ours.ms_per_text, "keywords_ms_per_text": baseline.ms_per_text,
        "ms_per_text": ours.ms_per_text, "rathaus_cpu_ms_per_text": guard_cpu, "keywords_cpu_ms_per_text": keyword_cpu,
        "rathaus_accuracy": ours.accuracy, "keywords_accuracy": baseline.accuracy,
        "rathaus_neutral_fp_rate": neutral["rate"], "keywords_neutral_fp_rate": keyword_fp / len(neutral_texts),
        "neutral_sentences": neutral["sentences"], "rathaus_neutral_false_positives": neutral["false_positives"],
        "dodged_recall_without_normalisation": raw_recall, "dodged_recall_rathaus": guard_recall,
        "dodged_recall_keywords": keyword_dodged, "undodged_recall_rathaus": clean_recall,
        "model_bytes": default_model_path().stat().st_size,
        "model_cv_macro_f1": model.meta["cv_macro_f1"], **machine(),
        "threshold_tuned_on": model.meta.get("threshold_tuned_on", "out-of-fold scores of the GermEval 2018 "
                                                                   "training part"),
    })
    for name, e in (("rathaus", ours), ("keywords", baseline)):
        for cls, f in (("offense", e.offense), ("other", e.other)):
            figures[f"{name}_{cls}_precision"] = f.precision
            figures[f"{name}_{cls}_recall"] = f.recall
    figures["rathaus_flagged_share"] = sum(s >= default for s in scores) / len(scores)
    for r in rows:
        key = f"threshold_{r['threshold']:.2f}"
        figures[f"{key}_offense_precision"] = r["precision"]
        figures[f"{key}_offense_recall"] = r["recall"]
        figures[f"{key}_macro_f1"] = r["macro_f1"]

    identity_rows, flagged_identities = [], 0
    for identity in IDENTITIES:
        results = [check(t.format(identity)[0].upper() + t.format(identity)[1:]) for t in TEMPLATES]
        flagged = sum(r.offensive for r in results)
        flagged_identities += flagged
        mean = sum(r.score for r in results) / len(results)
        identity_rows.append((identity, f"{mean:.2f}", f"{max(r.score for r in results):.2f}",
                              f"{flagged}/{len(results)}"))
        figures[f"identity_{identity.replace(' ', '_').lower()}_mean_score"] = mean
        figures[f"identity_{identity.replace(' ', '_').lower()}_flagged"] = flagged
    figures["identity_templates_flagged"] = flagged_identities
    figures["identity_templates_total"] = len(IDENTITIES) * len(TEMPLATES)
    figures["identity_terms_flagged"] = sum(int(r[3].split("/")[0]) > 0 for r in identity_rows)
    print(f"\nidentity terms in neutral templates ({len(TEMPLATES)} templates each): "
          f"{flagged_identities}/{len(IDENTITIES) * len(TEMPLATES)} flagged")
    print(table(identity_rows, ("identity", "mean score", "max score", "flagged")))

    print("\nother languages (hand-written, tests/fixtures/guard_multilingual.tsv):")
    multi = read_multilingual(MULTILINGUAL)
    lang_rows = []
    for language in sorted({lang for lang, _ in multi}):
        subset = [e for lang, e in multi if lang == language]
        for name, predict in (("rathaus", lambda t: check(t).offensive), ("keywords", keywords)):
            e = evaluate(subset, predict)
            lang_rows.append((language, name, f"{e.macro_f1:.3f}", f"{e.offense.recall:.3f}",
                              f"{1 - e.other.recall:.3f}"))
            figures[f"{name}_{language}_macro_f1"] = e.macro_f1
            figures[f"{name}_{language}_offense_recall"] = e.offense.recall
            figures[f"{name}_{language}_false_positive_rate"] = 1 - e.other.recall
    print(table(lang_rows, ("language", "system", "macro-F1", "R OFFENSE", "FP rate OTHER")))
    path = write_result(args.name, figures)
    print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
