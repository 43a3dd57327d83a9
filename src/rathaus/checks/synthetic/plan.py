"""What goes into one packet before anything is drawn: the form's values and the documents, chosen from the
application type (rathaus.checks.definitions) – and the defects, each recorded with the checklist requirement
ids it must make fail ("document:<id>", "field:<id>", "rule:<id>")."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from faker import Faker

from rathaus.checks.definitions import ApplicationType, FormField
from rathaus.checks.synthetic.facts import Facts, house_number, other_surname
from rathaus.checks.synthetic.render import RENDERERS, DocSpec

DEFECT_KINDS = (
    "missing_document", "expired_id", "mrz_check_digit", "iban_typo", "name_mismatch", "address_mismatch",
    "payslip_too_old", "missing_page", "missing_signature", "wrong_document_type",
)
ID_KINDS = ("id_card", "passport", "residence_permit")
# documents of two pages ("Seite n von 2") that are signed
MULTI_PAGE_KINDS = ("rental_contract", "employer_declaration", "employment_contract")


@dataclass
class Defect:
    kind: str
    requirements: list[str]  # any of these failing (missing/invalid) counts as found; the first is the main one
    detail: str


@dataclass
class Draft:
    app_type: ApplicationType
    facts: Facts
    values: dict[str, Any]
    specs: list[DocSpec]
    spec_facts: dict[int, Facts] = field(default_factory=dict)  # per document: facts that differ (expired ID)
    drop_pages: set[tuple[int, int]] = field(default_factory=set)  # (spec index, page number) left out
    defects: list[Defect] = field(default_factory=list)

    def facts_for(self, index: int) -> Facts:
        return self.spec_facts.get(index, self.facts)


def condition_holds(condition: str | None, values: dict[str, Any]) -> bool:
    """``when`` of the type definitions: "<field> == <value>", "<field> != <value>" or "<field>" (truthy)."""
    if not condition:
        return True
    for operator in ("==", "!="):
        if operator in condition:
            name, _, expected = (part.strip() for part in condition.partition(operator))
            expected = expected.strip("'\"")
            actual = values.get(name)
            equal = _as_text(actual) == expected
            return equal if operator == "==" else not equal
    return bool(values.get(condition.strip()))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# ------------------------------------------------------------------ form values

def _document_value(facts: Facts, key: str) -> str | None:
    """A document field's value (CHECKS.md keys) from the facts, as the form would state it."""
    table: dict[str, Any] = {
        "rent": f"{facts.rent:.2f}", "net_income": f"{facts.net_income:.2f}",
        "gross_income": f"{facts.gross_income:.2f}", "employer": facts.employer, "iban": facts.iban,
        "surname": facts.surname, "given_names": facts.given_names, "birth_date": facts.birth_date.isoformat(),
        "address": facts.address, "living_space": str(facts.living_space), "nationality": facts.nationality,
        "license_plate": facts.licence_plate,
        "document_number": facts.passport_number if facts.nationality != "DEU" else facts.id_number,
    }
    return table.get(key)


