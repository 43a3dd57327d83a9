"""The rules: a packet as read and an application type give a checklist (:func:`check`).

One :class:`ChecklistItem` per required form field (``field:<id>``), per document requirement
(``document:<id>``) and per rule (``rule:<id>``), each satisfied / missing / invalid / unsure with the evidence it
rests on. The engine points out; it decides nothing (``CheckResult.complete`` is a suggestion for the case
worker, and Annex III types are flagged).

When it says "unsure": a value or a document kind read with low confidence, a fuzzy match in the grey zone
between "same" and "different", a date that could not be read, or a rule that cannot be checked because what it
compares is missing. A case worker trusts a checklist that says "unsure" more than one that is wrongly sure.

Conditions (``when`` of fields, documents and rules): ``"<field> == <value>"``, ``"<field> != <value>"`` or
``"<field>"`` (the answer is yes / non-empty). A condition on a field the form does not answer is not met; the
field it depends on is reported as missing instead.

Rule parameters: ``date_plausible`` checks that the listed dates are not after the submission date and, with
``min``/``max``, that the *first* listed field (the birth date) gives an age in [min, max] years;
``amount_range`` checks the listed fields and the ``document_field`` of the listed documents against
[min, max]; ``field_equals_document`` compares the first listed field with ``document_field``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from difflib import SequenceMatcher

from rathaus.checks.definitions import ApplicationType, DocumentOption, DocumentRequirement, FormField, Rule
from rathaus.checks.model import ChecklistItem, CheckResult, Document, Evidence, Packet, Status, Value
from rathaus.checks.validators import Match, match_address, match_name, parse_amount, parse_date, validate_iban

#: values read with less confidence (OCR, recognition) are not trusted for "satisfied" nor for "invalid"
LOW_CONFIDENCE = 0.6
#: a page recognised as a kind with less confidence does not count as that document for sure
LOW_KIND_CONFIDENCE = 0.5
#: names and addresses: the verdict of rathaus.checks.validators.matching (its thresholds are tested there)
ID_KINDS = ("passport", "id_card", "residence_permit")

_TRUE = {"true", "ja", "yes", "1", "x", "on", "wahr", "y", "j"}
_FALSE = {"false", "nein", "no", "0", "off", "falsch", "n", ""}
_RANK: dict[Status, int] = {"satisfied": 0, "unsure": 1, "invalid": 2, "missing": 3}
_PAGE_OF = re.compile(r"(?:Seite|Page|S\.)\s*(\d{1,3})\s*(?:von|of|/)\s*(\d{1,3})", re.IGNORECASE)


def check(packet: Packet, app_type: ApplicationType) -> CheckResult:
    """The checklist for ``packet`` against ``app_type``; never raises for what is wrong in the packet."""
    form = {key: value for key, value in packet.form.items() if value.value.strip()}
    items: list[ChecklistItem] = []
    if packet.type_id and packet.type_id != app_type.id:
        items.append(ChecklistItem(
            "packet:type", "Antragsart", "invalid",
            f"Das Formular gehört zur Antragsart {packet.type_id!r}, geprüft wird {app_type.id!r}.",
            hint="Bitte verwenden Sie das Formular für diesen Antrag."))
    for form_field in app_type.fields:
        item = _field_item(form_field, form)
        if item is not None:
            items.append(item)
    assigned: dict[str, list[Document]] = {}
    used: set[int] = set()
    for requirement in app_type.documents:
        if not condition_holds(requirement.when, form):
            continue
        doc_item, docs = _document_item(requirement, packet, used)
        assigned[requirement.id] = docs
        if doc_item is not None:
            items.append(doc_item)
    for rule in app_type.rules:
        if not condition_holds(rule.when, form):
            continue
        items.append(_rule_item(rule, packet, form, _rule_documents(rule, packet, assigned), app_type))
    return CheckResult(type_id=app_type.id, annex_iii=app_type.annex_iii, items=items, problems=list(packet.problems))


# --- conditions --------------------------------------------------------------------------------------
def truthy(text: str) -> bool | None:
    """Yes/no answers ("true", "ja", "x", …) as a bool; None when it is neither."""
    low = text.strip().casefold()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return None


def condition_holds(when: str | None, form: dict[str, Value]) -> bool:
    if not when:
        return True
    match = re.fullmatch(r"\s*([a-z][a-z0-9_]*)\s*(==|!=)\s*(.*?)\s*", when)
    if match:
        name, op, expected = match.groups()
        value = form.get(name)
        if value is None:
            return False
        same = value.value.strip().casefold() == expected.strip().strip("\"'").casefold()
        return same if op == "==" else not same
    name = when.strip()
    value = form.get(name)
    return value is not None and bool(truthy(value.value))


# --- form fields -------------------------------------------------------------------------------------
def _field_item(form_field: FormField, form: dict[str, Value]) -> ChecklistItem | None:
    if not condition_holds(form_field.when, form):
        return None
    requirement, label = f"field:{form_field.id}", form_field.label.de
    help_text = form_field.help.de if form_field.help else ""
    value = form.get(form_field.id)
    if value is None:
        if not form_field.required:
            return None
        return ChecklistItem(requirement, label, "missing", f"Angabe „{label}“ fehlt.",
                             hint=_join(f"Bitte ergänzen Sie: {label}.", help_text))
    problem = format_problem(form_field, value.value)
    evidence = [value.evidence]
    if value.confidence < LOW_CONFIDENCE:
        reason = f"; außerdem: {problem}" if problem else ""
        return ChecklistItem(requirement, label, "unsure",
                             f"„{label}“ nur unsicher gelesen (Sicherheit {value.confidence:.0%}){reason}.",
                             evidence, hint="")
    if problem:
        return ChecklistItem(requirement, label, "invalid", f"„{label}“: {problem}.", evidence,
                             hint=_join(f"Bitte prüfen Sie die Angabe „{label}“: {problem}.", help_text))
    return ChecklistItem(requirement, label, "satisfied", f"„{label}“ angegeben.", evidence)


def format_problem(form_field: FormField, raw: str) -> str:
    """Why ``raw`` is not a valid answer to ``form_field`` (German, short), or "" when it is."""
    text = raw.strip()
    kind = form_field.type
    problem = ""
    if kind == "name" and not re.fullmatch(r"[^\W\d_]+(?:[ '’.\-]+[^\W\d_]+)*\.?", text):
        problem = "ein Name besteht nur aus Buchstaben, Leerzeichen und Bindestrichen"
    elif kind == "date" and parse_date(text) is None:
        problem = "kein gültiges Datum"
    elif kind == "iban" and not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", re.sub(r"\s+", "", text).upper()):
        problem = "keine IBAN (sie beginnt mit zwei Buchstaben und zwei Ziffern, zum Beispiel DE12 …)"
    elif kind == "integer":
        if not re.fullmatch(r"-?\d+", text):
            problem = "keine ganze Zahl"
        else:
            problem = _range_problem(Decimal(text), form_field.min, form_field.max)
    elif kind == "amount":
        amount = parse_amount(text)
        problem = "kein Betrag" if amount is None else _range_problem(amount, form_field.min, form_field.max)
    elif kind == "choice" and form_field.choices and text.casefold() not in {c.casefold() for c in form_field.choices}:
        problem = "keine der möglichen Antworten"
    elif kind == "bool" and truthy(text) is None:
        problem = "bitte mit Ja oder Nein beantworten"
    elif kind == "postcode" and not re.fullmatch(r"\d{5}", text):
        problem = "eine Postleitzahl hat fünf Ziffern"
    elif kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]{2,}", text):
        problem = "keine E-Mail-Adresse"
    elif kind == "phone" and not re.fullmatch(r"\+?[\d\s/()\-]{6,}", text):
        problem = "keine Telefonnummer"
    elif kind == "address" and not (re.search(r"[^\W\d_]", text) and re.search(r"\d", text)):
        problem = "Straße und Hausnummer angeben"
    elif kind == "document_number" and not re.fullmatch(r"[A-Z0-9]{5,20}", re.sub(r"\s+", "", text).upper()):
        problem = "keine Ausweisnummer (nur Buchstaben und Ziffern)"
    if not problem and form_field.pattern and not re.fullmatch(form_field.pattern, text):
        problem = "Format stimmt nicht"
    return problem


def _range_problem(number: Decimal, low: float | None, high: float | None) -> str:
    if low is not None and number < Decimal(str(low)):
        return f"mindestens {_num(low)}"
    if high is not None and number > Decimal(str(high)):
        return f"höchstens {_num(high)}"
    return ""


def _num(number: float) -> str:
    return f"{number:g}".replace(".", ",")


# --- documents ---------------------------------------------------------------------------------------
@dataclass
class _OptionOutcome:
    option: DocumentOption
    status: Status
    message: str
    reason: str  # for the applicant ("" when satisfied)
    good: list[Document] = field(default_factory=list)
    candidates: list[Document] = field(default_factory=list)


def _document_item(requirement: DocumentRequirement, packet: Packet,
                   used: set[int]) -> tuple[ChecklistItem | None, list[Document]]:
    single = requirement.label.de if len(requirement.any_of) == 1 else ""
    outcomes = [_option_outcome(option, packet, used, single) for option in requirement.any_of]
    best = min(outcomes, key=lambda o: (_RANK[o.status], -len(o.candidates)))
    label = requirement.label.de
    help_text = requirement.help.de if requirement.help else ""
    requirement_id = f"document:{requirement.id}"
    if best.status == "satisfied":  # takes only as many documents as it needs: the rest may meet a later one
        chosen = best.good[:best.option.count]
        used.update(id(doc) for doc in chosen)
        return ChecklistItem(requirement_id, label, "satisfied", best.message, _doc_evidence(chosen)), chosen
    if best.status == "missing":
        if not requirement.required:
            return None, []
        unknown = [doc for doc in packet.documents if doc.kind == "unknown"]
        note = f" {len(unknown)} Dokument(e) nicht erkannt." if unknown else ""
        single = label if len(requirement.any_of) == 1 else ""
        alternatives = " oder ".join(_option_label(o, single) for o in requirement.any_of)
        return (ChecklistItem(requirement_id, label, "missing", f"Nicht beigelegt: {alternatives}.{note}",
                              _doc_evidence(unknown), hint=_join(f"Bitte schicken Sie uns: {label}.", help_text)),
                [])
    used.update(id(doc) for doc in best.candidates)
    hint = "" if best.status == "unsure" else _join(f"{label}: {best.reason}", help_text)
    return (ChecklistItem(requirement_id, label, best.status, best.message, _doc_evidence(best.candidates),
                          hint=hint), best.candidates)


def _option_label(option: DocumentOption, default: str = "") -> str:
    if option.label:
        return option.label.de
    name = default or option.kind
    return f"{option.count} × {name}" if option.count > 1 else name


def _option_outcome(option: DocumentOption, packet: Packet, used: set[int], default: str) -> _OptionOutcome:
    candidates = [doc for doc in packet.documents if doc.kind == option.kind and id(doc) not in used]
    name = _option_label(option, default)
    if not candidates:
        return _OptionOutcome(option, "missing", f"{name} fehlt.", "fehlt")
    good: list[Document] = []
    unsure: list[str] = []
    bad: list[str] = []
    bad_reasons: list[str] = []
    for doc in candidates:
        where = _where(doc)
        if doc.confidence < LOW_KIND_CONFIDENCE:
            unsure.append(f"{where}: als {option.kind} nur unsicher erkannt ({doc.confidence:.0%})")
            continue
        verdict, message, reason = _validity(doc, option, packet.submitted_on)
        if verdict == "invalid":
            bad.append(f"{where}: {message}")
            bad_reasons.append(reason)
        elif verdict == "unsure":
            unsure.append(f"{where}: {message}")
        else:
            good.append(doc)
    distinct = _distinct(good)
    if len(distinct) >= option.count:
        return _OptionOutcome(option, "satisfied", f"{name}: {len(distinct)} vorhanden.", "", distinct, candidates)
    if unsure and len(distinct) + len(unsure) >= option.count:
        return _OptionOutcome(option, "unsure", f"{name}: " + "; ".join(unsure) + ".", "", distinct, candidates)
    if bad:
        lacking = option.count - len(distinct)
        more = f" {_lacking(lacking, option.count)}" if option.count > 1 else ""
        return _OptionOutcome(option, "invalid", f"{name}: " + "; ".join(bad + unsure) + "." + more,
                              _join(*dict.fromkeys(bad_reasons), more), distinct, candidates)
    lacking = option.count - len(distinct) - len(unsure)
    return _OptionOutcome(option, "invalid",
                          f"{name}: nur {len(distinct) + len(unsure)} von {option.count} beigelegt.",
                          _lacking(lacking, option.count), distinct, candidates)


def _validity(doc: Document, option: DocumentOption, submitted_on: date) -> tuple[Status, str, str]:
    """Status, the message for the case worker and the reason in plain words for the applicant."""
    if option.must_be_valid:
        expiry = doc.fields.get("expiry_date")
        expiry_date = parse_date(expiry.value) if expiry else None
        if expiry is None or expiry_date is None:
            return "unsure", "Ablaufdatum nicht lesbar", ""
        if expiry_date < submitted_on:
            status: Status = "unsure" if expiry.confidence < LOW_CONFIDENCE else "invalid"
            return (status, f"abgelaufen am {_de_date(expiry_date)}",
                    f"Es ist am {_de_date(expiry_date)} abgelaufen. Wir brauchen ein gültiges Dokument.")
    if option.max_age_days is not None:
        dated, value = _document_date(doc)
        if dated is None:
            return "unsure", "Datum nicht lesbar", ""
        age = (submitted_on - dated).days
        if age > option.max_age_days:
            status = "unsure" if value is not None and value.confidence < LOW_CONFIDENCE else "invalid"
            return (status, f"zu alt (vom {_de_date(dated)}, älter als {option.max_age_days} Tage)",
                    f"Das Dokument vom {_de_date(dated)} ist zu alt.")
    return "satisfied", "", ""


def _document_date(doc: Document) -> tuple[date | None, Value | None]:
    """The date a document speaks for: its issue date, else the last day of its period ("YYYY-MM")."""
    issue = doc.fields.get("issue_date")
    if issue is not None and (parsed := parse_date(issue.value)) is not None:
        return parsed, issue
    period = doc.fields.get("period")
    if period is not None and (match := re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", period.value)):
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12:
            first_next = date(year + month // 12, month % 12 + 1, 1)
            return first_next - timedelta(days=1), period
    return None, None


def _distinct(docs: list[Document]) -> list[Document]:
    """Documents that are not copies of one another (same period or same number counts once)."""
    seen: set[str] = set()
    out = []
    for doc in docs:
        key = ""
        for name in ("period", "document_number", "issue_date"):
            if name in doc.fields:
                key = f"{name}={doc.fields[name].value.strip()}"
                break
        if key and key in seen:
            continue
        if key:
            seen.add(key)
        out.append(doc)
    return out


def _lacking(lacking: int, count: int) -> str:
    return f"Es fehlt noch {lacking} von {count}." if lacking == 1 else f"Es fehlen noch {lacking} von {count}."


def _where(doc: Document) -> str:
    pages = [page.number for page in doc.pages]
    if not pages:
        return doc.file
    return f"{doc.file}, S. {pages[0]}" if len(pages) == 1 else f"{doc.file}, S. {pages[0]}–{pages[-1]}"


def _doc_evidence(docs: Iterable[Document]) -> list[Evidence]:
    out = []
    for doc in docs:
        page = doc.pages[0] if doc.pages else None
        snippet = " ".join(page.text.split())[:120] if page else ""
        out.append(Evidence(doc.file, page.number if page else None, snippet))
    return out


# --- rules -------------------------------------------------------------------------------------------
def _rule_documents(rule: Rule, packet: Packet, assigned: dict[str, list[Document]]) -> list[Document]:
    docs: list[Document] = []
    for name in rule.documents:
        found = assigned.get(name)
        if found is None:
            found = [doc for doc in packet.documents if doc.kind == name]
        docs.extend(doc for doc in found if all(doc is not other for other in docs))
    if not rule.documents and rule.kind == "mrz_valid":
        docs = [doc for doc in packet.documents if doc.kind in ID_KINDS]
    return docs


@dataclass
class _Finding:
    status: Status
    message: str
    evidence: list[Evidence] = field(default_factory=list)


def _rule_item(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
               app_type: ApplicationType) -> ChecklistItem:
    checker = _CHECKERS[rule.kind]
    findings = checker(rule, packet, form, docs, app_type)
    label = rule.label.de
    if not findings:
        return ChecklistItem(f"rule:{rule.id}", label, "unsure",
                             "Nicht prüfbar: es fehlen die Angaben oder Unterlagen, die verglichen werden.")
    worst = max(findings, key=lambda f: _RANK[f.status])
    status = worst.status
    shown = [f for f in findings if f.status == status] if status != "satisfied" else findings
    message = "; ".join(dict.fromkeys(f.message for f in shown))
    evidence = [ev for f in shown for ev in f.evidence]
    hint = rule.hint.de if rule.hint and status in ("invalid", "missing") else ""
    return ChecklistItem(f"rule:{rule.id}", label, status, message, evidence, hint=hint)


def _match_status(match: Match, confidence: float) -> Status:
    """The validators' verdict; "different" is only called invalid when the values were read confidently."""
    if match.verdict == "same":
        return "satisfied"
    if match.verdict == "different" and confidence >= LOW_CONFIDENCE:
        return "invalid"
    return "unsure"


