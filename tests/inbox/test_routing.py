"""Routing of incoming messages: taxonomy, training CSV, calibrated model, thresholds, model file, evaluation.

The training rows are clearly synthetic German requests written for this test; the embedder is a deterministic
hashing function (pure logic, no model download), so the figures are exact and fast.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rathaus.core.errors import ConfigError
from rathaus.core.imports import UnreadableFile
from rathaus.inbox.routing import (
    ModelFileError,
    RoutingError,
    RoutingFileError,
    RoutingModel,
    TrainingRow,
    read_training_csv,
    routed_share,
    threshold_for_precision,
    train,
)
from rathaus.inbox.routing.calibration import apply_temperature, fit_temperature
from rathaus.inbox.routing.evaluate import evaluate_rows, plot_confusion
from rathaus.inbox.taxonomy import DEFAULT_TAXONOMY, Taxonomy, load_taxonomy, parse_taxonomy

TEMPLATES = {
    "wohngeld": ["Ich möchte Wohngeld beantragen, meine Miete ist zu hoch geworden",
                 "Wie lange dauert die Bearbeitung meines Wohngeldantrags noch",
                 "Der Bescheid zum Wohngeld ist falsch berechnet, bitte prüfen"],
    "meldewesen": ["Ich bin umgezogen und möchte mich in der neuen Wohnung ummelden",
                   "Welche Unterlagen brauche ich für die Anmeldung meines Wohnsitzes",
                   "Abmeldung ins Ausland, wie funktioniert das mit der Meldebescheinigung"],
    "bewohnerparken": ["Ich brauche einen Bewohnerparkausweis für mein Auto in unserer Straße",
                       "Mein Parkausweis läuft ab, wie kann ich ihn verlängern",
                       "Parkausweis für Anwohner in der Parkzone beantragen"],
    "bibliothek_ausleihe": ["Kann ich meine ausgeliehenen Bücher in der Bibliothek online verlängern",
                            "Ich habe eine Mahngebühr der Bibliothek für ein Buch bekommen",
                            "Ausleihe von Hörbüchern mit dem Bibliotheksausweis"],
}
SPAM = ["Gewinnspiel! Klicken Sie hier für Ihren Casino Bonus", "Günstige Uhren und Pillen ohne Rezept bestellen",
        "Ihr Paket wartet, bestätigen Sie Ihre Kreditkarte unter diesem Link"]
OPENERS = ["Sehr geehrte Damen und Herren,", "Hallo,", "Guten Tag,", "Moin,", ""]
CLOSERS = ["Mit freundlichen Grüßen", "Danke im Voraus", "Viele Grüße", ""]


def hashed_embed(texts: list[str]) -> np.ndarray:
    """A deterministic bag-of-words embedding (64 hashed buckets) standing in for the platform's embedder."""
    out = np.zeros((len(texts), 64))
    for i, text in enumerate(texts):
        for word in text.casefold().split():
            out[i, int(hashlib.sha256(word.strip(".,!?").encode()).hexdigest(), 16) % 64] += 1.0
    return out


def synthetic_rows(per_category: int = 25, seed: int = 3, spam: int = 25) -> list[TrainingRow]:
    rnd = random.Random(seed)
    rows = []
    for category, templates in TEMPLATES.items():
        for i in range(per_category):
            urgency = "hoch" if i % 3 == 0 else "normal"
            text = f"{rnd.choice(OPENERS)} {rnd.choice(templates)}. {rnd.choice(CLOSERS)} (Nr. {rnd.randint(1, 999)})"
            if urgency == "hoch":
                text += " Bitte dringend bearbeiten, die Angelegenheit eilt sehr."
            rows.append(TrainingRow(text, category, True, urgency))
    for i in range(spam):
        rows.append(TrainingRow(f"{rnd.choice(SPAM)} {i}", None, False))
    return rows


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def model(taxonomy: Taxonomy) -> RoutingModel:
    return train(synthetic_rows(), hashed_embed, taxonomy, folds=3)


# --- taxonomy ---------------------------------------------------------------------------------------------------

def test_shipped_taxonomy_is_generic_and_consistent(taxonomy: Taxonomy) -> None:
    assert {d.key for d in taxonomy.departments} == {"sozialamt", "buergerbuero", "verkehr", "bibliothek",
                                                     "verwaltung"}
    assert taxonomy.department_of("wohngeld") == "sozialamt"
    assert taxonomy.department("sozialamt").annex_iii is True
    assert all(d.mailbox is None or d.mailbox.endswith(".example") for d in taxonomy.departments)
    assert taxonomy.may_auto_answer("bibliothek_ausleihe") and not taxonomy.may_auto_answer("wohngeld")
    assert taxonomy.default_urgency == "normal"
    assert taxonomy.urgency_from_keywords("Die FRIST läuft morgen ab") == "hoch"
    assert taxonomy.urgency_from_keywords("Uns droht die Räumung, die Frist ist vorbei") == "sofort"
    assert taxonomy.urgency_from_keywords("Eine Frage zu Öffnungszeiten") is None