def _known_value(item: FormField, facts: Facts, rng: random.Random, fake: Faker) -> Any:
    name = item.id
    direct: dict[str, Any] = {
        "vorname": facts.given_names, "nachname": facts.surname, "geburtsdatum": facts.birth_date.isoformat(),
        "geburtsort": facts.birth_place, "strasse_hausnummer": facts.street, "plz": facts.postcode,
        "ort": facts.city, "email": facts.email, "telefon": facts.phone, "iban": facts.iban,
        "kontoinhaber": f"{facts.given_names} {facts.surname}", "unterschrift": True,
        "antragsdatum": facts.submitted_on.isoformat(), "drittstaat": facts.nationality != "DEU",
        "halter_name": facts.vehicle_holder or None, "krankenversicherung": facts.insurer,
    }
    if name in direct:
        return direct[name]
    if name == "fahrzeug_halter":
        if not facts.vehicle_holder:
            return "antragsteller"
        company = any(word in facts.vehicle_holder for word in ("GmbH", "AG", "KG", "mbH", "OHG", "e.V."))
        return "firma" if company else "andere_person"
    if item.type == "bool":
        return rng.random() < 0.3 if "erforderlich" in name else True
    if item.choices:
        return None
    if name == "staatsangehoerigkeit":
        if item.choices:
            for choice in item.choices:
                if choice.lower() in (facts.nationality.lower(), facts.nationality_word.lower()):
                    return choice
            return item.choices[0] if facts.nationality == "DEU" else item.choices[-1]
        return facts.nationality if item.pattern and "A-Z" in item.pattern else facts.nationality_word
    keywords: list[tuple[tuple[str, ...], Any]] = [
        (("vermieter",), facts.landlord),
        (("kaltmiete", "miete", "mietbetrag"), f"{facts.rent:.2f}"),
        (("wohnflaeche", "flaeche"), str(facts.living_space)),
        (("zimmer",), str(facts.rooms)),
        (("einzug",), facts.move_in.isoformat()),
        (("netto",), f"{facts.net_income:.2f}"),
        (("brutto", "gehalt", "einkommen", "entgelt"), f"{facts.gross_income:.2f}"),
        (("arbeitgeber_anschrift", "arbeitgeberanschrift"), facts.employer_address),
        (("betriebsnummer",), facts.employer_number),
        (("arbeitgeber", "firma"), facts.employer),
        (("taetigkeit", "beruf", "stelle"), facts.job_title),
        (("arbeitszeit", "stunden"), str(facts.weekly_hours)),
        (("beschaeftigungsbeginn", "beginn"), facts.employment_start.isoformat()),
        (("kennzeichen",), facts.licence_plate),
        (("berufsbezeichnung",), facts.job_title),
        (("fahrzeug", "marke", "typ"), facts.vehicle),
        (("haushalt", "personen", "mitglieder"), str(facts.household_size)),
        (("pass", "ausweisnummer", "dokumentnummer"), facts.passport_number if facts.nationality != "DEU"
         else facts.id_number),
        (("geschlecht",), {"F": "weiblich", "M": "männlich"}[facts.sex]),
    ]
    for words, value in keywords:
        if any(word in name for word in words):
            if item.type in ("integer", "amount"):
                try:
                    number = float(value)
                except ValueError:
                    continue
                return int(number) if item.type == "integer" else f"{number:.2f}"
            if item.type == "date" and not _looks_like_date(value):
                continue
            if item.choices:
                break
            return value
    return None


def _looks_like_date(value: Any) -> bool:
    try:
        date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _by_type(item: FormField, facts: Facts, rng: random.Random, fake: Faker) -> Any:
    low = item.min if item.min is not None else None
    high = item.max if item.max is not None else None
    match item.type:
        case "choice":
            return rng.choice(item.choices) if item.choices else ""
        case "bool":
            return True
        case "integer":
            return rng.randint(int(low if low is not None else 1), int(high if high is not None else 5))
        case "amount":
            return f"{rng.uniform(low if low is not None else 50, high if high is not None else 1500):.2f}"
        case "date":
            return (facts.submitted_on - timedelta(days=rng.randint(30, 2000))).isoformat()
        case "iban":
            return facts.iban
        case "postcode":
            return facts.postcode
        case "email":
            return facts.email
        case "phone":
            return facts.phone
        case "address":
            return facts.address
        case "name":
            return fake.name()
        case "document_number":
            return facts.passport_number if facts.nationality != "DEU" else facts.id_number
        case _:
            return fake.word().capitalize()


def form_values(app_type: ApplicationType, facts: Facts, rng: random.Random, fake: Faker) -> dict[str, Any]:
    """A complete, consistent form: every required field (and most optional ones), conditions respected,
    amounts in their rule ranges, form fields that a rule compares with a document equal to it."""
    values: dict[str, Any] = {}
    for item in app_type.fields:
        value = _known_value(item, facts, rng, fake)
        if value is None:
            value = _by_type(item, facts, rng, fake)
        values[item.id] = value
    if "einkommensart" in values:
        values["einkommensart"] = "rente" if rng.random() < 0.3 else "erwerbstaetigkeit"
        if values["einkommensart"] == "rente":
            for item in app_type.fields:
                if item.type == "amount" and "einkommen" in item.id:
                    values[item.id] = f"{facts.pension_gross:.2f}"
    for rule in app_type.rules:
        if rule.kind == "field_equals_document" and rule.document_field:
            document_value = _document_value(facts, rule.document_field)
            for name in rule.fields:
                if document_value is not None:
                    values[name] = document_value
        if rule.kind == "amount_range" and rule.fields and not rule.document_field:
            for name in rule.fields:
                try:
                    number = float(values[name])
                except (TypeError, ValueError):
                    continue
                low = rule.min if rule.min is not None else number
                high = rule.max if rule.max is not None else number
                if not low <= number <= high:
                    values[name] = f"{rng.uniform(low, high):.2f}"
    for item in app_type.fields:  # conditional fields that do not apply, and some optional ones, stay empty
        if not condition_holds(item.when, values) or (not item.required and item.type != "bool"
                                                        and rng.random() < 0.2):
            values.pop(item.id, None)
    return values