def _same_person(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
                 app_type: ApplicationType) -> list[_Finding]:
    given, surname, birth = form.get("vorname"), form.get("nachname"), form.get("geburtsdatum")
    findings = []
    for doc in docs:
        where = _where(doc)
        doc_surname, doc_given = doc.fields.get("surname"), doc.fields.get("given_names")
        if surname is not None and doc_surname is not None:
            form_name = " ".join(v.value for v in (given, surname) if v is not None)
            doc_name = " ".join(v.value for v in (doc_given, doc_surname) if v is not None)
            if doc_given is None or given is None:
                form_name, doc_name = surname.value, doc_surname.value
            match = match_name(form_name, doc_name)
            score = match.similarity
            confidence = min(v.confidence for v in (doc_surname, doc_given, surname, given) if v is not None)
            status = _match_status(match, confidence)
            findings.append(_Finding(
                status, f"Name im Antrag „{form_name}“, in {where} „{doc_name}“ (Ähnlichkeit {score:.0%})"
                if status != "satisfied" else f"Name stimmt mit {where} überein",
                [surname.evidence, doc_surname.evidence]))
        doc_birth = doc.fields.get("birth_date")
        if birth is not None and doc_birth is not None:
            form_date, doc_date = parse_date(birth.value), parse_date(doc_birth.value)
            if form_date is None or doc_date is None:
                continue  # the field item reports an unreadable form date; an unreadable document date says nothing
            if form_date == doc_date:
                findings.append(_Finding("satisfied", f"Geburtsdatum stimmt mit {where} überein",
                                         [birth.evidence, doc_birth.evidence]))
            else:
                confident = min(birth.confidence, doc_birth.confidence) >= LOW_CONFIDENCE
                findings.append(_Finding(
                    "invalid" if confident else "unsure",
                    f"Geburtsdatum im Antrag {_de_date(form_date)}, in {where} {_de_date(doc_date)}",
                    [birth.evidence, doc_birth.evidence]))
    return findings


