"""One enum per concept: the data classes and the safeguard values are declared once (rathaus.core) and every
request model, setting and policy uses that enum, with the same strings in JSON and OpenAPI as before."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

import rathaus
from rathaus.api.routers.chats import AssistantIn, ChatIn, ChatPatch
from rathaus.api.routers.knowledge import CollectionIn
from rathaus.assistants.definitions import Assistant
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest
from rathaus.core.safeguards import ContentGuardPolicy, PersonalDataPolicy
from rathaus.core.settings import Settings
from rathaus.library import store as library_store
from rathaus.library.catalogue import AGE_GROUPS, MEDIA_TYPES
from rathaus.library.vocabulary import CatalogueFormat, ImportKind
from rathaus.safety.policy import SafetyPolicy
from rathaus.traffic.formats import KINDS, TrafficFileError, parse
from rathaus.traffic.vocabulary import FileKind

SRC = Path(rathaus.__file__).resolve().parent


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


def test_library_and_traffic_vocabularies() -> None:
    assert MEDIA_TYPES == ("buch", "ebook", "hoerbuch", "film", "musik", "noten", "zeitschrift", "spiel", "karte",
                           "software", "sonstiges")
    assert AGE_GROUPS == ("kinder", "jugend", "erwachsene")
    assert [k.value for k in ImportKind] == ["catalogue", "loans", "searches"]
    assert [f.value for f in CatalogueFormat] == ["auto", "csv", "marc"]
    assert KINDS == ("bike-daily", "bike-15min", "detectors", "stations")
    assert [k.value for k in FileKind] == ["auto", *KINDS]
    with pytest.raises(BadRequest, match="unknown kind 'ausweise'; use catalogue, loans, searches"):
        library_store.import_file(None, "ausweise", b"x", "a.csv")
    with pytest.raises(TrafficFileError, match="unknown kind 'rad'"):
        parse(b"datum,zaehlstelle,gesamt\n", "a.csv", "rad")


def test_no_module_restates_the_vocabulary_as_a_literal() -> None:
    values = ("oeffentlich|intern|vertraulich|personenbezogen|pseudonymise|allow|buch|kinder|catalogue|bike-daily|"
              "auto\", \"csv")
    restated = re.compile(rf"""Literal\[\s*["']({values})["']|Literal\[\s*["']block["']\s*,\s*["']warn["']""")
    modules = list(SRC.rglob("*.py"))
    assert len(modules) > 100
    found = [f"{path.relative_to(SRC)}:{n}" for path in modules
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if restated.search(line)]
    assert found == []