# ------------------------------------------------------------------ documents

def _periods(submitted_on: date, count: int, max_age_days: int | None) -> list[date]:
    """First days of the last ``count`` complete months before submission (newest first)."""
    first = submitted_on.replace(day=1)
    periods = []
    for _ in range(count):
        first = (first - timedelta(days=1)).replace(day=1)
        periods.append(first)
    return periods


def plan_documents(app_type: ApplicationType, values: dict[str, Any], facts: Facts,
                   rng: random.Random) -> list[DocSpec]:
    specs: list[DocSpec] = []
    for requirement in app_type.documents:
        if not condition_holds(requirement.when, values):
            continue
        if not requirement.required and rng.random() < 0.5:
            continue
        options = [option for option in requirement.any_of if option.kind in RENDERERS]
        if facts.nationality != "DEU":
            options = [option for option in options if option.kind != "id_card"] or options
        if not options:
            continue
        option = rng.choice(options)
        kinds = {o.kind for o in options}
        if {"payslip", "pension_notice"} <= kinds:  # the income proof that fits the form's kind of income
            wanted = "pension_notice" if values.get("einkommensart") == "rente" else "payslip"
            option = next(o for o in options if o.kind == wanted)
        if option.kind in ("payslip", "bank_statement"):
            periods = _periods(facts.submitted_on, option.count, option.max_age_days)
            specs.extend(DocSpec(option.kind, requirement.id, period=p, index=i) for i, p in enumerate(periods))
        elif option.kind == "pension_notice":
            specs.append(DocSpec(option.kind, requirement.id,
                                 period=(facts.submitted_on - timedelta(days=rng.randint(20, 150))).replace(day=1)))
        else:
            specs.extend(DocSpec(option.kind, requirement.id, index=i) for i in range(option.count))
    return specs


# ------------------------------------------------------------------ defects

def _rule_ids(app_type: ApplicationType, kind: str, values: dict[str, Any] | None = None,
              requirement: str | None = None, fields: bool | None = None) -> list[str]:
    """Rules of ``kind`` that apply to this form (their ``when`` holds), optionally only those covering a
    document requirement, or only those on form fields (``fields=True``) or on documents (``fields=False``)."""
    found = []
    for rule in app_type.rules:
        if rule.kind != kind or (values is not None and not condition_holds(rule.when, values)):
            continue
        if requirement is not None and rule.documents and requirement not in rule.documents:
            continue
        if fields is not None and bool(rule.fields) != fields:
            continue
        found.append(f"rule:{rule.id}")
    return found


def _field(app_type: ApplicationType, name: str) -> list[str]:
    return [f"field:{name}"] if any(item.id == name for item in app_type.fields) else []


def _requirement_for(app_type: ApplicationType, kind: str) -> str | None:
    for requirement in app_type.documents:
        if any(option.kind == kind for option in requirement.any_of):
            return requirement.id
    return None