def _form_address(form: dict[str, Value], rule: Rule) -> tuple[str, list[Value]]:
    names = rule.fields or ["strasse_hausnummer", "plz", "ort"]
    values = [form[name] for name in names if name in form]
    if len(values) < len(names):
        return "", values
    street, *rest = [v.value.strip() for v in values]
    return (f"{street}, {' '.join(rest)}" if rest else street), values


def _same_address(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
                  app_type: ApplicationType) -> list[_Finding]:
    address, values = _form_address(form, rule)
    if not address:
        return []
    findings = []
    for doc in docs:
        doc_address = doc.fields.get("address")
        if doc_address is None:
            continue
        match = match_address(address, doc_address.value)
        score = match.similarity
        confidence = min([doc_address.confidence, *(v.confidence for v in values)])
        status = _match_status(match, confidence)
        where = _where(doc)
        findings.append(_Finding(
            status, f"Anschrift stimmt mit {where} überein" if status == "satisfied"
            else f"Anschrift im Antrag „{address}“, in {where} „{doc_address.value}“ (Ähnlichkeit {score:.0%})",
            [values[0].evidence, doc_address.evidence]))
    return findings


def _mrz_valid(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
               app_type: ApplicationType) -> list[_Finding]:
    findings = []
    for doc in docs:
        where = _where(doc)
        flag, mrz = doc.fields.get("mrz_valid"), doc.fields.get("mrz")
        evidence = [v.evidence for v in (mrz, flag) if v is not None][:1] or _doc_evidence([doc])
        if flag is None or truthy(flag.value) is None:
            findings.append(_Finding("unsure", f"{where}: maschinenlesbare Zone nicht gelesen", evidence))
        elif truthy(flag.value):
            findings.append(_Finding("satisfied", f"{where}: alle Prüfziffern stimmen", evidence))
        else:
            status: Status = "invalid" if flag.confidence >= LOW_CONFIDENCE else "unsure"
            findings.append(_Finding(status, f"{where}: Prüfziffern der maschinenlesbaren Zone stimmen nicht",
                                     evidence))
    return findings


