"""One enum per concept: the data classes and the safeguard values are declared once (rathaus.core) and every
request model, setting and policy uses that enum, with the same strings in JSON and OpenAPI as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from rathaus.api.routers.chats import AssistantIn, ChatIn, ChatPatch
from rathaus.api.routers.knowledge import CollectionIn
from rathaus.assistants.definitions import Assistant
from rathaus.core.classification import DataClass
from rathaus.core.safeguards import ContentGuardPolicy, PersonalDataPolicy
from rathaus.core.settings import Settings
from rathaus.safety.policy import SafetyPolicy

SRC = Path(__file__).resolve().parents[1] / "src" / "rathaus"


def _enum(model: type[BaseModel], name: str) -> list[str]:
    schema = model.model_json_schema()
    return schema["$defs"][name]["enum"]


def test_the_json_values_are_the_enums_values() -> None:
    assert [c.value for c in DataClass] == ["oeffentlich", "intern", "vertraulich", "personenbezogen"]
    assert [p.value for p in PersonalDataPolicy] == ["pseudonymise", "block", "allow"]
    assert [p.value for p in ContentGuardPolicy] == ["block", "warn", "log"]
    for model in (ChatIn, ChatPatch, AssistantIn, CollectionIn, Assistant):
        assert _enum(model, "DataClass") == [c.value for c in DataClass], model
    assert _enum(SafetyPolicy, "PersonalDataPolicy") == ["pseudonymise", "block", "allow"]
    assert _enum(SafetyPolicy, "ContentGuardPolicy") == ["block", "warn", "log"]
    assert SafetyPolicy().model_dump(mode="json") == {"personal_data": "pseudonymise", "content_guard": "block",
                                                      "guard_threshold": None}


def test_requests_settings_and_policies_accept_the_strings_and_refuse_others() -> None:
    assert ChatIn.model_validate({"data_class": "vertraulich"}).data_class is DataClass.VERTRAULICH
    assert ChatIn().data_class is DataClass.INTERN and CollectionIn(name="x").data_class is DataClass.OEFFENTLICH
    with pytest.raises(ValidationError, match="'oeffentlich', 'intern', 'vertraulich' or 'personenbezogen'"):
        ChatIn.model_validate({"data_class": "geheim"})
    policy = SafetyPolicy.model_validate({"personal_data": "block", "content_guard": "log"})
    assert (policy.personal_data, policy.content_guard) == (PersonalDataPolicy.BLOCK, ContentGuardPolicy.LOG)
    assert policy.personal_data == "block"  # a StrEnum is its string
    with pytest.raises(ValidationError, match="'pseudonymise', 'block' or 'allow'"):
        SafetyPolicy.model_validate({"personal_data": "maybe"})
    settings = Settings(_env_file=None, safety_personal_data="allow", safety_content_guard="block")  # type: ignore[call-arg]
    assert settings.safety_personal_data is PersonalDataPolicy.ALLOW
    assert settings.safety_content_guard is ContentGuardPolicy.BLOCK
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.safety_personal_data, defaults.safety_content_guard) == ("pseudonymise", "warn")
    with pytest.raises(ValidationError, match="'block', 'warn' or 'log'"):
        Settings(_env_file=None, safety_content_guard="shout")  # type: ignore[call-arg]


def test_no_module_restates_the_vocabulary_as_a_literal() -> None:
    values = "oeffentlich|intern|vertraulich|personenbezogen|pseudonymise|allow"
    restated = re.compile(rf"""Literal\[\s*["']({values})["']|Literal\[\s*["']block["']\s*,\s*["']warn["']""")
    found = [f"{path.relative_to(SRC)}:{n}" for path in SRC.rglob("*.py")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if restated.search(line)]
    assert found == []
