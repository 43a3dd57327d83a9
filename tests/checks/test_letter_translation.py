"""The applicant's letter in a language other than German and English, translated by the real embedded model –
and kept German, with a note, when the model's answer is cut off."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from checks_fakes import wohngeld_packet

from rathaus.checks import engine
from rathaus.checks.definitions import shipped_types
from rathaus.checks.letter import applicant_letter
from rathaus.checks.service import translate_letter
from rathaus.core.auth import Principal
from rathaus.core.language import detect_language
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

CLERK = Principal(id="sb-1", kind="user", department="Sozialreferat")


@pytest.fixture(scope="module")
def german() -> str:
    wohngeld = shipped_types()["wohngeld-erstantrag"]
    result = engine.check(wohngeld_packet(geburtsdatum=None, unterschrift="false"), wohngeld)
    return applicant_letter(result, wohngeld, "de", name="Erika Müller")


def _runtime(make_settings: Callable[..., Settings], models_file: Path, tmp_path: Path, tokens: int
             ) -> Iterator[Runtime]:
    """The test catalogue with the embedded chat model allowed ``tokens`` output tokens."""
    text = models_file.read_text()
    marker = "max_output_tokens: 16\n    price_in_per_1m_eur: 10.0"  # the embedded chat model's entry
    assert marker in text
    path = tmp_path / "models.yaml"
    path.write_text(text.replace(marker, f"max_output_tokens: {tokens}\n    price_in_per_1m_eur: 10.0", 1))
    rt = Runtime(make_settings(models_file=path))
    try:
        yield rt
    finally:
        rt.close()


@pytest.fixture
def roomy(make_settings: Callable[..., Settings], models_file: Path, tmp_path: Path) -> Iterator[Runtime]:
    yield from _runtime(make_settings, models_file, tmp_path, 1024)


@pytest.fixture
def cramped(make_settings: Callable[..., Settings], models_file: Path, tmp_path: Path) -> Iterator[Runtime]:
    yield from _runtime(make_settings, models_file, tmp_path, 16)


def test_the_real_model_translates_the_letter_keeping_the_name(roomy: Runtime, german: str) -> None:
    translated, note = translate_letter(roomy, CLERK, german, "fr")
    assert translated is not None and translated != german, note
    assert detect_language(translated) == "fr"
    assert "Erika" in translated and "Müller" in translated  # names kept as they are
    assert note is not None and "Machine translation" in note


def test_a_cut_off_translation_leaves_the_letter_german_with_a_note(cramped: Runtime, german: str) -> None:
    translated, note = translate_letter(cramped, CLERK, german, "fr")
    assert translated is None  # 16 tokens cannot hold the letter: no half letter is sent
    assert note is not None and "unvollständig" in note and "German only" in note