@pytest.mark.parametrize(("old", "new", "message"), [
    ("department: bibliothek\n    auto_answer: true", "department: sozialamt\n    auto_answer: true",
     "category 'bibliothek_ausleihe': auto_answer is not allowed in department 'sozialamt'"),
    ("department: verkehr\n", "department: verkehrsamt\n",
     "category 'bewohnerparken': unknown department 'verkehrsamt'"),
    ("confidence_threshold: 0.9", "confidence_threshold: 1.5",
     "departments[2] ('verkehr').confidence_threshold: Input should be less than or equal to 1"),
    ("mailbox: verkehr@musterstadt.example", "mailbox: verkehr-at-musterstadt",
     "departments[2] ('verkehr').mailbox: not an e-mail address"),
    ("- key: hoch", "- key: normal", "urgency level keys must be unique; repeated: normal"),
    ("languages: [de, en, tr, uk, ar, ru]", "languages: [de, English]", "not ISO 639-1 codes"),
    ("  - key: sozialamt\n", "  - key: sozialamt\n    budget: 3\n",
     "departments[0] ('sozialamt').budget: Extra inputs are not permitted"),
])
def test_taxonomy_errors_name_the_entry_and_field(old: str, new: str, message: str) -> None:
    text = DEFAULT_TAXONOMY.read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(ConfigError) as err:
        parse_taxonomy(text.replace(old, new, 1), "stadt.yaml")
    assert str(err.value).startswith("stadt.yaml: ")
    assert message in str(err.value)