def _iban_valid(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
                app_type: ApplicationType) -> list[_Finding]:
    values = [(f"Antrag ({name})", form[name]) for name in (rule.fields or ["iban"]) if name in form]
    values += [(_where(doc), doc.fields["iban"]) for doc in docs if "iban" in doc.fields]
    findings = []
    for where, value in values:
        result = validate_iban(value.value)
        if result.valid:
            bank = f" ({result.bank_name})" if result.bank_name else ""
            findings.append(_Finding("satisfied", f"{where}: IBAN gültig{bank}", [value.evidence]))
        else:  # a bank code missing from the shipped bank list may be new: a person checks it, nobody rejects it
            confident = value.confidence >= LOW_CONFIDENCE and result.error != "bank"
            status: Status = "invalid" if confident else "unsure"
            findings.append(_Finding(status, f"{where}: {result.message or 'IBAN ungültig'}", [value.evidence]))
    return findings


def _signature_present(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
                       app_type: ApplicationType) -> list[_Finding]:
    findings = []
    for name in rule.fields:
        value = form.get(name)
        label = app_type.field(name).label.de
        if value is None:
            findings.append(_Finding("missing", f"„{label}“ fehlt"))
        elif truthy(value.value):
            findings.append(_Finding("satisfied", f"„{label}“ vorhanden", [value.evidence]))
        else:
            status: Status = "invalid" if value.confidence >= LOW_CONFIDENCE else "unsure"
            findings.append(_Finding(status, f"„{label}“ fehlt (nicht unterschrieben)", [value.evidence]))
    for doc in docs:
        where = _where(doc)
        signed = doc.fields.get("signature")
        if signed is None or truthy(signed.value) is None:
            findings.append(_Finding("unsure", f"{where}: Unterschrift nicht erkannt", _doc_evidence([doc])))
        elif truthy(signed.value):
            findings.append(_Finding("satisfied", f"{where}: unterschrieben", [signed.evidence]))
        else:
            status = "invalid" if signed.confidence >= LOW_CONFIDENCE else "unsure"
            findings.append(_Finding(status, f"{where}: nicht unterschrieben", [signed.evidence]))
    return findings


