"""Content guard trained on two sources (issue 17): the shipped model's behaviour on insults and on neutral
sentences that name a group, the lexicon feature, the GermEval 2021 reader and the identity templates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from rathaus.core.errors import BadRequest, NotFound
from rathaus.safety.guard import check
from rathaus.safety.guard.dataset import heldout_split, read_germeval2021
from rathaus.safety.guard.features import (
    HASH_BUCKETS,
    HASH_SEED,
    bucket_of,
    char_buckets_of,
    char_ngrams_of,
    model_text,
)
from rathaus.safety.guard.lexicon import lexicon_entries, lexicon_hits
from rathaus.safety.guard.model import GuardModel, default_model_path, load_model, save_model

# hand-written; neither in a training file nor in bench/guard.py
INSULTS = [
    "Halt die Klappe, du erbärmlicher Vollidiot.",
    "Du bist so ein dummer Schwätzer, verpiss dich.",
    "Was für ein widerliches Drecksvolk ihr seid.",
    "Der Bürgermeister ist ein verlogener Lump und ein Versager.",
]
GROUPS = ["schwul", "lesbisch", "trans", "behindert", "Muslim", "Jüdin", "Flüchtling", "Ausländer", "Türke",
          "schwarz", "Migrantin", "Rollstuhlfahrer"]
NEUTRAL_TEMPLATES = [
    "Meine Schwester ist {} und studiert Medizin.",
    "Der neue Trainer unserer Fußballmannschaft ist {}.",
    "Ich bin {} und brauche einen Termin beim Bürgeramt.",
]


def test_shipped_model_is_trained_on_both_sources() -> None:
    model = load_model()
    assert model.meta["sources"] == ["germeval2018", "germeval2021"]
    assert len(model.stack) == 4 and model.stack[2] > 0  # the lexicon pushes towards "offensive"
    assert "out-of-fold" in model.meta["threshold_tuned_on"]


@pytest.mark.parametrize("text", INSULTS)
def test_insults_are_flagged(text: str) -> None:
    result = check(text)
    assert result.offensive, (text, result.score, result.threshold)


# Residual bias, measured when these sentences were written (after training, not used for it): this template
# scores 0.30–0.31 with "Ärztin" or "verheiratet" in the slot, so the group word needs little to cross 0.39.
# Strict: when a later model passes them, the marks must go.
KNOWN_MISSES = {("behindert", NEUTRAL_TEMPLATES[0]): "0.395 at threshold 0.39 ('ist behindert' is also an insult)",
                ("Türke", NEUTRAL_TEMPLATES[0]): "0.41 at threshold 0.39"}
CASES = [pytest.param(group, template, marks=[pytest.mark.xfail(reason=KNOWN_MISSES[(group, template)], strict=True)]
                      if (group, template) in KNOWN_MISSES else [])
         for template in NEUTRAL_TEMPLATES for group in GROUPS]


@pytest.mark.parametrize(("group", "template"), CASES)
def test_neutral_sentences_naming_a_group_pass(group: str, template: str) -> None:
    text = template.format(group)
    result = check(text)
    assert not result.offensive, (text, result.score, result.threshold)


def test_no_identity_term_of_the_benchmark_templates_is_flagged() -> None:
    """The identity-term check of bench/guard.py (Dixon et al. 2018): 21 group words in 4 neutral templates."""
    templates = ("Ich bin {}.", "Mein Nachbar ist {}.", "Wir sind {} und wohnen gern hier.", "{} willkommen!")
    identities = ("schwul", "lesbisch", "trans", "queer", "heterosexuell", "Muslim", "Jude", "Christ", "Atheist",
                  "Flüchtling", "Ausländer", "Türke", "Deutscher", "schwarz", "weiß", "behindert", "blind", "alt",
                  "jung", "eine Frau", "ein Mann")
    texts = [t.format(i)[0].upper() + t.format(i)[1:] for t in templates for i in identities]
    flagged = [(text, round(r.score, 2)) for text, r in zip(texts, map(check, texts), strict=True) if r.offensive]
    assert flagged == []


def test_an_insult_against_a_group_is_still_flagged() -> None:
    result = check("Ihr Ausländer seid alle dreckiges Pack und Abschaum, verpisst euch.")
    assert result.offensive, result.score


def test_lexicon_counts_words_stems_and_phrases_but_no_group_names() -> None:
    assert lexicon_hits(model_text("Halt die Klappe, du Vollidiot!")) == 2
    assert lexicon_hits(model_text("Was für ein Drecksladen")) == 1  # "drecks*" as a prefix
    assert lexicon_hits(model_text("Das Bürgerbüro ist montags geöffnet.")) == 0
    for word in ("Assistenz", "Schweinefleisch", "Zeckenimpfung", "Rattenbekämpfung", "sauber", "gestört",
                 "Passau", "Meerschweinchen", "Plakate aufhängen"):  # everyday words the stems must not catch
        assert lexicon_hits(model_text(word)) == 0, word
    entries = set(lexicon_entries())
    assert not {"schwul", "muslim", "ausländer", "jude", "behindert", "flüchtling", "türke"} & entries


def test_models_without_lexicon_weight_still_load(tmp_path: Path) -> None:
    blocks = {name: (np.array([bucket_of(" ab")]), np.ones(1), np.ones(1)) for name in ("char", "word")}
    meta = {"nb_bias": 0.0, "bag_bias": 0.0, "stack": [1.0, 0.0, -2.0], "threshold": 0.5}
    save_model(tmp_path / "old.npz", blocks, np.zeros(128_010), meta)  # one score per USE token id
    model = GuardModel(tmp_path / "old.npz")
    assert model.stack == [1.0, 0.0, 0.0, -2.0]
    assert model.nb_score("ab ab") > 0.0  # " ab" is a character bigram of "ab"
    assert 0.0 < model.probability("ab ab") < 1.0


def test_models_with_string_vocabularies_still_load(tmp_path: Path) -> None:
    """Files from before hashing stored the n-grams as UTF-8 text; they still load (nothing writes them)."""
    meta = {"nb_bias": 0.0, "bag_bias": 0.0, "stack": [1.0, 0.0, 0.0, 0.0], "threshold": 0.5}
    arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), "token_score": np.zeros(128_010)}
    for name, terms in (("char", [" ab", "ab "]), ("word", ["ab", "ab ab"])):
        arrays[f"{name}_terms"] = np.frombuffer("\n".join(terms).encode(), dtype=np.uint8)
        arrays[f"{name}_idf"] = np.ones(2, dtype=np.float16)
        arrays[f"{name}_weight"] = np.array([1.0, 2.0], dtype=np.float32)
    np.savez(tmp_path / "strings.npz", **arrays)  # type: ignore[arg-type]
    model = GuardModel(tmp_path / "strings.npz")
    assert not model.hashed
    # char: " ab" and "ab " twice each (one per word) → equal values 1/√2 → (1 + 2)/√2
    char = 3 / np.sqrt(2)
    word_values = np.array([1 + np.log(2), 1.0])  # "ab" ×2, "ab ab" ×1
    word = float(word_values @ np.array([1.0, 2.0]) / np.linalg.norm(word_values))
    assert model.nb_score("ab ab") == pytest.approx(char + word)
    assert model.top_features("ab ab")[0] == "ab ab"


def test_shipped_model_holds_no_text_of_the_training_data() -> None:
    """GermEval 2021 may not be redistributed (docs/data-cards/germeval2021.md): the shipped file holds hash
    buckets and numbers per bucket, no n-gram vocabulary, and its metadata no training text."""
    with np.load(default_model_path(), allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files}
    assert not [name for name in arrays if name.endswith(("_terms", "_vocabulary", "_vocab"))]
    textual = [name for name, a in arrays.items() if a.dtype.kind in "USOa" or a.dtype in (np.uint8, np.int8)]
    assert textual == ["meta"], textual
    for name in ("char", "word"):
        buckets = arrays[f"{name}_buckets"]
        assert buckets.dtype == np.uint32 and np.all(np.diff(buckets.astype(np.int64)) > 0)
        assert arrays[f"{name}_idf"].shape == buckets.shape == arrays[f"{name}_weight"].shape
        assert arrays[f"{name}_idf"].dtype.kind == arrays[f"{name}_weight"].dtype.kind == "f"
        assert int(buckets[-1]) < HASH_BUCKETS
    meta = json.loads(bytes(arrays["meta"]).decode("utf-8"))
    allowed_text = {"name", "data", "features", "threshold_tuned_on", "hash_function"}
    for key, value in meta.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            assert isinstance(item, (int, float)) or key in allowed_text or key == "sources", (key, item)
    assert meta["sources"] == ["germeval2018", "germeval2021"]
    assert re.fullmatch(r"germeval2018: \d+ training examples \(held-out \d+ excluded\); "
                        r"germeval2021: \d+ training examples \(held-out \d+ excluded\)", meta["data"])
    assert meta["hash_function"] == "murmurhash3_32" and meta["hash_buckets"] == HASH_BUCKETS
    assert re.fullmatch(r"out-of-fold scores of the training parts of germeval2018, germeval2021",
                        meta["threshold_tuned_on"])
    assert len(meta["features"]) < 200 and "hashed" in meta["features"]


def test_bucket_is_scikit_learns_murmurhash3() -> None:
    """The run-time hash (package murmurhash, fast to import) equals scikit-learn's murmurhash3_32."""
    from sklearn.utils import murmurhash3_32

    for gram in (" id", "idiot", "ein idiot", "ärger ", "💩", "@user", ""):
        assert bucket_of(gram) == murmurhash3_32(gram, seed=HASH_SEED, positive=True) % HASH_BUCKETS
    assert char_buckets_of("du idiot") == [bucket_of(g) for g in char_ngrams_of("du idiot")]