def test_taxonomy_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text("languages: [de\ndepartments: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"taxonomy.yaml line 2, column \d+: not valid YAML"):
        load_taxonomy(path)
    with pytest.raises(ConfigError, match="taxonomy file not found"):
        load_taxonomy(tmp_path / "missing.yaml")


# --- training CSV -----------------------------------------------------------------------------------------------

def test_read_training_csv_german_columns_and_values(tmp_path: Path, taxonomy: Taxonomy) -> None:
    path = tmp_path / "anfragen.csv"
    path.write_bytes("Nachricht;Kategorie;Relevant;Dringlichkeit;Gewicht\n"
                     "\"Wohngeld beantragen; wie?\";wohngeld;ja;hoch;\n"
                     "Casino Bonus;;nein;;\n"
                     "Parkausweis verlängern;bewohnerparken;1;normal;3,5\n".encode("cp1252"))
    rows, report = read_training_csv(path, taxonomy)
    assert rows == [TrainingRow("Wohngeld beantragen; wie?", "wohngeld", True, "hoch", 1.0),
                    TrainingRow("Casino Bonus", None, False, None, 1.0),
                    TrainingRow("Parkausweis verlängern", "bewohnerparken", True, "normal", 3.5)]
    assert (report.rows_read, report.stored, report.rejected, report.categories) == (3, 3, 0, 2)
    assert report.encoding == "cp1252" and report.delimiter == ";"


def test_read_training_csv_refuses_bad_rows_naming_line_and_column(tmp_path: Path, taxonomy: Taxonomy) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,category,relevant,weight\n"
                    "Wohngeld beantragen,wohngeld,ja,1\n"
                    ",wohngeld,ja,1\n"
                    "Hundesteuer,hundesteuer,ja,1\n"
                    "Parkausweis,bewohnerparken,vielleicht,1\n"
                    "Bücher verlängern,bibliothek_ausleihe,ja,-2\n"
                    "Ummelden,,ja,1\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as err:
        read_training_csv(path, taxonomy)
    body = err.value.problem()
    assert body["problems_total"] == 5
    found = {(p["line"], p["column"]) for p in body["problems"]}
    assert found == {(3, "text"), (4, "category"), (5, "relevant"), (6, "weight"), (7, "category")}
    assert "Zeile/line 3, text: Text fehlt / text is empty" in err.value.detail
    hund = next(p for p in body["problems"] if p["line"] == 4)
    assert hund["value"] == "hundesteuer" and "not in the taxonomy" in hund["reason"]
    rows, report = read_training_csv(path, taxonomy, strict=False)
    assert [r.text for r in rows] == ["Wohngeld beantragen"]
    assert report.rejected == 5 and report.problems_total == 5


@pytest.mark.parametrize(("content", "message"), [
    (b"", "Datei ist leer / the file is empty"),
    (b"%PDF-1.7 binary", "not a text file"),
    (b"betreff;absender\nHallo;a@b.example\n", "missing columns – needed: text"),
    (b"text;category\n", "no data rows"),
])
def test_read_training_csv_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(RoutingFileError, match=message):
        read_training_csv(path)


# --- calibration and thresholds ---------------------------------------------------------------------------------

def test_threshold_for_precision_is_the_lowest_that_keeps_the_target() -> None:
    conf = [0.99, 0.95, 0.9, 0.8, 0.7, 0.6]
    right = [1, 1, 1, 0, 1, 0]
    assert threshold_for_precision(conf, right, target=1.0) == 0.9
    assert threshold_for_precision(conf, right, target=0.8) == 0.7  # 4 of 5 right at >= 0.7
    assert threshold_for_precision(conf, right, target=0.5) == 0.6
    assert threshold_for_precision([0.9, 0.8], [0, 0], target=0.95) == math.inf
    assert threshold_for_precision([], [], target=0.95) == math.inf
    # ties: a threshold cannot split equal confidences
    assert threshold_for_precision([0.9, 0.9, 0.5], [1, 0, 1], target=1.0) == math.inf
    with pytest.raises(ValueError, match="differ in length"):
        threshold_for_precision([0.9], [1, 0])
    share, precision, routed = routed_share([0.99, 0.95, 0.9, 0.5], [1, 0, 1, 1], 0.9)
    assert (share, precision, routed) == (0.75, pytest.approx(2 / 3), 3)
    assert routed_share([0.5], [1], math.inf) == (0.0, None, 0)


def test_temperature_is_monotonic_and_fitted_on_overconfident_predictions() -> None:
    rng = np.random.default_rng(0)
    n = 400
    labels = rng.integers(0, 3, n)
    probs = np.full((n, 3), 0.005)
    predicted = np.where(rng.random(n) < 0.7, labels, (labels + 1) % 3)  # 70 % right, but 99 % sure
    probs[np.arange(n), predicted] = 0.99
    t = fit_temperature(probs, labels)
    assert t > 1.5  # softened
    calibrated = apply_temperature(probs, t)
    assert calibrated.max(axis=1).mean() == pytest.approx(0.7, abs=0.05)
    assert np.allclose(calibrated.sum(axis=1), 1.0)
    assert (calibrated.argmax(axis=1) == probs.argmax(axis=1)).all()
    ranked = np.array([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1], [0.8, 0.1, 0.1], [0.95, 0.04, 0.01]])
    for temp in (0.5, 2.0):
        top = apply_temperature(ranked, temp)[:, 0]
        assert (np.diff(top) > 0).all()  # the order of confidences is kept


# --- model --------------------------------------------------------------------------------------------------

def test_train_predict_routes_relevance_category_urgency_language(model: RoutingModel) -> None:
    texts = ["Guten Tag, ich möchte Wohngeld beantragen, weil meine Miete gestiegen ist.",
             "Gewinnspiel! Klicken Sie hier für Ihren Casino Bonus",
             "Hallo, mein Bewohnerparkausweis läuft ab. Bitte dringend bearbeiten, die Angelegenheit eilt.",
             "Hello, I would like to renew my library books online, please."]
    s = model.predict(texts)
    assert (s[0].category, s[2].category) == ("wohngeld", "bewohnerparken")
    assert s[0].department == "sozialamt" and s[2].department == "verkehr"
    assert [x.relevant for x in s[:3]] == [True, False, True]
    assert s[1].auto_route is False  # spam is never routed alone
    assert s[0].relevant_confidence is not None and s[0].relevant_confidence > 0.8
    assert s[2].urgency == "hoch" and s[2].urgency_source in ("model", "keyword")
    assert s[0].urgency == "normal"
    assert s[0].language == "de" and s[3].language == "en"
    assert len(s[0].alternatives) == 3 and s[0].alternatives[0].category == "wohngeld"
    assert s[0].alternatives[0].confidence >= s[0].alternatives[1].confidence >= s[0].alternatives[2].confidence
    assert 0.0 < s[0].confidence <= 1.0  # type: ignore[operator]
    assert model.predict([]) == []