def apply_defect(draft: Draft, kind: str, rng: random.Random, fake: Faker) -> Defect | None:
    """Inject one defect of ``kind`` into ``draft``; None when the type does not check for it or the packet has
    no place for it (a defect only counts where the type has a requirement that must catch it)."""
    app_type, specs, values = draft.app_type, draft.specs, draft.values
    options = {r.id: r.any_of for r in app_type.documents}
    required_docs = [spec for spec in specs if spec.requirement and _required(app_type, spec.requirement)]
    if kind in ("missing_document", "wrong_document_type"):
        requirements = sorted({spec.requirement for spec in required_docs if spec.requirement})
        if not requirements:
            return None
        target = rng.choice(requirements)
        draft.specs = [spec for spec in specs if spec.requirement != target]
        # Requirements met by the same kind of document (a qualification certificate for "qualification" and for
        # "licence to practise"): with one of them gone, the checklist may name either as missing.
        kinds = {o.kind for o in options[target]}
        siblings = [f"document:{r.id}" for r in app_type.documents if r.id != target and r.id in requirements
                    and kinds & {o.kind for o in r.any_of}]
        if kind == "missing_document":
            return Defect(kind, [f"document:{target}", *siblings], f"alle Dokumente für {target} fehlen")
        used = {o.kind for r in app_type.documents for o in r.any_of}
        accepted = {o.kind for o in options[target]}
        candidates = [k for k in RENDERERS if k not in used and k != "photo"] or [
            k for k in RENDERERS if k not in accepted and k != "photo"]
        wrong = rng.choice(sorted(candidates))
        last_month = (draft.facts.submitted_on.replace(day=1) - timedelta(days=1)).replace(day=1)
        draft.specs.append(DocSpec(wrong, None, period=last_month))
        return Defect(kind, [f"document:{target}", *siblings], f"statt {target} ein Dokument der Art {wrong}")
    if kind in ("expired_id", "mrz_check_digit"):
        index = next((i for i, spec in enumerate(specs) if spec.kind in ID_KINDS and spec.requirement), None)
        if index is None:
            return None
        spec = specs[index]
        assert spec.requirement is not None
        if kind == "expired_id":
            if not any(o.must_be_valid and o.kind == spec.kind for o in options[spec.requirement]):
                return None
            expiry = draft.facts.submitted_on - timedelta(days=rng.randint(5, 400))
            issue = expiry.replace(year=expiry.year - 10) + timedelta(days=1)
            draft.spec_facts[index] = replace(draft.facts, id_expiry_date=expiry, id_issue_date=issue)
            return Defect(kind, [f"document:{spec.requirement}"], f"{spec.kind} abgelaufen am {expiry.isoformat()}")
        rules = _rule_ids(app_type, "mrz_valid", values, spec.requirement)
        if not rules:
            return None
        spec.mrz_broken = True
        return Defect(kind, [*rules, f"document:{spec.requirement}"],
                      f"eine Prüfziffer der MRZ ({spec.kind}) ist falsch")
    if kind == "iban_typo":
        iban = str(values.get("iban", ""))
        checks = [*_field(app_type, "iban"), *_rule_ids(app_type, "iban_valid", values)]
        if not iban or not checks:
            return None
        position = rng.randrange(4, len(iban))
        digit = iban[position]
        new = str((int(digit) + rng.randint(1, 9)) % 10) if digit.isdigit() else "0"
        values["iban"] = iban[:position] + new + iban[position + 1:]
        return Defect(kind, checks, f"IBAN im Antrag: Stelle {position + 1} vertippt")
    if kind == "name_mismatch":
        rules = _rule_ids(app_type, "same_person", values)
        covered = _covered(app_type, "same_person", values, specs)
        if not rules or "nachname" not in values or not covered:
            return None
        old = str(values["nachname"])
        values["nachname"] = other_surname(fake, old)
        if "kontoinhaber" in values:
            values["kontoinhaber"] = f"{values.get('vorname', '')} {values['nachname']}".strip()
        return Defect(kind, rules, f"Nachname im Antrag {values['nachname']!r}, in den Dokumenten {old!r}")
    if kind == "address_mismatch":
        rules = _rule_ids(app_type, "same_address", values)
        if not rules or "strasse_hausnummer" not in values or not _covered(app_type, "same_address", values, specs):
            return None
        old = str(values["strasse_hausnummer"])
        street = old
        for _ in range(20):
            street = f"{fake.street_name()} {house_number(rng)}"
            if street.split()[0][:4] != old.split()[0][:4]:
                break
        values["strasse_hausnummer"] = street
        return Defect(kind, rules, f"Anschrift im Antrag {street!r}, in den Dokumenten {old!r}")
    if kind == "payslip_too_old":
        requirement = next((r for r in app_type.documents
                            if any(o.kind == "payslip" and o.max_age_days for o in r.any_of)), None)
        if requirement is None or not _make_hold(requirement.when, values):
            return None
        payslips = [spec for spec in specs if spec.kind == "payslip"]
        if not payslips:
            option = next(o for o in requirement.any_of if o.kind == "payslip")
            if "einkommensart" in values:
                values["einkommensart"] = "erwerbstaetigkeit"
                for item in app_type.fields:  # questions that the changed answer opens (the employer)
                    if item.id not in values and item.required and condition_holds(item.when, values):
                        known = _known_value(item, draft.facts, rng, fake)
                        values[item.id] = known if known is not None else _by_type(item, draft.facts, rng, fake)
                    elif item.type == "amount" and "einkommen" in item.id:
                        values[item.id] = f"{draft.facts.gross_income:.2f}"
            draft.specs = [spec for spec in specs if spec.requirement != requirement.id]
            payslips = [DocSpec("payslip", requirement.id, period=p, index=i)
                        for i, p in enumerate(_periods(draft.facts.submitted_on, option.count, None))]
            draft.specs.extend(payslips)
        shift = rng.randint(6, 14)
        for spec in payslips:
            assert spec.period is not None
            period = spec.period
            for _ in range(shift):
                period = (period - timedelta(days=1)).replace(day=1)
            spec.period = period
        return Defect(kind, [f"document:{requirement.id}"],
                      f"Gehaltsabrechnungen {shift} Monate zu alt (neueste {payslips[0].period:%Y-%m})")
    if kind == "missing_page":
        for index, spec in enumerate(specs):
            if spec.kind not in MULTI_PAGE_KINDS or not spec.requirement:
                continue
            rules = _rule_ids(app_type, "pages_complete", values, spec.requirement)
            if rules:
                draft.drop_pages.add((index, 2))
                return Defect(kind, [*rules, f"document:{spec.requirement}"], f"{spec.kind}: Seite 2 von 2 fehlt")
        return None
    if kind == "missing_signature":
        form_rules = [f"rule:{rule.id}" for rule in app_type.rules if rule.kind == "signature_present"
                      and "unterschrift" in rule.fields and condition_holds(rule.when, values)]
        signed = [spec for spec in specs if spec.kind in MULTI_PAGE_KINDS and spec.requirement
                  and _rule_ids(app_type, "signature_present", values, spec.requirement, fields=False)]
        if signed and (rng.random() < 0.5 or "unterschrift" not in values):
            unsigned = signed[0]
            assert unsigned.requirement is not None
            unsigned.signed = False
            rules = _rule_ids(app_type, "signature_present", values, unsigned.requirement, fields=False)
            return Defect(kind, [*rules, f"document:{unsigned.requirement}"], f"{unsigned.kind} nicht unterschrieben")
        if "unterschrift" in values and (form_rules or _field(app_type, "unterschrift")):
            values["unterschrift"] = False
            return Defect(kind, [*_field(app_type, "unterschrift"), *form_rules], "Antrag nicht unterschrieben")
        return None
    raise ValueError(f"unknown defect kind {kind!r} (known: {', '.join(DEFECT_KINDS)})")


