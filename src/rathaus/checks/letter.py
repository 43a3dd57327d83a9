"""The letter to the applicant: it asks for exactly what is missing or wrong, in plain German (or English from
the type's ``en`` texts). Other languages are phrased from the German letter by the model (wired by the
capability); the rules, not the model, decide what the letter asks for.

Plain language on purpose: a neutral salutation ("Guten Tag" and the name), short sentences, one request per
list item, the requirement's own help text as the explanation, no legal citations, and no statement about the
outcome – the letter never decides, a case worker does.
"""

from __future__ import annotations

from rathaus.checks.definitions import ApplicationType
from rathaus.checks.model import ChecklistItem, CheckResult

LANGUAGES = ("de", "en")

_TEXTS = {
    "de": {
        "hello": "Guten Tag {name},",
        "hello_anonymous": "Guten Tag,",
        "intro": "wir haben Ihren Antrag geprüft: {title}.",
        "intro_open": "Es fehlt noch etwas. Oder etwas stimmt noch nicht.",
        "intro_done": "Wir haben im Moment keine Fragen. Wir melden uns, wenn wir noch etwas brauchen.",
        "send": "Bitte schicken Sie uns:",
        "fill": "Bitte ergänzen Sie im Antrag:",
        "fix": "Das stimmt noch nicht:",
        "next": "Wenn wir alles haben, bearbeiten wir Ihren Antrag weiter.",
        "questions": "Haben Sie Fragen? Dann melden Sie sich gern bei uns.",
        "bye": "Freundliche Grüße",
        "field_invalid": "„{label}“: Bitte prüfen Sie die Angabe.",
        "document_invalid": "{label}: Das Dokument passt noch nicht.",
        "wrong_type": "Bitte verwenden Sie das Formular für diesen Antrag.",
    },
    "en": {
        "hello": "Hello {name},",
        "hello_anonymous": "Hello,",
        "intro": "we have checked your application: {title}.",
        "intro_open": "Something is still missing. Or something is not right yet.",
        "intro_done": "We have no questions at the moment. We will contact you if we need anything else.",
        "send": "Please send us:",
        "fill": "Please add to the form:",
        "fix": "This is not right yet:",
        "next": "When we have everything, we will continue with your application.",
        "questions": "Do you have questions? Please contact us.",
        "bye": "Kind regards",
        "field_invalid": "'{label}': please check this entry.",
        "document_invalid": "{label}: what you sent is not enough yet (for example, a document is missing, too old "
                            "or no longer valid).",
        "wrong_type": "Please use the form for this application.",
    },
}


def applicant_letter(result: CheckResult, app_type: ApplicationType, lang: str = "de", *, name: str = "") -> str:
    """A Markdown letter that asks for what the checklist found missing or wrong (``lang`` "de" or "en").

    ``name`` is the applicant's name as given in the form (first and last name); without it the letter
    greets with "Guten Tag,". Items the checklist is unsure about are not asked for: a case worker looks at
    them first.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"letters are written in {' and '.join(LANGUAGES)}; other languages are translated "
                         f"from the German letter (asked for {lang!r})")
    texts = _TEXTS[lang]
    send: list[str] = []
    fill: list[str] = []
    fix: list[str] = []
    asked_fields = {item.requirement.removeprefix("field:") for item in result.items
                    if item.requirement.startswith("field:") and item.status in ("missing", "invalid")}
    # rules about one field's value (not comparisons with documents) would ask a second time for the same thing
    rule_fields = {rule.id: set(rule.fields) for rule in app_type.rules
                   if rule.kind in ("iban_valid", "signature_present", "date_plausible", "amount_range")}
    for item in result.items:
        if item.status not in ("missing", "invalid"):
            continue
        kind, _, ident = item.requirement.partition(":")
        if kind == "rule" and (item.status == "missing" or rule_fields.get(ident, set()) & asked_fields):
            continue  # the field or document item already asks for it: one request per problem
        entry = _entry(item, kind, ident, app_type, lang)
        if not entry:
            continue
        target = send if kind == "document" and item.status == "missing" else (
            fill if kind == "field" and item.status == "missing" else fix)
        if entry not in target:
            target.append(entry)
    greeting = texts["hello"].format(name=name.strip()) if name.strip() else texts["hello_anonymous"]
    lines = [greeting, "", texts["intro"].format(title=app_type.title.get(lang))]
    if send or fill or fix:
        lines.append(texts["intro_open"])
        for heading, entries in ((texts["send"], send), (texts["fill"], fill), (texts["fix"], fix)):
            if entries:
                lines += ["", f"**{heading}**", ""] + [f"- {entry}" for entry in entries]
        lines += ["", texts["next"]]
    else:
        lines.append(texts["intro_done"])
    lines += [texts["questions"], "", texts["bye"], "", app_type.department]
    return "\n".join(lines) + "\n"


def _entry(item: ChecklistItem, kind: str, ident: str, app_type: ApplicationType, lang: str) -> str:
    texts = _TEXTS[lang]
    if kind == "field":
        form_field = next((f for f in app_type.fields if f.id == ident), None)
        if form_field is None:
            return item.hint if lang == "de" else ""
        help_text = form_field.help.get(lang) if form_field.help else ""
        label = form_field.label.get(lang)
        if item.status == "missing":
            return _sentences(_stop(label), help_text)
        if lang == "de" and item.hint:
            return item.hint
        return _sentences(texts["field_invalid"].format(label=label), help_text)
    if kind == "document":
        requirement = next((d for d in app_type.documents if d.id == ident), None)
        if requirement is None:
            return item.hint if lang == "de" else ""
        help_text = requirement.help.get(lang) if requirement.help else ""
        label = requirement.label.get(lang)
        if item.status == "missing":
            return _sentences(_stop(label), help_text)
        if lang == "de" and item.hint:
            return item.hint
        return _sentences(texts["document_invalid"].format(label=label), help_text)
    if kind == "rule":
        rule = next((r for r in app_type.rules if r.id == ident), None)
        if rule is None or rule.hint is None:
            return item.hint if lang == "de" else ""
        return rule.hint.get(lang)
    if kind == "packet":
        return texts["wrong_type"]
    return item.hint if lang == "de" else ""


def _stop(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!", ")")) else text + "."


def _sentences(*parts: str) -> str:
    return " ".join(part.strip() for part in parts if part and part.strip())
