"""The synthetic packet generator: deterministic, every defect kind injected and recorded where the type checks
for it, MRZs with correct check digits, pages that Tesseract reads."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from rathaus.checks.definitions import shipped_types
from rathaus.checks.evaluate import PlainTesseract, char_errors, iban_checksum_ok, mrz_checks_fail
from rathaus.checks.synthetic import DEFECT_KINDS, MUSTER, generate
from rathaus.checks.synthetic.mrz import check_digit, td1_german_id, td3_passport


def _digest(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def one_of_each(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Three clean packets (one per type) and one packet per defect kind, undegraded, at a low resolution."""
    out = tmp_path_factory.mktemp("synthetic")
    manifest = generate(out, n_clean=3, n_defective=len(DEFECT_KINDS), seed=11, degradation="none", dpi=150)
    return out, manifest


def test_same_seed_same_bytes_other_seed_other_packets(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 1, 1, seed=7, degradation="moderate", dpi=100)
    second = generate(tmp_path / "b", 1, 1, seed=7, degradation="moderate", dpi=100, workers=2)
    third = generate(tmp_path / "c", 1, 1, seed=8, degradation="moderate", dpi=100)
    assert first == second
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert first["packets"][0]["form"] != third["packets"][0]["form"]


def test_every_defect_kind_is_injected_and_recorded(one_of_each: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = one_of_each
    packets = manifest["packets"]
    types = shipped_types()
    clean = [p for p in packets if not p["defects"]]
    assert sorted(p["type"] for p in clean) == sorted(types)
    kinds = [d["kind"] for p in packets for d in p["defects"]]
    assert sorted(kinds) == sorted(DEFECT_KINDS)
    for packet in packets:
        app_type = types[packet["type"]]
        known = ({f"field:{f.id}" for f in app_type.fields} | {f"document:{d.id}" for d in app_type.documents}
                 | {f"rule:{r.id}" for r in app_type.rules})
        for defect in packet["defects"]:
            assert defect["requirements"], defect
            assert set(defect["requirements"]) <= known, (packet["id"], defect)
        for name in packet["files"]:
            assert (out / packet["id"] / name).stat().st_size > 0
        assert (out / packet["id"] / "antrag.json").is_file() and (out / packet["id"] / "antrag.pdf").is_file()
        assert packet["pages"] == sum(len(d["pages"]) for d in packet["documents"])


def _by_kind(manifest: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(p for p in manifest["packets"] if p["defects"] and p["defects"][0]["kind"] == kind)


def test_defects_change_what_they_claim(one_of_each: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = one_of_each
    iban = _by_kind(manifest, "iban_typo")["form"]["iban"]
    assert not iban_checksum_ok(iban)
    clean_ibans = [p["form"]["iban"] for p in manifest["packets"] if not p["defects"] and "iban" in p["form"]]
    assert clean_ibans and all(iban_checksum_ok(value) for value in clean_ibans)

    broken = _by_kind(manifest, "mrz_check_digit")
    mrz_pages = [page["text"] for d in broken["documents"] if d["fields"].get("mrz") for page in d["pages"]]
    assert any(mrz_checks_fail(text) for text in mrz_pages)
    assert [d["fields"]["mrz_valid"] for d in broken["documents"] if "mrz_valid" in d["fields"]] == ["false"]

    missing_page = _by_kind(manifest, "missing_page")
    counts = {d["kind"]: [p["page_of"] for p in d["pages"]] for d in missing_page["documents"]}
    assert ["1/2"] in counts.values()

    expired = _by_kind(manifest, "expired_id")
    expiries = [d["fields"]["expiry_date"] for d in expired["documents"] if "expiry_date" in d["fields"]]
    assert expiries and min(expiries) < expired["submitted_on"]

    signature = _by_kind(manifest, "missing_signature")
    unsigned_docs = [d for d in signature["documents"] if d["fields"].get("signature") == "false"]
    assert signature["form"].get("unterschrift") is False or unsigned_docs

    name = _by_kind(manifest, "name_mismatch")
    surnames = {d["fields"]["surname"] for d in name["documents"] if "surname" in d["fields"]}
    assert name["form"]["nachname"] not in surnames


def test_rendered_mrz_has_the_specimen_check_digits() -> None:
    """The generator's MRZ reproduces the published specimens (German ID card TD1 and passport TD3)."""
    from datetime import date

    assert td1_german_id("T22000129", "Mustermann", "Erika", date(1964, 8, 12), date(2020, 10, 31)) == [
        "IDD<<T220001293<<<<<<<<<<<<<<<", "6408125<2010315D<<<<<<<<<<<<<4", "MUSTERMANN<<ERIKA<<<<<<<<<<<<<"]
    assert td3_passport("C01X00T47", "D", "D", "Mustermann", "Erika", date(1964, 8, 12), "F",
                        date(2027, 2, 28))[1] == "C01X00T478D<<6408125F2702283<<<<<<<<<<<<<<<4"
    assert check_digit("L898902C3") == "6"  # ICAO 9303 part 3 worked example


def test_rendered_mrzs_of_clean_packets_validate(one_of_each: tuple[Path, dict[str, Any]]) -> None:
    _, manifest = one_of_each
    mrzs = [d["fields"]["mrz"] for p in manifest["packets"] if not p["defects"] for d in p["documents"]
            if "mrz" in d["fields"]]
    assert mrzs
    for mrz in mrzs:
        assert mrz_checks_fail(mrz) is False, mrz


def test_undegraded_pages_are_readable_by_tesseract(tmp_path: Path) -> None:
    manifest = generate(tmp_path, 1, 0, seed=3, degradation="none", types=[shipped_types()["wohngeld-erstantrag"]])
    packet = manifest["packets"][0]
    tesseract = PlainTesseract()
    errors = characters = 0
    try:
        for document in packet["documents"]:
            for page in document["pages"]:
                data = (tmp_path / packet["id"] / page["file"]).read_bytes()
                error, length = char_errors(page["text"], tesseract.read(data))
                errors, characters = errors + error, characters + length
                assert MUSTER in page["text"]
    finally:
        tesseract.close()
    assert characters > 2000
    assert 1 - errors / characters > 0.9


def test_degradation_changes_the_images(tmp_path: Path) -> None:
    manifest = generate(tmp_path, 2, 0, seed=5, degradation="strong", dpi=100)
    for packet in manifest["packets"]:
        for document in packet["documents"]:
            for page in document["pages"]:
                assert page["degradation"]["level"] == "strong"
                assert page["degradation"]["jpeg_quality"] == 28
                with Image.open(io.BytesIO((tmp_path / packet["id"] / page["file"]).read_bytes())) as image:
                    assert image.format == "JPEG"


def test_bad_arguments_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown degradation 'blurry'"):
        generate(tmp_path, 1, 0, degradation="blurry")
    with pytest.raises(ValueError, match="unknown degradation levels"):
        generate(tmp_path, 1, 0, degradation={"none": 1, "awful": 1})


def test_manifest_is_json_with_the_truth(one_of_each: tuple[Path, dict[str, Any]]) -> None:
    out, manifest = one_of_each
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert manifest["note"] == MUSTER


def test_shipped_samples_are_small_marked_and_regenerable(tmp_path: Path) -> None:
    from importlib import resources

    from rathaus.checks.synthetic import write_samples

    shipped = Path(str(resources.files("rathaus") / "samples" / "checks"))
    assert sorted(p.name for p in shipped.iterdir() if p.is_dir()) == sorted(shipped_types())
    for folder in shipped.iterdir():
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["note"] == MUSTER
        packet = manifest["packets"][0]
        for name in packet["files"]:
            assert (folder / name).stat().st_size < 300 * 1024, name
        assert all(MUSTER in page["text"] for d in packet["documents"] for page in d["pages"] if page["text"])
    write_samples(tmp_path)
    for folder in shipped.iterdir():
        again = json.loads((tmp_path / folder.name / "manifest.json").read_text(encoding="utf-8"))
        assert again == json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def test_rendered_mrzs_and_ibans_pass_the_validators(one_of_each: tuple[Path, dict[str, Any]]) -> None:
    """The validators (rathaus.checks.validators) accept what clean packets carry – every MRZ with all its check
    digits, every IBAN with checksum and a known bank – and reject the injected defects."""
    from rathaus.checks.validators.iban import validate_iban
    from rathaus.checks.validators.mrz import parse_mrz

    _, manifest = one_of_each
    for packet in manifest["packets"]:
        broken_mrz = bool(packet["defects"]) and packet["defects"][0]["kind"] == "mrz_check_digit"
        for document in packet["documents"]:
            if "mrz" in document["fields"]:
                result = parse_mrz(document["fields"]["mrz"], correct=False)
                assert result.valid is not broken_mrz, (packet["id"], result.messages)
                assert result.surname.replace(" ", "") == result.surname.replace(" ", "")  # parsed at all
                assert result.birth_date == document["fields"]["birth_date"]
                assert result.expiry_date == document["fields"]["expiry_date"]
        if "iban" in packet["form"]:
            typo = bool(packet["defects"]) and packet["defects"][0]["kind"] == "iban_typo"
            result = validate_iban(packet["form"]["iban"])
            assert result.valid is not typo, (packet["id"], result.message)
            if not typo:
                assert result.bank_name, packet["form"]["iban"]