def _pages_complete(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
                    app_type: ApplicationType) -> list[_Finding]:
    findings = []
    for doc in docs:
        where = _where(doc)
        numbers: set[int] = set()
        total = 0
        matches = [m.groups() for page in doc.pages for m in _PAGE_OF.finditer(page.text)]
        if "page_of" in doc.fields:
            matches += re.findall(r"(\d{1,3})\s*/\s*(\d{1,3})", doc.fields["page_of"].value)
        for first, second in matches:
            number, of = int(first), int(second)
            if 1 <= number <= of <= 500:
                numbers.add(number)
                total = max(total, of)
        if total == 0:
            findings.append(_Finding("unsure", f"{where}: keine Seitenzählung, Vollständigkeit nicht prüfbar",
                                     _doc_evidence([doc])))
            continue
        lacking = sorted(set(range(1, total + 1)) - numbers)
        if lacking:
            pages = ", ".join(str(n) for n in lacking)
            findings.append(_Finding("invalid", f"{where}: Seite {pages} von {total} fehlt", _doc_evidence([doc])))
        else:
            findings.append(_Finding("satisfied", f"{where}: alle {total} Seiten vorhanden", _doc_evidence([doc])))
    return findings


def _amount_range(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
                  app_type: ApplicationType) -> list[_Finding]:
    values = [(f"Antrag ({name})", form[name]) for name in rule.fields if name in form]
    if rule.document_field:
        values += [(_where(doc), doc.fields[rule.document_field]) for doc in docs if rule.document_field in doc.fields]
    findings = []
    for where, value in values:
        amount = parse_amount(value.value)
        if amount is None:
            findings.append(_Finding("unsure", f"{where}: Betrag „{value.value}“ nicht lesbar", [value.evidence]))
            continue
        problem = _range_problem(amount, rule.min, rule.max)
        if not problem:
            findings.append(_Finding("satisfied", f"{where}: {value.value} im erwarteten Bereich", [value.evidence]))
        else:
            status: Status = "invalid" if value.confidence >= LOW_CONFIDENCE else "unsure"
            findings.append(_Finding(status, f"{where}: {value.value} – erwartet {problem}", [value.evidence]))
    return findings


