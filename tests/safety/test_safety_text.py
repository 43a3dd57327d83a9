"""One definition of invisible characters and look-alike letters for every safeguard (rathaus.safety.text)."""

from __future__ import annotations

import pytest

from rathaus.governance.bias.items import clean_text as bias_clean
from rathaus.safety import injection, text
from rathaus.safety.guard.normalisation import clean_text as guard_clean
from rathaus.safety.pii.normalise import normalise as pii_normalise

HIDING = ["\u200b", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u202e", "\u2800", "\u3164", "\ufe0f", "\U000e0041"]


@pytest.mark.parametrize("char", HIDING)
def test_every_safeguard_removes_the_same_invisible_characters(char: str) -> None:
    dodged = f"Id{char}iot Mül{char}ler"
    assert text.is_invisible(char)
    assert text.strip_invisible(dodged) == "Idiot Müller"
    assert guard_clean(dodged) == "Idiot Müller"
    assert pii_normalise(dodged).text == "Idiot Müller"
    assert bias_clean(dodged) == "Idiot Müller"
    if ord(char) in text.TAG_CHARACTERS:  # the injection scan reads tag characters as the ASCII a model sees
        assert injection.skeleton(dodged).text.startswith("IdAiot") and injection.skeleton(dodged).hidden_tags
    else:
        assert "Idiot" in injection.skeleton(dodged).text


@pytest.mark.parametrize("char", ["a", "ä", "ß", " ", "\n", "é", "ş", "а", "-"])
def test_visible_characters_are_not_invisible(char: str) -> None:
    assert not text.is_invisible(char)


def test_homoglyphs_map_to_the_letter_they_imitate_with_case() -> None:
    table = text.homoglyph_table()
    assert table["а"] == "a" and table["А"] == "A"  # Cyrillic a
    assert table["Ο"] == "O" and table["ο"] == "o"  # Greek omicron
    assert table["Ь"] == "b"  # Cyrillic soft sign looks like a small b
    assert table["І"] == "I" and table["Ι"] == "I"  # capital-I look-alikes are I, not the list's "l"
    for letter in "äöüßéşąłıɑ":
        assert letter not in table  # Latin letters of other languages are letters, not dodges


def test_options_add_digits_and_latin_look_alikes_only_when_asked() -> None:
    assert "ı" not in text.homoglyph_table()
    assert text.homoglyph_table(latin=True)["ɑ"] == "a"
    assert "ä" not in text.homoglyph_table(latin=True)  # accented letters stay even then
    assert "௦" not in text.homoglyph_table()
    assert text.homoglyph_table(digits=True)["௦"] == "o"  # Tamil zero looks like o


def test_pii_offsets_still_point_into_the_original_after_removing_invisibles() -> None:
    original = "Herr Mül\u2800ler\U000e0041 kommt"
    normalised = pii_normalise(original)
    start = normalised.text.index("Müller")
    a, b = normalised.to_original(start, start + len("Müller"))
    assert original[a:b] == "Mül\u2800ler"
