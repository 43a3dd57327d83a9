"""How well rathaus.checks finds the defects of synthetic packets (rathaus.checks.synthetic), next to a baseline
measured in the same run.

``evaluate_dir(path)`` reads every packet listed in ``path/manifest.json`` with ``intake.read_packet``, checks it
with ``engine.check`` and compares the checklist with the truth:

* **Recall per defect kind.** A defect counts as *found* when at least one of the requirements the manifest names
  for it (e.g. ``rule:gleiche_person``) has status ``missing`` or ``invalid``. ``unsure`` asks the case worker to
  look, so it is reported both ways: ``defect_recall`` counts only missing/invalid ("strict"),
  ``defect_recall_incl_unsure`` counts unsure as found too ("lenient"). Each is paired with its false alarms.
* **False alarms per clean packet.** Items of a clean packet with status missing/invalid (``false_alarms_*``);
  unsure items of clean packets are counted separately (``unsure_per_clean_packet``); the lenient figure adds them.
* **OCR character accuracy per degradation level**: 1 − CER of the page text read against the rendered text,
  micro-averaged over characters; a page that was not read counts as all wrong. ``ocr_char_accuracy_<level>``
  matches words independent of reading order (``word_char_errors``: a label | value layout read column by
  column is not an error); ``ocr_char_accuracy_ordered_<level>`` is the plain Levenshtein CER over the whole
  page (whitespace collapsed).
* **Time**: seconds per packet and per 10 pages for reading + checking (the baseline is timed apart).
* **Baseline** (``baseline_check``): Tesseract's text of every page as it comes (no orientation, no deskew) and
  regular expressions only – a keyword per document kind, MRZ lines with their check digits, an expiry date, the
  IBAN's checksum, the form's surname and street found verbatim in the text, "Seite n von m".
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from rathaus.checks.definitions import ApplicationType, load_types
from rathaus.checks.engine import check
from rathaus.checks.intake import read_packet
from rathaus.checks.model import Document, Evidence, Packet, PageText, Value

ALARM = ("missing", "invalid")
LEVELS = ("none", "moderate", "strong")


# ------------------------------------------------------------------ OCR accuracy

def normalise(text: str) -> str:
    return " ".join(text.split())


def char_errors(truth: str, read: str) -> tuple[int, int]:
    """(edit distance, length of the truth) after collapsing whitespace – sensitive to reading order."""
    reference, hypothesis = normalise(truth), normalise(read)
    return Levenshtein.distance(reference, hypothesis), len(reference)


def word_char_errors(truth: str, read: str) -> tuple[int, int]:
    """Character errors independent of reading order: every word of the truth is matched with the closest
    unused word read (edit distance; a word not read at all counts all its characters). Returns (errors,
    characters of the truth without spaces). Tesseract reads a two-column layout (label | value) column by
    column, which an ordered CER counts as errors although every character was read right."""
    candidates = read.split()
    errors = characters = 0
    for word in truth.split():
        characters += len(word)
        if not candidates:
            errors += len(word)
            continue
        best = process.extractOne(word, candidates, scorer=Levenshtein.distance)
        assert best is not None
        _, distance, index = best
        if distance >= len(word):
            errors += len(word)
            continue
        errors += int(distance)
        candidates.pop(index)
    return errors, characters


# ------------------------------------------------------------------ baseline: Tesseract text + regular expressions

def _tessdata() -> str:
    for candidate in (os.environ.get("TESSDATA_PREFIX", ""), "/usr/share/tesseract-ocr/5/tessdata",
                      "/usr/share/tesseract-ocr/4.00/tessdata"):
        if candidate and Path(candidate, "deu.traineddata").exists():
            return candidate
    raise RuntimeError("Tesseract's German language data (deu.traineddata) not found; install tesseract-ocr-deu")


class PlainTesseract:
    """Tesseract as it comes: German, automatic page segmentation, the image as delivered."""

    def __init__(self) -> None:
        import tesserocr

        self._api = tesserocr.PyTessBaseAPI(path=_tessdata(), lang="deu")

    def read(self, data: bytes) -> str:
        import io

        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            self._api.SetImage(image.convert("RGB"))
            return str(self._api.GetUTF8Text())

    def close(self) -> None:
        self._api.End()


KIND_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
        ("id_card", r"PERSONALAUSWEIS|IDENTITY\s*CARD|IDD<"),
        ("passport", r"REISEPASS|PASSPORT|^P<"),
        ("residence_permit", r"AUFENTHALTSTITEL|RESIDENCE\s*PERMIT"),
        ("payslip", r"Verdienstabrechnung|Gehaltsabrechnung|Entgeltabrechnung"),
        ("employer_declaration", r"Beschäftigungsverhältnis"),
        ("rental_contract", r"Mietvertrag"),
        ("registration_certificate", r"Meldebestätigung|Meldebescheinigung"),
        ("bank_statement", r"Kontoauszug"),
        ("pension_notice", r"Deutsche\s+Rentenversicherung|Rentenanpassung"),
        ("vehicle_registration", r"Zulassungsbescheinigung|Fahrzeugschein"),
        ("employment_contract", r"Arbeitsvertrag"),
        ("qualification_certificate", r"Zeugnisbewertung|Anerkennungsbescheid|Berufsausübungserlaubnis"),
        ("health_insurance_certificate", r"Mitgliedsbescheinigung|Versicherungsbescheinigung"),
    ))
DATE = re.compile(r"\b(\d{2})\.(\d{2})\.(\d{4})\b")
PAGE_OF = re.compile(r"Seite\s*(\d+)\s*von\s*(\d+)", re.IGNORECASE)
IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def page_kind(text: str) -> str:
    if len(re.sub(r"\W", "", text)) < 8:
        return "photo"  # a page without text: the baseline takes it for the passport photo
    for kind, pattern in KIND_KEYWORDS:
        if pattern.search(text):
            return kind
    return "unknown"


def _dates(text: str) -> list[date]:
    found = []
    for day, month, year in DATE.findall(text):
        try:
            found.append(date(int(year), int(month), int(day)))
        except ValueError:
            continue
    return found


def _mrz_digit(text: str) -> str:
    weights = (7, 3, 1)
    total = 0
    for i, char in enumerate(text):
        value = int(char) if char.isdigit() else ord(char) - 55 if "A" <= char <= "Z" else 0
        total += value * weights[i % 3]
    return str(total % 10)


def mrz_checks_fail(text: str) -> bool | None:
    """None: no MRZ line found; else whether a check digit (number, birth, expiry) is wrong."""
    lines = [line.replace(" ", "") for line in text.splitlines()]
    td1 = [line for line in lines if re.fullmatch(r"[A-Z0-9<]{30}", line)]
    td3 = [line for line in lines if re.fullmatch(r"[A-Z0-9<]{44}", line)]
    fields: list[tuple[str, str]] = []
    if len(td1) >= 2 and td1[0].startswith(("I", "A", "C")):
        first, second = td1[0], td1[1]
        fields = [(first[5:14], first[14]), (second[0:6], second[6]), (second[8:14], second[14])]
    elif len(td3) >= 2:
        second = td3[1]
        fields = [(second[0:9], second[9]), (second[13:19], second[19]), (second[21:27], second[27])]
    if not fields:
        return None
    return any(_mrz_digit(value) != digit for value, digit in fields)


def iban_checksum_ok(value: str) -> bool:
    compact = re.sub(r"\s", "", value).upper()
    if not IBAN.match(compact):
        return False
    digits = "".join(str(int(char, 36)) for char in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "ja", "yes", "on", "/on", "/yes", "x")


def _holds(condition: str | None, form: dict[str, Any]) -> bool:
    if not condition:
        return True
    for operator in ("==", "!="):
        if operator in condition:
            name, _, expected = (part.strip() for part in condition.partition(operator))
            equal = str(form.get(name, "")).strip() == expected.strip("'\"")
            return equal if operator == "==" else not equal
    return _truthy(form.get(condition.strip(), ""))


def baseline_check(pages: list[str], form: dict[str, Any], submitted_on: date,
                   app_type: ApplicationType) -> dict[str, str]:
    """The requirements the regular-expression baseline flags (requirement id → "missing"/"invalid")."""
    flags: dict[str, str] = {}
    kinds = [page_kind(text) for text in pages]
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, text in zip(kinds, pages, strict=True):
        by_kind[kind].append(text)
    for requirement in app_type.documents:
        if not requirement.required or not _holds(requirement.when, form):
            continue
        met = [o for o in requirement.any_of if len(by_kind.get(o.kind, [])) >= min(o.count, 2 if o.kind in (
            "id_card",) else o.count)]
        if not met:
            flags[f"document:{requirement.id}"] = "missing"
            continue
        option = met[0]
        texts = by_kind[option.kind]
        if option.must_be_valid:
            latest = max((d for text in texts for d in _dates(text)), default=None)
            if latest is not None and latest <= submitted_on:
                flags[f"document:{requirement.id}"] = "invalid"
        if option.max_age_days is not None:
            for text in texts:
                newest = max(_dates(text), default=None)
                if newest is not None and (submitted_on - newest).days > option.max_age_days:
                    flags[f"document:{requirement.id}"] = "invalid"
    full_text = "\n".join(pages)
    for rule in app_type.rules:
        key = f"rule:{rule.id}"
        if not _holds(rule.when, form):
            continue
        if rule.kind == "mrz_valid":
            if any(mrz_checks_fail(text) for text in pages):
                flags[key] = "invalid"
        elif rule.kind == "iban_valid":
            if form.get("iban") and not iban_checksum_ok(str(form["iban"])):
                flags[key] = "invalid"
        elif rule.kind == "same_person":
            surname = str(form.get("nachname", "")).strip()
            if surname and surname.upper() not in full_text.upper():
                flags[key] = "invalid"
        elif rule.kind == "same_address":
            street = str(form.get("strasse_hausnummer", "")).strip()
            if street and street.upper() not in full_text.upper():
                flags[key] = "invalid"
        elif rule.kind == "signature_present":
            if "unterschrift" in form and not _truthy(form["unterschrift"]):
                flags[key] = "invalid"
        elif rule.kind == "pages_complete":
            seen: dict[tuple[str, int], set[int]] = defaultdict(set)
            for kind, text in zip(kinds, pages, strict=True):
                for number, count in PAGE_OF.findall(text):
                    seen[(kind, int(count))].add(int(number))
            if any(len(numbers) < count for (_, count), numbers in seen.items()):
                flags[key] = "invalid"
    if "iban" in form and any(item.id == "iban" for item in app_type.fields) and not iban_checksum_ok(
            str(form["iban"])):
        flags["field:iban"] = "invalid"
    if "unterschrift" in form and any(item.id == "unterschrift" for item in app_type.fields) and not _truthy(
            form["unterschrift"]):
        flags["field:unterschrift"] = "missing"
    return flags


def baseline_form(name: str, data: bytes, app_type: ApplicationType) -> dict[str, Any]:
    """The form's values as the baseline sees them: JSON as it is, an AcroForm's fields by their names."""
    if name.endswith(".json"):
        loaded = json.loads(data)
        return _find_fields(loaded, {item.id for item in app_type.fields}) or {}
    import io

    from pypdf import PdfReader

    fields = PdfReader(io.BytesIO(data)).get_fields() or {}
    by_pdf_name = {item.pdf_field or item.id: item.id for item in app_type.fields}
    values: dict[str, Any] = {}
    for pdf_name, spec in fields.items():
        value = spec.get("/V") if isinstance(spec, dict) else None
        if value is not None:
            values[by_pdf_name.get(pdf_name, pdf_name)] = str(value)
    return values


def _find_fields(data: Any, ids: set[str]) -> dict[str, Any] | None:
    """The dict among the JSON's objects that holds most of the form's field ids (exports nest them)."""
    best: dict[str, Any] | None = None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if best is None or len(ids & item.keys()) > len(ids & best.keys()):
                best = item
            stack.extend(item.values())
        elif isinstance(item, list):
            if item and all(isinstance(entry, dict) and "id" in entry for entry in item):
                flat = {entry["id"]: entry.get("value") for entry in item}
                if best is None or len(ids & flat.keys()) > len(ids & best.keys()):
                    best = flat
            stack.extend(item)
    return best


# ------------------------------------------------------------------ perfect reading (the rules alone)

def _as_form_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def oracle_packet(entry: dict[str, Any]) -> Packet:
    """The packet as a perfect reader would deliver it, from the manifest's truth: the form's values, every
    submitted document with its kind, its rendered page text and its fields (``page_of`` lists the pages that
    are there). Checking it measures the rules alone, without OCR or recognition errors."""
    form_file = entry["files"][0]
    form = {key: Value(_as_form_text(value), 1.0, Evidence(form_file, 1, f"{key}: {_as_form_text(value)}"))
            for key, value in entry["form"].items() if _as_form_text(value).strip()}
    documents = []
    for document in entry["documents"]:
        if not document["pages"]:
            continue
        first = document["pages"][0]["file"]
        pages = [PageText(page["file"], page["page"], page["text"], 1.0, "text") for page in document["pages"]]
        fields = {key: Value(str(value), 1.0, Evidence(first, 1, str(value)))
                  for key, value in document["fields"].items()}
        if "page_of" in fields:
            shown = " ".join(page["page_of"] for page in document["pages"])
            fields["page_of"] = Value(shown, 1.0, Evidence(first, 1, shown))
        documents.append(Document(first, document["kind"], 1.0, pages, fields))
    return Packet(submitted_on=date.fromisoformat(entry["submitted_on"]), form=form, documents=documents,
                  type_id=entry["type"])


def evaluate_oracle(path: Path | str, *, types: dict[str, ApplicationType] | None = None) -> dict[str, Any]:
    """Recall and false alarms of ``engine.check`` on perfectly read packets (see :func:`oracle_packet`)."""
    root = Path(path)
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    known = types if types is not None else load_types()
    outcomes = []
    for entry in manifest["packets"]:
        result = check(oracle_packet(entry), known[entry["type"]])
        outcome = PacketOutcome(entry["id"], entry["type"], entry["degradation"], entry["pages"],
                                not entry["defects"], statuses={i.requirement: i.status for i in result.items})
        _score_defects(outcome, entry)
        outcomes.append(outcome)
    figures = summarise(outcomes)
    figures["outcomes"] = [_outcome_dict(o) for o in outcomes]
    return figures


# ------------------------------------------------------------------ one packet

@dataclass
class PacketOutcome:
    id: str
    type: str
    level: str
    pages: int
    clean: bool
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # processor time of this process (all its threads) for reading + checking
    statuses: dict[str, str] = field(default_factory=dict)
    problems: int = 0
    defects: list[dict[str, Any]] = field(default_factory=list)  # kind, requirements, strict, lenient, baseline
    ocr: list[tuple[int, int]] = field(default_factory=list)  # (errors, characters) per page, by words
    ocr_ordered: list[tuple[int, int]] = field(default_factory=list)  # the same, reading order counted
    baseline_flags: dict[str, str] = field(default_factory=dict)
    baseline_seconds: float = 0.0
    baseline_ocr: list[tuple[int, int]] = field(default_factory=list)
    error: str = ""


def _submitted_files(folder: Path, entry: dict[str, Any]) -> list[tuple[str, bytes]]:
    return [(name, (folder / name).read_bytes()) for name in entry["files"]]


def evaluate_packet(folder: Path, entry: dict[str, Any], app_type: ApplicationType, *,
                    baseline: bool = True, tesseract: PlainTesseract | None = None) -> PacketOutcome:

    files = _submitted_files(folder, entry)
    submitted_on = date.fromisoformat(entry["submitted_on"])
    outcome = PacketOutcome(entry["id"], entry["type"], entry["degradation"], entry["pages"], not entry["defects"])
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        packet = read_packet(files, submitted_on)
        result = check(packet, app_type)
    except Exception as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.seconds = time.perf_counter() - started
        return outcome
    outcome.seconds = time.perf_counter() - started
    outcome.cpu_seconds = time.process_time() - cpu_started
    outcome.statuses = {item.requirement: item.status for item in result.items}
    outcome.problems = len(result.problems) + len(packet.problems)
    read_pages = {(page.file, page.number): page.text for document in packet.documents for page in document.pages}
    for document in entry["documents"]:
        for page in document["pages"]:
            if page["text"]:  # a photo has no text to read
                text = read_pages.get((page["file"], page["page"]), "")
                outcome.ocr.append(word_char_errors(page["text"], text))
                outcome.ocr_ordered.append(char_errors(page["text"], text))
    if baseline:
        own = tesseract or PlainTesseract()
        started = time.perf_counter()
        texts = [own.read(data) for name, data in files if not name.startswith("antrag.")]
        by_file = {name: text for (name, _), text in zip(
            [f for f in files if not f[0].startswith("antrag.")], texts, strict=True)}
        form_name, form_bytes = files[0]
        form = baseline_form(form_name, form_bytes, app_type)
        outcome.baseline_flags = baseline_check(texts, form, submitted_on, app_type)
        outcome.baseline_seconds = time.perf_counter() - started
        outcome.baseline_ocr = [word_char_errors(page["text"], by_file.get(page["file"], ""))
                                for document in entry["documents"] for page in document["pages"] if page["text"]]
        if tesseract is None:
            own.close()
    _score_defects(outcome, entry)
    return outcome


def _score_defects(outcome: PacketOutcome, entry: dict[str, Any]) -> None:
    for defect in entry["defects"]:
        statuses = [outcome.statuses.get(req, "absent") for req in defect["requirements"]]
        outcome.defects.append({
            "kind": defect["kind"], "requirements": defect["requirements"], "statuses": statuses,
            "strict": any(status in ALARM for status in statuses),
            "lenient": any(status in (*ALARM, "unsure") for status in statuses),
            "baseline": any(req in outcome.baseline_flags for req in defect["requirements"]),
        })


# ------------------------------------------------------------------ a directory

def _share(hits: Iterable[bool]) -> float | None:
    values = list(hits)
    return round(sum(values) / len(values), 4) if values else None


def summarise(outcomes: list[PacketOutcome], *, policy: str = "strict") -> dict[str, Any]:
    """Flat figures (the keys of bench/results/checks.json) from the outcomes of one run. ``policy``: how unsure
    counts in the headline ``defect_recall`` / ``false_alarms_per_clean_packet`` ("strict": not found / no alarm;
    "lenient": found / alarm); both variants are always reported under their own keys too."""
    read = [o for o in outcomes if not o.error]
    clean = [o for o in read if o.clean]
    defects = [(o, d) for o in read for d in o.defects]
    figures: dict[str, Any] = {"packets": len(outcomes), "packets_failed": len(outcomes) - len(read),
                               "clean_packets": len(clean), "defects": len(defects), "unsure_policy": policy}
    figures["defect_recall_strict"] = _share(d["strict"] for _, d in defects)
    figures["defect_recall_incl_unsure"] = _share(d["lenient"] for _, d in defects)
    figures["baseline_defect_recall"] = _share(d["baseline"] for _, d in defects)
    alarms = [sum(status in ALARM for status in o.statuses.values()) for o in clean]
    unsure = [sum(status == "unsure" for status in o.statuses.values()) for o in clean]
    figures["false_alarms_strict_per_clean_packet"] = round(sum(alarms) / len(clean), 4) if clean else None
    figures["unsure_per_clean_packet"] = round(sum(unsure) / len(clean), 4) if clean else None
    figures["false_alarms_incl_unsure_per_clean_packet"] = (
        round((sum(alarms) + sum(unsure)) / len(clean), 4) if clean else None)
    figures["clean_packets_without_alarm"] = _share(a == 0 for a in alarms)
    figures["baseline_false_alarms_per_clean_packet"] = (
        round(sum(len(o.baseline_flags) for o in clean) / len(clean), 4) if clean else None)
    lenient = policy == "lenient"
    figures["defect_recall"] = figures["defect_recall_incl_unsure" if lenient else "defect_recall_strict"]
    figures["false_alarms_per_clean_packet"] = figures[
        "false_alarms_incl_unsure_per_clean_packet" if lenient else "false_alarms_strict_per_clean_packet"]
    for kind in sorted({d["kind"] for _, d in defects}):
        of_kind = [d for _, d in defects if d["kind"] == kind]
        figures[f"recall_{kind}"] = _share(d["lenient" if lenient else "strict"] for d in of_kind)
        figures[f"baseline_recall_{kind}"] = _share(d["baseline"] for d in of_kind)
        figures[f"n_{kind}"] = len(of_kind)
    for level in LEVELS:
        at_level = [o for o in read if o.level == level]
        if not at_level:
            continue
        errors = sum(e for o in at_level for e, _ in o.ocr)
        chars = sum(n for o in at_level for _, n in o.ocr)
        figures[f"ocr_char_accuracy_{level}"] = round(max(0.0, 1 - errors / chars), 4) if chars else None
        errors = sum(e for o in at_level for e, _ in o.ocr_ordered)
        chars = sum(n for o in at_level for _, n in o.ocr_ordered)
        if chars:
            figures[f"ocr_char_accuracy_ordered_{level}"] = round(max(0.0, 1 - errors / chars), 4)
        errors = sum(e for o in at_level for e, _ in o.baseline_ocr)
        chars = sum(n for o in at_level for _, n in o.baseline_ocr)
        if chars:
            figures[f"baseline_ocr_char_accuracy_{level}"] = round(max(0.0, 1 - errors / chars), 4)
        level_defects = [d for o, d in defects if o.level == level]
        figures[f"defect_recall_{level}"] = _share(d["lenient" if lenient else "strict"] for d in level_defects)
        figures[f"baseline_defect_recall_{level}"] = _share(d["baseline"] for d in level_defects)
        level_clean = [o for o in clean if o.level == level]
        if level_clean:
            strict_count = sum(sum(s in ALARM for s in o.statuses.values()) for o in level_clean)
            unsure_count = sum(sum(s == "unsure" for s in o.statuses.values()) for o in level_clean)
            count = strict_count + unsure_count if lenient else strict_count
            figures[f"false_alarms_per_clean_packet_{level}"] = round(count / len(level_clean), 4)
            figures[f"false_alarms_strict_per_clean_packet_{level}"] = round(strict_count / len(level_clean), 4)
            figures[f"unsure_per_clean_packet_{level}"] = round(unsure_count / len(level_clean), 4)
            figures[f"clean_packets_{level}"] = len(level_clean)
    pages = sum(o.pages for o in read)
    seconds = sum(o.seconds for o in read)
    figures["seconds_per_packet"] = round(seconds / len(read), 3) if read else None
    figures["seconds_per_10_pages"] = round(seconds / pages * 10, 3) if pages else None
    cpu = sum(o.cpu_seconds for o in read)
    figures["cpu_seconds_per_10_pages"] = round(cpu / pages * 10, 3) if pages else None
    baseline_seconds = sum(o.baseline_seconds for o in read)
    figures["baseline_seconds_per_10_pages"] = round(baseline_seconds / pages * 10, 3) if pages else None
    figures["pages"] = pages
    false_alarm_items = Counter(req for o in clean for req, status in o.statuses.items() if status in ALARM)
    figures["false_alarm_requirements"] = dict(false_alarm_items.most_common(8))
    missed = Counter(d["kind"] for _, d in defects if not d["strict"])
    figures["missed_defects"] = dict(missed)
    return figures


_WORKER: dict[str, PlainTesseract] = {}


def _start_worker(baseline: bool) -> None:
    if baseline and "tesseract" not in _WORKER:
        _WORKER["tesseract"] = PlainTesseract()


def _stop_worker() -> None:
    tesseract = _WORKER.pop("tesseract", None)
    if tesseract is not None:
        tesseract.close()


def _run_job(job: tuple[str, dict[str, Any], ApplicationType, bool]) -> PacketOutcome:
    folder, entry, app_type, baseline = job
    return evaluate_packet(Path(folder), entry, app_type, baseline=baseline, tesseract=_WORKER.get("tesseract"))


def evaluate_dir(path: Path | str, *, baseline: bool = True, policy: str = "strict", limit: int | None = None,
                 types: dict[str, ApplicationType] | None = None,
                 progress: Callable[[PacketOutcome], None] | None = None, workers: int = 1) -> dict[str, Any]:
    """Evaluate every packet of a generated directory (with manifest.json); see the module docstring.
    ``workers`` > 1 checks packets in that many processes (each packet's time is then measured while the others
    run)."""
    root = Path(path)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{root}: no manifest.json – not a directory made by rathaus.checks.synthetic")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    known = types if types is not None else load_types()
    entries = manifest["packets"][:limit] if limit else manifest["packets"]
    unknown = sorted({entry["type"] for entry in entries} - known.keys())
    if unknown:
        raise ValueError(f"{root}: unknown application types {unknown} (known: {', '.join(sorted(known))})")
    jobs = [(str(root / entry["id"]), entry, known[entry["type"]], baseline) for entry in entries]
    outcomes: list[PacketOutcome] = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(baseline,)) as pool:
            for outcome in pool.map(_run_job, jobs):
                outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
    else:
        _start_worker(baseline)
        try:
            for job in jobs:
                outcome = _run_job(job)
                outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
        finally:
            _stop_worker()
    figures = summarise(outcomes, policy=policy)
    figures["outcomes"] = [_outcome_dict(o) for o in outcomes]
    return figures


def _outcome_dict(outcome: PacketOutcome) -> dict[str, Any]:
    return {"id": outcome.id, "type": outcome.type, "level": outcome.level, "pages": outcome.pages,
            "seconds": round(outcome.seconds, 3), "error": outcome.error, "defects": outcome.defects,
            "alarms": {req: status for req, status in outcome.statuses.items() if status != "satisfied"},
            "baseline_flags": outcome.baseline_flags}


def choose_policy(figures: dict[str, Any], max_false_alarms: float = 0.05) -> str:
    """The unsure policy to report with, chosen on the tuning split: lenient (unsure = found) when its false
    alarms stay within ``max_false_alarms`` per clean packet and it finds more; else strict."""
    lenient_fa = figures.get("false_alarms_incl_unsure_per_clean_packet")
    gain = (figures.get("defect_recall_incl_unsure") or 0) > (figures.get("defect_recall_strict") or 0)
    return "lenient" if lenient_fa is not None and lenient_fa <= max_false_alarms and gain else "strict"