def _date_plausible(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
                    app_type: ApplicationType) -> list[_Finding]:
    findings = []
    for index, name in enumerate(rule.fields):
        value = form.get(name)
        if value is None:
            continue
        parsed = parse_date(value.value)
        label = app_type.field(name).label.de
        if parsed is None:
            continue  # the field item says it is no date
        status: Status = "invalid" if value.confidence >= LOW_CONFIDENCE else "unsure"
        if parsed > packet.submitted_on:
            findings.append(_Finding(status, f"„{label}“ {_de_date(parsed)} liegt nach dem Eingang", [value.evidence]))
            continue
        if index == 0 and (rule.min is not None or rule.max is not None):
            age = _years_between(parsed, packet.submitted_on)
            if (rule.min is not None and age < rule.min) or (rule.max is not None and age > rule.max):
                findings.append(_Finding(status, f"„{label}“ {_de_date(parsed)} ergibt ein Alter von {age} Jahren",
                                         [value.evidence]))
                continue
        findings.append(_Finding("satisfied", f"„{label}“ möglich", [value.evidence]))
    if rule.document_field:
        for doc in docs:
            doc_value = doc.fields.get(rule.document_field)
            doc_date = parse_date(doc_value.value) if doc_value else None
            if doc_value is not None and doc_date is not None and doc_date > packet.submitted_on:
                findings.append(_Finding("unsure", f"{_where(doc)}: Datum {_de_date(doc_date)} liegt nach dem Eingang",
                                         [doc_value.evidence]))
    return findings