def test_thresholds_decide_auto_route_and_taxonomy_overrides(model: RoutingModel) -> None:
    # verkehr has a fixed threshold of 0.9 in the taxonomy; the others use the calibrated one
    assert model.department_threshold("verkehr") == 0.9
    assert model.department_threshold("sozialamt") == model.thresholds["sozialamt"]
    s = model.predict(["Parkausweis für Anwohner in der Parkzone beantragen, mein Parkausweis läuft ab"])[0]
    assert s.threshold == 0.9 and s.auto_route == (s.confidence >= 0.9)  # type: ignore[operator]
    model.thresholds["sozialamt"] = math.inf
    try:
        s = model.predict(["Ich möchte Wohngeld beantragen"])[0]
        assert s.auto_route is False and s.threshold is None
    finally:
        model.thresholds["sozialamt"] = model.global_threshold


def test_keyword_raises_urgency_above_the_model(model: RoutingModel) -> None:
    s = model.predict(["Guten Tag, Wohngeld beantragen. Uns droht die Zwangsräumung!"])[0]
    assert s.urgency == "sofort" and s.urgency_source == "keyword" and s.urgency_confidence is None


def test_corrections_with_weight_change_the_prediction(taxonomy: Taxonomy) -> None:
    rows = synthetic_rows(spam=0)
    probe = "Frage zur Meldebescheinigung für das Wohngeld"
    before = train(rows, hashed_embed, taxonomy, folds=3).predict([probe])[0]
    assert before.category == "meldewesen"

    def p_wohngeld(weight: float) -> tuple[str | None, float]:
        m = train([*rows, TrainingRow(probe, "wohngeld", True, weight=weight)], hashed_embed, taxonomy, folds=3)
        assert m.info["corrections"] == (weight != 1.0)
        assert m.category is not None
        p = m.category_probs([probe])[0, m.category.classes.index("wohngeld")]
        return m.predict([probe])[0].category, float(p)

    weak, strong = p_wohngeld(0.01), p_wohngeld(30.0)
    assert strong[0] == "wohngeld"
    assert strong[1] > weak[1] + 0.05


def test_training_errors(taxonomy: Taxonomy) -> None:
    with pytest.raises(RoutingError, match="categories not in the taxonomy: hundesteuer"):
        train([TrainingRow("Hundesteuer", "hundesteuer"), TrainingRow("Wohngeld", "wohngeld")], None, taxonomy)
    with pytest.raises(RoutingError, match="nothing to learn"):
        train([TrainingRow("Wohngeld a", "wohngeld"), TrainingRow("Wohngeld b", "wohngeld")], None, taxonomy)
    with pytest.raises(RoutingError, match="no training rows with text"):
        train([TrainingRow("  ", "wohngeld")], None)


def test_embedder_is_required_and_checked(model: RoutingModel, tmp_path: Path) -> None:
    path = model.save(tmp_path / "m.zip")
    loaded = RoutingModel.load(path)
    assert loaded.uses_embeddings  # on these rows every head chooses a combination with the embeddings
    with pytest.raises(RoutingError, match="attach an embedder"):
        loaded.predict(["Wohngeld"])
    loaded.embed = lambda texts: np.ones((len(texts), 8))
    with pytest.raises(RoutingError, match="gives 8 dimensions, the model was trained with 64"):
        loaded.predict(["Wohngeld"])


def test_tfidf_only_model_without_embedder(taxonomy: Taxonomy) -> None:
    m = train(synthetic_rows(per_category=12, spam=12), None, taxonomy)
    assert not m.uses_embeddings and m.embedding_dim is None
    assert m.predict(["Ich möchte mich ummelden, neue Wohnung"])[0].category == "meldewesen"


# --- model file ---------------------------------------------------------------------------------------------

def test_save_load_roundtrip_predicts_the_same(model: RoutingModel, tmp_path: Path) -> None:
    path = model.save(tmp_path / "routing.zip")
    loaded = RoutingModel.load(path, embed=hashed_embed)
    texts = ["Wohngeld Bescheid prüfen", "Casino Bonus klicken", "Bücher verlängern, Frist läuft ab"]
    assert loaded.predict(texts) == model.predict(texts)
    assert loaded.thresholds == model.thresholds and loaded.taxonomy == model.taxonomy
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["arrays.npz", "manifest.json", "model.json"]
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["format"] == "rathaus-inbox-routing" and manifest["signed"] is False


