"""Train the PII name/place tagger (CRF) on GermEval 2014 and write it into the package.

    python -m rathaus.safety.train_pii [--data ../shared/data/germeval2014-ner]

``--data`` is the GermEval folder (every ``NER-de-*.tsv`` in it: the dev split and the first half of the
official test release, 4,750 sentences) or one file.

Steps (deterministic: same data, same package versions → same files):
1. split the sentences by hash (rathaus.safety.pii.germeval): 20 % TEST (the report part of bench/pii.py;
   never used here except to write its sentence numbers), 15 % VALIDATION (all choices and thresholds),
   65 % TRAIN; the split is written to pii-split.json;
2. build the name/place lists from Faker and the US Census lists of the ``names`` package
   (pii-lexicon.json.gz),
   train the word classifier (person/place/noun from USE embeddings; pii-wordclass.npz) and the spelling
   classifier (the same from character n-grams; pii-spelling.npz);
3. try a few regularisation settings on TRAIN, score each on VALIDATION, pick the best PER F1;
4. pick marginal-probability thresholds on VALIDATION: "default" (highest recall with precision >= 0.80, else
   best F1) and "high_recall" (best F2);
5. train the final model on TRAIN + VALIDATION with the chosen setting (pii-crf.crfsuite + pii-crf.json).

Needs the ``test`` extra (faker, names) for step 2 only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

from rathaus.core.errors import BadRequest
from rathaus.safety.pii.features import sentence_features
from rathaus.safety.pii.germeval import CORPUS_GLOB, Scores, Sentence, read_corpus, score, spans_from_tags
from rathaus.safety.pii.lexicon import LEXICON_FILE, MODELS, build_lexicon, lexicon_from, write_lexicon_data
from rathaus.safety.pii.spelling import SPELLING_FILE, SpellingClassifier, train_spelling
from rathaus.safety.pii.tagger import META_FILE, MODEL_FILE, NameTagger
from rathaus.safety.pii.wordclass import WORDCLASS_FILE, WordClassifier, train_classifier, training_words

LABEL_TYPES = ("PER", "LOC", "ORG", "OTH")  # ORG/OTH are learnt so that they are not confused with PER/LOC
GRID = ({"c1": 0.05, "c2": 0.01}, {"c1": 0.1, "c2": 0.05}, {"c1": 0.2, "c2": 0.01})
THRESHOLDS = (0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1)
MIN_PRECISION = 0.80
SPLIT_FILE = MODELS / "pii-split.json"
DEFAULT_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "germeval2014-ner"
FEATURE_VERSION = 3  # 3: spelling classifier bins (rathaus.safety.pii.spelling)


def _labels(sentence: Sentence) -> list[str]:
    return [t if t == "O" or t.split("-", 1)[1] in LABEL_TYPES else "O" for t in sentence.tags]


def _train(sentences: list[Sentence], lexicon, classifier: WordClassifier, spelling: SpellingClassifier,
           params: dict[str, float], path: Path) -> None:
    import pycrfsuite

    words = [w for s in sentences for w in s.tokens]
    classes, spellings = classifier.probabilities(words), spelling.probabilities(words)
    trainer = pycrfsuite.Trainer(verbose=False)
    for s in sentences:
        trainer.append(sentence_features(s.tokens, lexicon, classes, spellings), _labels(s))
    trainer.set_params({**params, "max_iterations": 200, "feature.possible_transitions": True})
    trainer.train(str(path))


def evaluate(tagger: NameTagger, sentences: list[Sentence], thresholds: dict[str, float]) -> dict:
    gold, predicted = [], []
    for s in sentences:
        gold.append({g for g in spans_from_tags(s.tags) if g[0] in ("PER", "LOC")})
        predicted.append({(t.type, t.first, t.stop) for t in tagger.tag(s.tokens, thresholds)})
    return score(gold, predicted)


def _f2(s: Scores) -> float:
    return 5 * s.precision * s.recall / (4 * s.precision + s.recall) if s.precision + s.recall else 0.0


def _pick_thresholds(tagger: NameTagger, sentences: list[Sentence], kind: str) -> dict[str, tuple[float, dict]]:
    """Two operating points chosen on VALIDATION:

    - "default": the highest recall with precision >= MIN_PRECISION, else the best F1;
    - "high_recall": the best F2 (recall weighs twice: a missed name leaks, a false one costs answer quality).
    """
    rows = []
    for t in THRESHOLDS:
        s = evaluate(tagger, sentences, {"PER": t, "LOC": t})[kind]
        rows.append((t, s))
    ok = [(t, s) for t, s in rows if s.precision >= MIN_PRECISION]
    default = max(ok, key=lambda r: (r[1].recall, r[0])) if ok else max(rows, key=lambda r: (r[1].f1, r[0]))
    high_recall = max(rows, key=lambda r: (_f2(r[1]), r[0]))
    return {"default": (default[0], default[1].as_dict()), "high_recall": (high_recall[0], high_recall[1].as_dict())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="GermEval 2014 folder (all NER-de-*.tsv) or one file (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=MODELS, help="directory for the model files (default: the package)")
    args = ap.parse_args(argv)
    try:
        import faker  # noqa: F401
        import names  # noqa: F401
    except ImportError as exc:
        print(f"train_pii: {exc.name} is missing; install the test extra (pip install -e '.[test]')", file=sys.stderr)
        return 2
    if not args.data.exists():
        print(f"train_pii: GermEval 2014 data not found at {args.data} (expected the folder "
              f"../shared/data/germeval2014-ner beside the checkout; pass --data)", file=sys.stderr)
        return 2
    try:
        sentences = read_corpus(args.data)
    except BadRequest as exc:
        print(f"train_pii: {exc.detail}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    parts = {p: [s for s in sentences if s.part == p] for p in ("train", "validation", "test")}
    print("split:", {p: len(v) for p, v in parts.items()}, file=sys.stderr)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(args.data.glob(CORPUS_GLOB)) if args.data.is_dir() else [args.data]
    data_sha = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    (out / SPLIT_FILE.name).write_text(json.dumps({
        "data": sorted(data_sha), "data_sha256": data_sha,
        "rule": "bucket = int(sha256('\\x1f'.join(tokens)).hexdigest()[:8], 16) % 100; "
                "0-19 test (report), 20-34 validation (tuning), 35-99 train",
        **{p: {f: [s.number for s in v if s.source == f] for f in sorted(data_sha)} for p, v in parts.items()},
    }, indent=None) + "\n")

    lexicon_data = build_lexicon()
    write_lexicon_data(lexicon_data, out / LEXICON_FILE.name)
    lexicon = lexicon_from(lexicon_data)
    words, labels = training_words(lexicon_data, lexicon)
    accuracy = train_classifier(words, labels, out / WORDCLASS_FILE.name)
    print(f"word classifier: {len(words)} words, held-out accuracy {accuracy:.3f}", file=sys.stderr)
    classifier = WordClassifier(out / WORDCLASS_FILE.name)
    spelling_accuracy = train_spelling(lexicon_data, lexicon, out / SPELLING_FILE.name)
    print(f"spelling classifier: held-out accuracy {spelling_accuracy:.3f}", file=sys.stderr)
    spelling = SpellingClassifier(out / SPELLING_FILE.name)

    best = None
    with tempfile.TemporaryDirectory() as tmp:
        for params in GRID:
            path = Path(tmp) / "model.crfsuite"
            _train(parts["train"], lexicon, classifier, spelling, params, path)
            tagger = NameTagger(path, Path(tmp) / "none.json", lexicon, classifier, spelling)
            per = evaluate(tagger, parts["validation"], {"PER": 0.5, "LOC": 0.5})["PER"]
            print(f"  c1={params['c1']} c2={params['c2']}: validation PER F1 {per.f1:.3f}", file=sys.stderr)
            if best is None or per.f1 > best[1]:
                best = (params, per.f1)
                thresholds = {kind: _pick_thresholds(tagger, parts["validation"], kind) for kind in ("PER", "LOC")}
    assert best is not None
    params = best[0]
    chosen = {mode: {kind: thresholds[kind][mode][0] for kind in thresholds} for mode in ("default", "high_recall")}
    print(f"chosen {params}, thresholds {chosen}", file=sys.stderr)
    _train(parts["train"] + parts["validation"], lexicon, classifier, spelling, params, out / MODEL_FILE.name)
    (out / META_FILE.name).write_text(json.dumps({
        "model": MODEL_FILE.name, "format": "CRFsuite binary (python-crfsuite), no pickle",
        "data": sorted(data_sha), "data_sha256": data_sha, "trained_on": "train + validation parts",
        "sentences": len(parts["train"]) + len(parts["validation"]), "labels": list(LABEL_TYPES),
        "params": params, "feature_version": FEATURE_VERSION,
        "word_classifier": {"file": WORDCLASS_FILE.name, "words": len(words), "heldout_accuracy": accuracy},
        "spelling_classifier": {"file": SPELLING_FILE.name, "heldout_accuracy": spelling_accuracy},
        "thresholds": chosen["default"],
        "thresholds_high_recall": chosen["high_recall"],
        "validation": {kind: thresholds[kind]["default"][1] for kind in thresholds},
        "validation_high_recall": {kind: thresholds[kind]["high_recall"][1] for kind in thresholds},
        "threshold_rule": f"default: highest recall with precision >= {MIN_PRECISION} on validation, else best F1; "
                          "high_recall: best F2 on validation (scores of the model trained on TRAIN only)",
    }, indent=2) + "\n")
    size = (out / MODEL_FILE.name).stat().st_size
    print(f"wrote {out / MODEL_FILE.name} ({size / 1024:.0f} KB) in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