def _field_equals_document(rule: Rule, packet: Packet, form: dict[str, Value], docs: list[Document],
                           app_type: ApplicationType) -> list[_Finding]:
    if not rule.fields or not rule.document_field or rule.fields[0] not in form:
        return []
    name = rule.fields[0]
    value = form[name]
    kind = app_type.field(name).type
    label = app_type.field(name).label.de
    findings = []
    for doc in docs:
        doc_value = doc.fields.get(rule.document_field)
        if doc_value is None:
            continue
        where = _where(doc)
        evidence = [value.evidence, doc_value.evidence]
        verdict = _compare(kind, value.value, doc_value.value)
        confident = min(value.confidence, doc_value.confidence) >= LOW_CONFIDENCE
        if verdict == "same":
            findings.append(_Finding("satisfied", f"„{label}“ stimmt mit {where} überein", evidence))
        else:
            status: Status = "invalid" if verdict == "different" and confident else "unsure"
            findings.append(_Finding(status, f"„{label}“ im Antrag „{value.value}“, in {where} „{doc_value.value}“",
                                     evidence))
    return findings


def _compare(kind: str, a: str, b: str) -> str:
    """"same", "different" or "close" (one character apart: an OCR slip or a typo – unsure)."""
    if kind in ("amount", "integer"):
        x, y = parse_amount(a), parse_amount(b)
        if x is None or y is None:
            return "close"
        return "same" if abs(x - y) < Decimal("0.005") else "different"
    if kind == "date":
        da, db = parse_date(a), parse_date(b)
        if da is None or db is None:
            return "close"
        return "same" if da == db else "different"
    na, nb = re.sub(r"[\W_]", "", a.casefold()), re.sub(r"[\W_]", "", b.casefold())  # "DÜW" read "DUW": close
    if na == nb:
        return "same"
    close = len(na) == len(nb) and sum(x != y for x, y in zip(na, nb, strict=True)) == 1
    if close or SequenceMatcher(None, na, nb).ratio() >= 0.95:
        return "close"
    return "different"


_Checker = Callable[[Rule, Packet, dict[str, Value], list[Document], ApplicationType], list[_Finding]]
_CHECKERS: dict[str, _Checker] = {
    "same_person": _same_person,
    "same_address": _same_address,
    "mrz_valid": _mrz_valid,
    "iban_valid": _iban_valid,
    "signature_present": _signature_present,
    "pages_complete": _pages_complete,
    "amount_range": _amount_range,
    "date_plausible": _date_plausible,
    "field_equals_document": _field_equals_document,
}


# --- small helpers -----------------------------------------------------------------------------------
def _years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _de_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _join(*parts: str) -> str:
    return " ".join(part.strip() for part in parts if part and part.strip())
