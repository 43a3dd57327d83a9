"""Train the PII name/place tagger (CRF) on GermEval 2014 and write it into the package.

    python -m rathaus.safety.train_pii --data /work/shared/data/germeval2014-ner/NER-de-dev.tsv

Steps (deterministic: same data, same package versions → same files):
1. split the sentences by hash (rathaus.safety.pii.germeval): 30 % TEST (never used here except to
   write its sentence numbers), 15 % VALIDATION, 55 % TRAIN; the split is written to pii-split.json;
2. build the name/place lists from Faker and the US Census lists of the ``names`` package (pii-lexicon.json);
3. try a few regularisation settings on TRAIN, score each on VALIDATION, pick the best PER F1;
4. pick the marginal-probability thresholds on VALIDATION (highest recall with precision >= 0.80, else best F1);
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

from rathaus.safety.pii.features import sentence_features
from rathaus.safety.pii.germeval import Sentence, read_germeval, score, spans_from_tags
from rathaus.safety.pii.lexicon import LEXICON_FILE, MODELS, build_lexicon, lexicon_from
from rathaus.safety.pii.tagger import META_FILE, MODEL_FILE, NameTagger

LABEL_TYPES = ("PER", "LOC", "ORG", "OTH")  # ORG/OTH are learnt so that they are not confused with PER/LOC
GRID = ({"c1": 0.05, "c2": 0.01}, {"c1": 0.1, "c2": 0.05}, {"c1": 0.2, "c2": 0.01})
THRESHOLDS = (0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.1)
MIN_PRECISION = 0.80
SPLIT_FILE = MODELS / "pii-split.json"
FEATURE_VERSION = 1


def _labels(sentence: Sentence) -> list[str]:
    return [t if t == "O" or t.split("-", 1)[1] in LABEL_TYPES else "O" for t in sentence.tags]


def _train(sentences: list[Sentence], lexicon, params: dict[str, float], path: Path) -> None:  # noqa: ANN001
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for s in sentences:
        trainer.append(sentence_features(s.tokens, lexicon), _labels(s))
    trainer.set_params({**params, "max_iterations": 200, "feature.possible_transitions": True})
    trainer.train(str(path))


def evaluate(tagger: NameTagger, sentences: list[Sentence], thresholds: dict[str, float]) -> dict:
    gold, predicted = [], []
    for s in sentences:
        gold.append({g for g in spans_from_tags(s.tags) if g[0] in ("PER", "LOC")})
        predicted.append({(t.type, t.first, t.stop) for t in tagger.tag(s.tokens, thresholds)})
    return score(gold, predicted)


def _pick_threshold(tagger: NameTagger, sentences: list[Sentence], kind: str) -> tuple[float, dict]:
    rows = []
    for t in THRESHOLDS:
        s = evaluate(tagger, sentences, {"PER": t, "LOC": t})[kind]
        rows.append((t, s))
    ok = [(t, s) for t, s in rows if s.precision >= MIN_PRECISION]
    t, s = max(ok, key=lambda r: (r[1].recall, r[0])) if ok else max(rows, key=lambda r: (r[1].f1, r[0]))
    return t, s.as_dict()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/germeval2014-ner/NER-de-dev.tsv"))
    ap.add_argument("--out", type=Path, default=MODELS, help="directory for the model files (default: the package)")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    sentences = read_germeval(args.data)
    parts = {p: [s for s in sentences if s.part == p] for p in ("train", "validation", "test")}
    print("split:", {p: len(v) for p, v in parts.items()}, file=sys.stderr)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    data_sha = hashlib.sha256(args.data.read_bytes()).hexdigest()
    (out / SPLIT_FILE.name).write_text(json.dumps({
        "data": args.data.name, "data_sha256": data_sha,
        "rule": "bucket = int(sha256('\\x1f'.join(tokens)).hexdigest()[:8], 16) % 100; "
                "0-29 test, 30-44 validation, 45-99 train",
        **{p: [s.number for s in v] for p, v in parts.items()},
    }, indent=None) + "\n")

    lexicon_data = build_lexicon()
    (out / LEXICON_FILE.name).write_text(json.dumps(lexicon_data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    lexicon = lexicon_from(lexicon_data)

    best = None
    with tempfile.TemporaryDirectory() as tmp:
        for params in GRID:
            path = Path(tmp) / "model.crfsuite"
            _train(parts["train"], lexicon, params, path)
            tagger = NameTagger(path, Path(tmp) / "none.json", lexicon)
            per = evaluate(tagger, parts["validation"], {"PER": 0.5, "LOC": 0.5})["PER"]
            print(f"  c1={params['c1']} c2={params['c2']}: validation PER F1 {per.f1:.3f}", file=sys.stderr)
            if best is None or per.f1 > best[1]:
                best = (params, per.f1)
                thresholds = {kind: _pick_threshold(tagger, parts["validation"], kind) for kind in ("PER", "LOC")}
    assert best is not None
    params = best[0]
    print(f"chosen {params}, thresholds {({k: v[0] for k, v in thresholds.items()})}", file=sys.stderr)
    _train(parts["train"] + parts["validation"], lexicon, params, out / MODEL_FILE.name)
    (out / META_FILE.name).write_text(json.dumps({
        "model": MODEL_FILE.name, "format": "CRFsuite binary (python-crfsuite), no pickle",
        "data": args.data.name, "data_sha256": data_sha, "trained_on": "train + validation parts",
        "sentences": len(parts["train"]) + len(parts["validation"]), "labels": list(LABEL_TYPES),
        "params": params, "feature_version": FEATURE_VERSION,
        "thresholds": {kind: v[0] for kind, v in thresholds.items()},
        "validation": {kind: v[1] for kind, v in thresholds.items()},
        "threshold_rule": f"highest recall with precision >= {MIN_PRECISION} on validation, else best F1",
    }, indent=2) + "\n")
    size = (out / MODEL_FILE.name).stat().st_size
    print(f"wrote {out / MODEL_FILE.name} ({size / 1024:.0f} KB) in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