def _covered(app_type: ApplicationType, kind: str, values: dict[str, Any], specs: list[DocSpec]) -> bool:
    """Whether a rule of ``kind`` that applies has a document in the packet to compare the form with."""
    for rule in app_type.rules:
        if rule.kind == kind and condition_holds(rule.when, values) and (not rule.documents or any(
                spec.requirement in rule.documents or spec.kind in rule.documents for spec in specs)):
            return True
    return False


def _make_hold(condition: str | None, values: dict[str, Any]) -> bool:
    """Change the form so that ``condition`` holds ("<field> == <value>" or "<field>"); False if it cannot."""
    if condition_holds(condition, values):
        return True
    assert condition is not None
    if "!=" in condition:
        return False
    name, _, expected = (part.strip() for part in condition.partition("=="))
    values[name] = expected.strip("'\"") if expected else True
    return condition_holds(condition, values)


def _required(app_type: ApplicationType, requirement_id: str) -> bool:
    return any(r.id == requirement_id and r.required for r in app_type.documents)


def applicable(app_type: ApplicationType, kind: str, draft: Draft, rng: random.Random, fake: Faker) -> bool:
    """Whether ``kind`` can be injected into (a copy of) this draft."""
    trial = Draft(app_type, draft.facts, dict(draft.values), [replace(spec) for spec in draft.specs])
    return apply_defect(trial, kind, random.Random(rng.random()), fake) is not None
