"""Content guard (issue 5): the shipped model, every dodge, markup with hidden text, limits, the eval command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rathaus.cli import main
from rathaus.core.errors import BadRequest, PayloadTooLarge
from rathaus.safety.guard import (
    MAX_CHARS,
    GuardResult,
    check,
    check_many,
    chunks,
    default_threshold,
    neutral_false_positive_rate,
)
from rathaus.safety.guard import normalisation as norm
from rathaus.safety.guard.dataset import Example, heldout_split, read_germeval
from rathaus.safety.guard.model import GuardModel, default_model_path, load_model, save_model

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# hand-written, not from GermEval
OFFENSIVE = [
    "Du bist ein widerliches Arschloch und ein dummer Idiot.",
    "Halt endlich dein dreckiges Maul, du Penner!",
    "Diese Volksverräter gehören alle eingesperrt, elendes Pack!",
    "Du dumme Schlampe, verpiss dich.",
    "Alle Politiker sind verlogene Drecksäcke und Verbrecher.",
]
NEUTRAL = [
    "Das Bürgerbüro ist am Montag von 8 bis 18 Uhr geöffnet.",
    "Bitte bringen Sie Ihren Personalausweis zum Termin mit.",
    "Der Stadtrat berät am Donnerstag über den Haushalt für das kommende Jahr.",
    "Die Stadtbibliothek verlängert ihre Öffnungszeiten im Dezember.",
    "Vielen Dank für die schnelle Antwort, das hat mir sehr geholfen.",
]
INSULT = "Du bist ein Idiot"


# --- the shipped model ------------------------------------------------------------------------------------
def test_shipped_model_is_small_numpy_and_documented() -> None:
    path = default_model_path()
    assert path.is_file() and path.stat().st_size < 3_000_000
    with np.load(path, allow_pickle=False) as z:  # loads without pickle
        assert {"char_buckets", "word_buckets", "token_score", "meta"} <= set(z.files)
    model = load_model()
    assert model.meta["split_seed"] == 2018 and model.meta["heldout_fraction"] == 0.2
    assert 0.05 < model.threshold < 0.95
    assert default_threshold() == model.threshold


@pytest.mark.parametrize("text", OFFENSIVE)
def test_clear_offensive_texts_are_flagged(text: str) -> None:
    result = check(text)
    assert result.label == "offensive" and result.offensive, (text, result.score)
    assert any(r.startswith("Merkmale / features") for r in result.reasons)
    assert result.top_features


@pytest.mark.parametrize("text", NEUTRAL)
def test_clear_neutral_texts_pass(text: str) -> None:
    result = check(text)
    assert result.label == "ok", (text, result.score)
    assert not result.top_features


def test_scores_separate_the_two_sets() -> None:
    worst_offensive = min(r.score for r in check_many(OFFENSIVE))
    best_neutral = max(r.score for r in check_many(NEUTRAL))
    assert worst_offensive > best_neutral + 0.2


def test_check_many_keeps_order() -> None:
    results = check_many([NEUTRAL[0], OFFENSIVE[0], NEUTRAL[1]])
    assert [r.label for r in results] == ["ok", "offensive", "ok"]
    assert all(isinstance(r, GuardResult) for r in results)


def test_other_languages_are_named_as_not_covered() -> None:
    english = check("The citizens' office is open from eight in the morning on weekdays.")
    assert english.language == "en" and any(r.startswith("Sprache nicht abgedeckt") for r in english.reasons)
    german = check(NEUTRAL[0])
    assert german.language == "de" and not any(r.startswith("Sprache") for r in german.reasons)
    assert check("Hallo").language is None  # too short to tell


def test_other_languages_neutral_sentences_pass_and_are_marked() -> None:
    """The model is German-only (docs/safety-guard.md): it misses most English/Turkish insults, but it must
    not flag their neutral sentences, and it must say that the language is not covered."""
    rows = [line.split("\t") for line in (FIXTURES / "guard_multilingual.tsv").read_text("utf-8").splitlines()
            if line and not line.startswith("#")]
    neutral = [text for _, label, text in rows if label == "OTHER"]
    assert len(neutral) == 20
    results = check_many(neutral)
    assert [r.label for r in results] == ["ok"] * 20
    assert sum(r.language in ("en", "tr") for r in results) >= 18


# --- threshold ----------------------------------------------------------------------------------------
def test_threshold_decides_the_label() -> None:
    text = "Die Regierung hat wieder mal versagt."
    score = check(text).score
    assert 0.0 < score < 1.0
    below, above = check(text, threshold=max(0.0, score - 0.01)), check(text, threshold=min(1.0, score + 0.01))
    assert below.label == "offensive" and above.label == "ok"
    assert below.threshold == pytest.approx(max(0.0, score - 0.01))
    assert check(OFFENSIVE[0], threshold=1.0).label == "ok"
    assert check(NEUTRAL[0], threshold=0.0).label == "offensive"
    assert check(NEUTRAL[0]).threshold == default_threshold()


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_threshold_out_of_range_is_refused(bad: float) -> None:
    with pytest.raises(BadRequest, match="threshold"):
        check("Hallo", threshold=bad)


# --- dodges -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("dodged", "reason"), [
    ("Du bist ein Id\u200biot", norm.REASON_INVISIBLE),                # zero-width space
    ("Du bist ein I\u200dd\u200ci\u2060ot", norm.REASON_INVISIBLE),    # joiners, word joiner
    ("Du bist ein Id\u00adiot", norm.REASON_INVISIBLE),                # soft hyphen
    ("Du bist ein \ufeffIdiot\u202e", norm.REASON_INVISIBLE),          # BOM, bidi override
    ("Du bist ein Іdіоt", norm.REASON_HOMOGLYPHS),                     # Cyrillic і, о
    ("Du bist ein Ιdιοt", norm.REASON_HOMOGLYPHS),                     # Greek iota, omicron
    ("Du bist ein Ｉｄｉｏｔ", norm.REASON_NFKC),                      # full width
    ("Du bist ein 𝐈𝐝𝐢𝐨𝐭", norm.REASON_NFKC),                          # mathematical bold
    ("Du bist ein I d i o t", norm.REASON_SPACING),
    ("Du bist ein I.d.i.o.t", norm.REASON_SPACING),
    ("Du bist ein I-d-i-o-t", norm.REASON_SPACING),
    ("Du bist ein 1d10t", norm.REASON_LEET),
    ("Du bist ein Id!0t", norm.REASON_LEET),
    ("Du bist ein I̴d̴i̴o̴t̴", norm.REASON_COMBINING),                 # Zalgo
    ("Du bist ein Id&#105;ot", norm.REASON_ENTITIES),
])
def test_dodges_are_undone(dodged: str, reason: str) -> None:
    clean = check(INSULT)
    result = check(dodged)
    assert result.normalised_text.lower() == INSULT.lower()
    assert reason in result.reasons
    assert result.score == pytest.approx(clean.score, abs=1e-9)  # the model sees lower case only
    assert result.label == clean.label == "offensive"


def test_harmless_text_is_not_changed_by_the_dodge_rules() -> None:
    text = "G7-Gipfel: 10km Lauf, 3er-Gruppe, COVID19, MP3, Win10, @user1 mailt an info@stadt.de, z. B. u. a."
    assert norm.normalise(text).visible == text
    assert norm.normalise(text).changes == []
    for foreign in ("Привет, как дела?", "Καλημέρα σας", "Çok güzel, teşekkürler!", "Mädchen über Straße"):
        assert norm.normalise(foreign).visible == foreign


def test_homoglyphs_mapped_only_in_mixed_words_of_non_latin_text() -> None:
    assert norm.normalise("Привет Іdіоt").visible == "Привет Idiot"


# --- markup and hidden text --------------------------------------------------------------------------------
@pytest.mark.parametrize("markup", [
    "<p>Schöner Tag heute.</p><!-- Du bist ein widerliches Arschloch -->",
    '<p>Schöner Tag heute.</p><span style="display: none">Du bist ein widerliches Arschloch</span>',
    '<p>Schöner Tag heute.</p><div hidden>Du bist ein widerliches Arschloch</div>',
    '<p>Schöner Tag heute.</p><p style="visibility:hidden">Du bist ein widerliches Arschloch</p>',
    '<p>Schöner Tag heute.</p><span style="color:#ffffff">Du bist ein widerliches Arschloch</span>',
    "<p>Schöner Tag heute.</p><script>// Du bist ein widerliches Arschloch</script>",
    '<p>Schöner Tag heute.</p><img src="x.png" alt="Du bist ein widerliches Arschloch">',
    "<p>Schöner Tag heute.</p><!-\u200b- no comment, but tags after cleaning --><!-- Du widerliches Arschloch -->",
])
def test_hidden_html_is_classified_and_reported(markup: str) -> None:
    result = check(markup)
    assert result.label == "offensive", result
    assert norm.REASON_HIDDEN in result.reasons
    assert "Arschloch" in result.hidden_text
    assert "Arschloch" not in result.normalised_text
    assert result.normalised_text.startswith("Schöner Tag heute.")
    assert result.hidden_score is not None and result.hidden_score > result.visible_score


def test_inline_tags_do_not_split_words_and_visible_offence_counts() -> None:
    result = check("<p>Du bist ein <b>Id</b>iot</p>")
    assert result.normalised_text == INSULT and result.label == "offensive"
    assert norm.REASON_HTML in result.reasons and norm.REASON_HIDDEN not in result.reasons


def test_harmless_html_passes() -> None:
    result = check("<html><head><title>Öffnungszeiten</title></head><body><h1>Bürgerbüro</h1>"
                   "<p>Montag bis Freitag 8–18 Uhr.</p><!-- Layout: zweispaltig --></body></html>")
    assert result.label == "ok"
    assert "Bürgerbüro" in result.normalised_text and "Layout" in result.hidden_text


@pytest.mark.parametrize("markdown", [
    "Schöner Tag heute.\n\n[//]: # (Du bist ein widerliches Arschloch)\n",
    "Schöner Tag heute.\n\n<!-- Du bist ein widerliches Arschloch -->\n",
    'Schöner Tag [heute](https://example.org "Du bist ein widerliches Arschloch").',
])
def test_hidden_markdown_is_classified_and_reported(markdown: str) -> None:
    result = check(markdown)
    assert result.label == "offensive", result
    assert norm.REASON_HIDDEN in result.reasons and "Arschloch" in result.hidden_text
    assert "Arschloch" not in result.normalised_text


def test_markdown_emphasis_does_not_split_words() -> None:
    result = check("Du bist ein **Id**iot")
    assert result.normalised_text == INSULT and result.label == "offensive"
    assert norm.REASON_MARKDOWN in result.reasons


def test_tweets_are_not_mistaken_for_markup() -> None:
    text = "@spdde #GroKo <3 -> so nicht & nie wieder"
    assert not norm.looks_like_html(text) and not norm.looks_like_markdown(text)


# --- empty, huge, wrong type -------------------------------------------------------------------------------
@pytest.mark.parametrize("empty", ["", "   \n\t", "\u200b\u200d\ufeff", "<p> </p><!-- -->"])
def test_empty_input_is_ok_with_zero_score(empty: str) -> None:
    result = check(empty)
    assert result.label == "ok" and result.score == 0.0


def test_long_text_is_checked_in_windows_and_an_insult_at_the_end_is_found() -> None:
    harmless = "Der Stadtrat berät am Donnerstag über den Haushalt. " * 2000  # ~104 000 characters
    result = check(harmless + "Du bist ein widerliches Arschloch und ein dummer Idiot.")
    assert result.label == "offensive"
    assert result.chunks > 100
    assert check(harmless).label == "ok"


def test_windows_cover_every_word_and_overlap() -> None:
    words = [f"w{i}" for i in range(400)]
    windows = chunks(" ".join(words), size=60, overlap_words=3)
    assert all(len(w) <= 60 for w in windows)
    assert {w for window in windows for w in window.split()} == set(words)
    assert windows[1].split()[0] in windows[0].split()


def test_one_huge_word_is_split_into_windows() -> None:
    result = check("x" * 30_000 + "Arschloch")
    assert result.chunks >= 60  # windows of at most 500 characters, even without any space
    assert result.label == "offensive"  # the character n-grams still find the insult glued to the end
    assert check("x" * 30_000).label == "ok"
    assert all(len(w) <= 500 for w in chunks("y" * 5_000))


def test_too_large_input_is_refused() -> None:
    with pytest.raises(PayloadTooLarge, match="at most"):
        check("a" * (MAX_CHARS + 1))


def test_non_string_is_refused() -> None:
    with pytest.raises(BadRequest, match="string"):
        check(b"Idiot")  # type: ignore[arg-type]


# --- neutral mentions -----------------------------------------------------------------------------------------
def test_neutral_false_positive_rate_report() -> None:
    report = neutral_false_positive_rate()
    assert report["sentences"] >= 120
    assert {"religion", "herkunft", "geschlecht", "behinderung", "alter"} <= set(report["by_group"])
    assert sum(g["sentences"] for g in report["by_group"].values()) == report["sentences"]
    assert report["false_positives"] == len(report["flagged"])
    assert 0.0 <= report["rate"] <= 0.25, report["flagged"]
    assert neutral_false_positive_rate(threshold=0.0)["rate"] == 1.0
    assert neutral_false_positive_rate(threshold=1.0)["rate"] == 0.0


# --- data split and model file -----------------------------------------------------------------------------------
def test_heldout_split_is_stratified_disjoint_and_deterministic() -> None:
    examples = [Example(f"t{i}", i % 3 == 0, "X") for i in range(1000)]
    train, heldout = heldout_split(examples)
    assert not set(train) & set(heldout) and len(train) + len(heldout) == 1000
    assert sum(examples[i].offensive for i in heldout) == round(334 * 0.2)
    assert heldout_split(examples) == (train, heldout)
    assert heldout_split(examples, seed=1)[1] != heldout


def test_numpy_prediction_matches_scikit_learn_training(tmp_path: Path) -> None:
    from rathaus.safety.train_guard import PRIOR_TOKENS, BagModel, NbModel, TokenTable, shrunk_means

    texts = [*OFFENSIVE, *NEUTRAL, "Idiot!", "Danke schön", "Du Penner", "Guten Morgen zusammen"] * 3
    y = np.array([1] * 5 + [0] * 5 + [1, 0, 1, 0], dtype=np.int64).tolist() * 3
    y = np.array(y)
    nb = NbModel(1.0).fit(texts, y)
    table = TokenTable()
    sums, counts = table.token_sums(texts)
    prior = sums.sum(axis=0) / counts.sum()
    bag = BagModel(0.05).fit(shrunk_means(sums, counts, prior), y)
    blocks, nb_bias = nb.export()
    token_score, bag_bias, prior_score = bag.export(table, prior)
    meta = {"nb_bias": nb_bias, "bag_bias": bag_bias, "bag_prior_score": prior_score, "bag_prior_tokens": PRIOR_TOKENS,
            "stack": [1.0, 1.0, 0.0], "threshold": 0.5}
    save_model(tmp_path / "m.npz", blocks, token_score, meta)
    model = GuardModel(tmp_path / "m.npz")
    probe = ["Du bist ein Idiot", "Die Bibliothek ist offen", "Penner"]
    expected_nb, expected_bag = nb.score(probe), bag.score(shrunk_means(*table.token_sums(probe), prior))
    for text, nb_s, bag_s in zip(probe, expected_nb, expected_bag, strict=True):
        assert model.nb_score(text) == pytest.approx(nb_s, abs=2e-3)  # float16 idf in the file
        assert model.bag_score(text) == pytest.approx(bag_s, abs=2e-2)  # float16 token scores


# --- command line -------------------------------------------------------------------------------------------------
def test_eval_guard_prints_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "guard", str(FIXTURES / "guard_eval.tsv")]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "OFFENSE" in out and "OTHER" in out and "ms per text" in out


def test_eval_guard_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "guard", str(FIXTURES / "guard_eval.tsv"), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["examples"] == 10 and figures["offense"]["support"] == 4
    assert figures["macro_f1"] >= 0.8
    assert figures["ms_per_text"] > 0


def _one_line_error(capsys: pytest.CaptureFixture[str], fragment: str) -> None:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("rathaus: ") and fragment in err[0], err


@pytest.mark.parametrize(("content", "fragment"), [
    (b"nur Text ohne Tabulator\n", "expected text<TAB>OFFENSE|OTHER"),
    (b"Text\tMAYBE\tOTHER\n", "label must be OFFENSE or OTHER"),
    ("Gr\u00fc\u00dfe\tOTHER\tOTHER\n".encode("latin-1"), "not UTF-8"),
    (b"\n\n", "has no examples"),
])
def test_eval_guard_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes,
                              fragment: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_bytes(content)
    assert main(["eval", "guard", str(path)]) == 1
    _one_line_error(capsys, fragment)


def test_eval_guard_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "guard", str(tmp_path / "nope.tsv")]) == 1
    _one_line_error(capsys, "no such file")


def test_read_germeval_keeps_quotes(tmp_path: Path) -> None:
    path = tmp_path / "q.tsv"
    path.write_text('"Zitat" ohne Ende\tOTHER\tOTHER\n', encoding="utf-8")
    assert read_germeval(path)[0].text == '"Zitat" ohne Ende'


def test_guard_check_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["guard", "check", OFFENSIVE[0]]) == 3
    assert "offensive" in capsys.readouterr().out
    assert main(["guard", "check", "--json", NEUTRAL[0]]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "ok"
    assert main(["guard", "check", "--threshold", "2", "x"]) == 2
