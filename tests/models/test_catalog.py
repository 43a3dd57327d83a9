"""The models file: validation names every problem in one line."""

from pathlib import Path

import pytest

from rathaus.core.classification import DataClass
from rathaus.core.errors import ConfigError
from rathaus.core.settings import DEFAULT_MODELS_FILE
from rathaus.models.catalog import load_catalog

VALID_CHAT = """
  - name: a
    kind: chat
    provider: openai
    base_url: http://x/v1
    parameters_b: 1
    data_classes: [oeffentlich]
    hosting: eu-cloud
    location: EU
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return path


def test_shipped_catalogue_is_valid() -> None:
    catalog = load_catalog(DEFAULT_MODELS_FILE)
    assert catalog.get(catalog.defaults.chat).provider == "embedded"
    azure = catalog.get("azure-gpt-4o-mini")
    assert azure is not None and azure.azure is not None
    assert not azure.allows(DataClass.PERSONENBEZOGEN)
    assert azure.allows(DataClass.INTERN)


def test_every_problem_gets_its_own_line(tmp_path: Path) -> None:
    text = """
defaults: {chat: a, embedding: missing}
models:
  - name: a
    kind: chat
    provider: openai
    base_url: http://x/v1
    parameters_b: -1
    price_in_per_1m_eur: -5
    data_classes: [geheim]
    hosting: eu-cloud
    location: EU
"""
    with pytest.raises(ConfigError) as info:
        load_catalog(write(tmp_path, text))
    lines = info.value.extra["problems"]
    assert any("model 'a'.parameters_b" in line and "greater than 0" in line for line in lines)
    assert any("model 'a'.price_in_per_1m_eur" in line for line in lines)
    assert any("unknown data class 'geheim'" in line for line in lines)
    assert all(line.startswith("models.yaml: ") for line in lines)


def test_default_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="default embedding model 'nope' is not defined"):
        load_catalog(write(tmp_path, "defaults: {chat: a, embedding: nope}\nmodels:" + VALID_CHAT))


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="repeated: a"):
        load_catalog(write(tmp_path, "defaults: {chat: a, embedding: a}\nmodels:" + VALID_CHAT + VALID_CHAT))


def test_non_eu_cloud_may_not_receive_personal_data(tmp_path: Path) -> None:
    text = VALID_CHAT.replace("[oeffentlich]", "[oeffentlich, personenbezogen]").replace("eu-cloud", "non-eu-cloud")
    with pytest.raises(ConfigError, match="outside the EU may not receive 'personenbezogen'"):
        load_catalog(write(tmp_path, "defaults: {chat: a, embedding: a}\nmodels:" + text))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("models: [", "not valid YAML"),
        ("- just a list", "expected a mapping"),
    ],
)
def test_broken_files(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_catalog(write(tmp_path, content))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="models file not found"):
        load_catalog(tmp_path / "nope.yaml")


def test_data_class_aliases() -> None:
    assert DataClass.parse("öffentlich") is DataClass.OEFFENTLICH
    assert DataClass.parse("Personal data") is DataClass.PERSONENBEZOGEN
    with pytest.raises(ValueError, match="allowed: oeffentlich, intern"):
        DataClass.parse("secret")