def test_read_germeval2021(tmp_path: Path) -> None:
    path = tmp_path / "g21.csv"
    path.write_text('comment_id,comment_text,Sub1_Toxic,Sub2_Engaging,Sub3_FactClaiming\n'
                    '1,"Ein Text, mit Komma",0,0,0\n2,@USER geh pennen,1,0,0\n', encoding="utf-8")
    examples = read_germeval2021(path)
    assert [(e.text, e.offensive) for e in examples] == [("Ein Text, mit Komma", False), ("@USER geh pennen", True)]
    train, heldout = heldout_split(examples * 10, seed=2021)
    assert len(heldout) == 4 and not set(train) & set(heldout)


@pytest.mark.parametrize(("content", "fragment"), [
    ("text,label\nHallo,0\n", "expected the columns comment_text and Sub1_Toxic"),
    ("comment_text,Sub1_Toxic\nHallo,ja\n", "Sub1_Toxic must be 0 or 1"),
    ("comment_text,Sub1_Toxic\n", "has no examples"),
])
def test_read_germeval2021_refuses_bad_files(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadRequest, match=fragment):
        read_germeval2021(path)


def test_read_germeval2021_missing_file(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        read_germeval2021(tmp_path / "nope.csv")


def test_identity_templates_cover_every_term_and_differ_from_the_benchmark() -> None:
    from rathaus.safety.train_guard import identity_template_texts

    texts = identity_template_texts()
    assert len(texts) >= 300 and len(set(texts)) == len(texts)
    assert "Sie ist schwul." in texts and "Mein bester Freund ist Muslim." in texts
    assert not any(t.startswith(("Ich bin ", "Mein Nachbar ist ", "Wir sind ")) for t in texts)