def _rewrite(path: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members |= change
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_tampered_model_files_are_refused(model: RoutingModel, tmp_path: Path) -> None:
    path = model.save(tmp_path / "routing.zip")
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("model.json"))
        manifest = json.loads(zf.read("manifest.json"))
    meta["thresholds"]["sozialamt"] = 0.01  # route everything of the social office automatically
    forged = json.dumps(meta).encode()
    _rewrite(path, {"model.json": forged})
    with pytest.raises(ModelFileError, match=r"model\.json does not match its SHA-256 in the manifest"):
        RoutingModel.load(path)
    # a forger who also fixes the hash is caught by the signature
    signed = model.save(tmp_path / "signed.zip", key=b"k" * 32)
    RoutingModel.load(signed, key=b"k" * 32)
    with zipfile.ZipFile(signed) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest["sha256"]["model.json"] = hashlib.sha256(forged).hexdigest()
    _rewrite(signed, {"model.json": forged, "manifest.json": json.dumps(manifest).encode()})
    RoutingModel.load(signed)  # without a key only the hashes are checked: they match now
    with pytest.raises(ModelFileError, match="signature missing or wrong"):
        RoutingModel.load(signed, key=b"k" * 32)
    with pytest.raises(ModelFileError, match="signature missing or wrong"):
        RoutingModel.load(model.save(tmp_path / "unsigned.zip"), key=b"k" * 32)


def test_foreign_files_are_refused(model: RoutingModel, tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"\x80\x04 pickle, not a zip")
    with pytest.raises(ModelFileError, match="not a routing model file"):
        RoutingModel.load(bad)
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("model.pkl", b"cos\nsystem\n")
    with pytest.raises(ModelFileError, match="unexpected content"):
        RoutingModel.load(bad)
    path = model.save(tmp_path / "v.zip")
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    manifest["format_version"] = 99
    _rewrite(path, {"manifest.json": json.dumps(manifest).encode()})
    with pytest.raises(ModelFileError, match="format version 99"):
        RoutingModel.load(path)
    with pytest.raises(ModelFileError, match="not found"):
        RoutingModel.load(tmp_path / "missing.zip")


# --- evaluation ---------------------------------------------------------------------------------------------

def test_evaluate_rows_cross_validates_and_plots(tmp_path: Path) -> None:
    rows = synthetic_rows(per_category=10, spam=10)
    out = evaluate_rows(rows, hashed_embed, k=3, plot=tmp_path / "confusion.png", inner_folds=2)
    assert out["category_n"] == 40 and out["relevance_n"] == 50
    assert out["category_macro_f1"] > 0.9 and out["relevance_macro_f1"] > 0.9
    assert 0.0 <= out["category_auto_route_share_at_p95"] <= 1.0
    assert (tmp_path / "confusion.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match=r"at least 5 rows for 5-fold evaluation; too few: bewohnerparken \(4\)"):
        evaluate_rows(synthetic_rows(per_category=4), None, k=5)


def test_plot_confusion_writes_png(tmp_path: Path) -> None:
    path = plot_confusion(["a", "b", "b"], ["a", "b", "a"], tmp_path / "sub" / "c.png", "test")
    assert path.stat().st_size > 1000


def two_view_embed(texts: list[str]) -> np.ndarray:
    """Two hashed "embedders" side by side (64 + 32 dimensions), standing in for USE and e5."""
    first = hashed_embed(texts)
    return np.hstack([first, first[:, :32] + first[:, 32:]])


def test_several_embedders_are_averaged_as_views_and_the_label_comes_from_the_refitted_member(
        taxonomy: Taxonomy, tmp_path: Path) -> None:
    rows = synthetic_rows()
    model = train(rows, two_view_embed, taxonomy, embedding_views=[64, 32])
    assert model.category is not None and model.category.choice.mode == "views"
    assert model.category.choice.views == [64, 32] and model.category.full is not None
    assert model.info["embedding_views"] == [64, 32]
    assert all(len(m.views) == 2 and m.text is not None for m in model.category.members)
    texts = ["Wohngeld Bescheid prüfen", "Ummelden nach dem Umzug", "Casino Bonus klicken"]
    suggestions = model.predict(texts)
    assert [s.category for s in suggestions[:2]] == ["wohngeld", "meldewesen"]
    assert not suggestions[2].relevant
    label_p = model.category.label_proba(texts, two_view_embed(texts) / np.linalg.norm(
        two_view_embed(texts), axis=1, keepdims=True))
    assert [model.category.classes[int(i)] for i in label_p.argmax(axis=1)][:2] == ["wohngeld", "meldewesen"]
    loaded = RoutingModel.load(model.save(tmp_path / "views.zip"), embed=two_view_embed)
    assert loaded.predict(texts) == suggestions and loaded.category is not None and loaded.category.full is not None
    with pytest.raises(RoutingError, match="96"):
        loaded.predict(texts, emb=np.zeros((3, 64)))  # one embedder's vectors where the model needs both
