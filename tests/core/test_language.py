"""One language detector (rathaus.core.language) for documents, the content guard and the assistants' questions."""

from __future__ import annotations

import pytest

import rathaus.knowledge
import rathaus.knowledge.extract
import rathaus.knowledge.ingest
import rathaus.safety.guard
from rathaus.core.language import detect_language

UKRAINIAN = ("Міська рада повідомляє про нові години роботи центру надання адміністративних послуг. Їх змінено з "
             "першого числа, і відвідувачі можуть записатися на прийом через інтернет або телефоном.")


def test_every_caller_uses_the_one_detector() -> None:
    for module in (rathaus.knowledge, rathaus.knowledge.extract, rathaus.knowledge.ingest, rathaus.safety.guard):
        assert module.detect_language is detect_language, module


@pytest.mark.parametrize(("text", "expected"), [
    ("Wie beantrage ich einen neuen Reisepass?", "de"),
    ("How do I apply for a new passport?", "en"),
    ("Де можна отримати новий паспорт і довідку?", "uk"),  # "і" in a question: Ukrainian, not Russian
    ("   ", None),
])
def test_a_one_line_question_is_decided(text: str, expected: str | None) -> None:
    assert detect_language(text, short=True) == expected


def test_too_little_text_is_undecided_unless_short() -> None:
    assert detect_language("Pass beantragen?") is None  # fewer than 20 letters
    assert detect_language("Pass beantragen?", short=True) is not None


def test_the_guard_names_ukrainian_as_not_covered() -> None:
    result = rathaus.safety.guard.check(UKRAINIAN)
    assert result.language == "uk"
    assert any(r.startswith("Sprache nicht abgedeckt") and r.endswith(": uk") for r in result.reasons)
