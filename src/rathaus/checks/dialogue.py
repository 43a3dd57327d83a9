"""The guided application ("dialogisiertes Wohngeld"): a deterministic state machine over an application type's
fields in section order, conditions (``when``) honoured, then one upload step per required document, then a review.

Every answer is validated by rules (rathaus.checks.answers) as it is given; uploads are checked at once
(rathaus.checks.upload_check). The applicant can stop and resume with a code that is shown once: high entropy,
only its SHA-256 is stored, compared in constant time, valid for RATHAUS_CHECKS_DIALOGUE_RESUME_DAYS after the last
answer; wrong guesses are rate-limited per client. Finishing makes a packet (source "dialogue") for the case worker
with the filled PDF form, and gives the applicant the PDF, the JSON and XML export and a plain-language summary.

The model only phrases: in a language other than German and English the type's texts are translated through the
gateway when a chat model is cleared for public texts (the texts are the YAML's, never the applicant's data);
without one the dialogue speaks German and says so. Nothing a model says sets a value or decides a step.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.checks import answers, forms
from rathaus.checks.definitions import ApplicationType, DocumentRequirement, FormField, load_types
from rathaus.checks.schema import CheckApplication, CheckFile, CheckPacket
from rathaus.checks.settings import ChecksSettings
from rathaus.checks.upload_check import UploadCheck, check_upload
from rathaus.core import ratelimit
from rathaus.core.errors import BadRequest, NotFound, RathausError
from rathaus.runtime import Runtime

log = logging.getLogger(__name__)

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed without mix-ups
CODE_LENGTH = 20  # 20 characters of 31: about 99 bits
REVIEW = "review"
DONE = "done"
SERVED_LANGUAGES = ("de", "en")

# --- errors (problem+json through the API, a message on the page) ----------------------------------------------


class AnswerInvalid(RathausError):
    status, code, title = 422, "answer-invalid", "Answer not valid"


class ResumeCodeWrong(RathausError):
    status, code, title = 404, "resume-code-unknown", "Unknown resume code"


class ResumeCodeExpired(RathausError):
    status, code, title = 410, "resume-code-expired", "Resume code expired"


class ApplicationClosed(RathausError):
    status, code, title = 409, "application-submitted", "Application already submitted"


class UploadRefused(RathausError):
    status, code, title = 422, "upload-refused", "Upload not usable"


# --- the resume code ----------------------------------------------------------------------------------------------

def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    return hashlib.sha256(("rathaus-checks-resume:" + normalise_code(code)).encode("ascii", "ignore")).hexdigest()


def show_code(code: str) -> str:
    """The code in groups of four, as the applicant writes it down: ABCD-EFGH-…"""
    code = normalise_code(code)
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


# --- the steps ----------------------------------------------------------------------------------------------------

def visible_documents(app_type: ApplicationType, values: dict[str, Any]) -> list[DocumentRequirement]:
    return [d for d in app_type.documents if forms.when_holds(d.when, values)]


def steps(app_type: ApplicationType, values: dict[str, Any]) -> list[str]:
    """The steps for these answers: "field:<id>" per visible field, "upload:<id>" per visible document
    requirement, then "review"."""
    return ([f"field:{f.id}" for f in forms.visible_fields(app_type, values)]
            + [f"upload:{d.id}" for d in visible_documents(app_type, values)] + [REVIEW])


def prune(app_type: ApplicationType, values: dict[str, Any]) -> dict[str, Any]:
    """Only the answers to fields still asked (an answer to a field hidden by a changed answer is dropped)."""
    kept = dict(values)
    while True:  # a dropped answer can hide further fields
        shown = {f.id for f in forms.visible_fields(app_type, kept)}
        smaller = {k: v for k, v in kept.items() if k in shown}
        if smaller == kept:
            return kept
        kept = smaller


def missing_fields(app_type: ApplicationType, values: dict[str, Any]) -> list[FormField]:
    return [f for f in forms.visible_fields(app_type, values) if f.required and values.get(f.id) in (None, "")]


def max_age(app_type: ApplicationType, field_id: str) -> float | None:
    """The plausible age limit a date_plausible rule gives a birth date."""
    for rule in app_type.rules:
        if rule.kind == "date_plausible" and field_id in rule.fields and rule.max is not None:
            return rule.max
    return None


# --- phrasing (the only place a model may speak) --------------------------------------------------------------

Phraser = Callable[[str, str], str | None]  # (German text, language) → the text in that language, or None


def no_phraser(text: str, lang: str) -> str | None:
    return None


_PHRASED: dict[tuple[str, str], str] = {}


def gateway_phraser(runtime: Runtime) -> Phraser:
    """Translate the type's texts (public, from the YAML) through the gateway with a chat model cleared for public
    data; None (German stays) when none is cleared or the call fails. Cached per text and language."""
    from rathaus.core.auth import Principal
    from rathaus.core.classification import DataClass
    from rathaus.models.gateway import CallContext
    from rathaus.models.routing import allowed_models
    from rathaus.models.types import ChatMessage, ChatParams

    if not allowed_models(runtime.catalog, "chat", DataClass.OEFFENTLICH):
        return no_phraser

    def phrase(text: str, lang: str) -> str | None:
        key = (lang, text)
        if key in _PHRASED:
            return _PHRASED[key]
        principal = Principal(id="checks-dialogue", kind="service", department=runtime.settings.local_department)
        ctx = CallContext(principal=principal, data_class=DataClass.OEFFENTLICH, use_case="checks:dialogue")
        messages = [ChatMessage("system", "Translate the user's German text from a public authority's form into "
                                          f"the language with the ISO code '{lang}'. Plain, polite, short. "
                                          "Answer with the translation only."),
                    ChatMessage("user", text)]
        try:
            outcome = runtime.gateway.chat(ctx, messages, params=ChatParams(max_tokens=200, temperature=0))
        except Exception as exc:  # phrasing is optional: the German text is shown
            log.warning("dialogue phrasing failed (%s): %s", lang, type(exc).__name__)
            return None
        translated = " ".join(outcome.text.split())
        if (not translated or outcome.replaced or outcome.finish_reason != "stop"
                or len(translated) > 4 * len(text) + 40):  # cut off, withheld or rambling: German stays
            return None
        _PHRASED[key] = translated
        return translated

    return phrase


@dataclass
class Wording:
    """Texts in the applicant's language: German/English from the YAML, others through the phraser."""

    lang: str
    phraser: Phraser = no_phraser
    fallback: bool = False  # a text could not be phrased in ``lang``: German shown

    def text(self, de: str, en: str = "") -> str:
        if self.lang == "en":
            return en or de
        if self.lang == "de" or not de:
            return de
        phrased = self.phraser(de, self.lang)
        if phrased is None:
            self.fallback = True
            return de
        return phrased

    @property
    def base(self) -> str:
        """The language of the platform's own texts (messages, buttons): English or German."""
        return "en" if self.lang == "en" else "de"


# --- questions ----------------------------------------------------------------------------------------------------

@dataclass
class Choice:
    value: str
    label: str


@dataclass
class UploadedFile:
    id: int
    filename: str
    content_type: str
    size: int
    requirement: str = ""


@dataclass
class Question:
    """What the applicant sees now. ``kind``: "field" (a question), "upload" (a document) or "review"."""

    step: str
    kind: str
    number: int
    total: int
    section: str
    label: str
    help: str = ""
    hint: str = ""
    input: str = "text"  # text, date, number, choice, bool, email, tel, file, review
    choices: list[Choice] = field(default_factory=list)
    value: str = ""
    required: bool = True
    options: list[str] = field(default_factory=list)  # upload: the ways to meet the requirement
    uploads: list[UploadedFile] = field(default_factory=list)
    review: list[dict[str, str]] = field(default_factory=list)  # review: label, value, step
    missing: list[dict[str, str]] = field(default_factory=list)  # review: required answers or documents missing
    note: str = ""  # e.g. "only in German" when the language could not be served
    language: str = "de"


_INPUTS = {"date": "date", "integer": "number", "amount": "number", "choice": "choice", "bool": "bool",
           "email": "email", "phone": "tel"}

NOTE_GERMAN_ONLY = ("Diese Fragen gibt es nur auf Deutsch und Englisch. / These questions are only available in "
                    "German and English.")


def question(app_type: ApplicationType, values: dict[str, Any], step: str | None, *, lang: str = "de",
             uploads: list[UploadedFile] | None = None, phraser: Phraser = no_phraser) -> Question:
    """The question of ``step`` (the first step when None or no longer asked)."""
    order = steps(app_type, values)
    if step not in order:
        step = order[0]
    wording = Wording(lang, phraser)
    number, total = order.index(step) + 1, len(order)
    kind, _, ident = step.partition(":")
    base = wording.base
    if kind == "field":
        item = app_type.field(ident)
        q = Question(step=step, kind="field", number=number, total=total,
                     section=wording.text(*forms.SECTION_TITLES.get(item.section, (item.section, ""))),
                     label=wording.text(item.label.de, item.label.en),
                     help=wording.text(item.help.de, item.help.en) if item.help else "",
                     hint=forms.format_hint(item, base) if item.type != "choice" else "",
                     input=_INPUTS.get(item.type, "text"),
                     choices=[Choice(c, wording.text(*forms.CHOICE_LABELS.get(c, (forms.choice_label(c), ""))))
                              for c in item.choices],
                     value=answers.display(item, values.get(item.id), base), required=item.required)
    elif kind == "upload":
        requirement = next(d for d in app_type.documents if d.id == ident)
        mine = [u for u in uploads or [] if u.requirement == ident]
        q = Question(step=step, kind="upload", number=number, total=total,
                     section=wording.text("Unterlagen", "Documents"),
                     label=wording.text(requirement.label.de, requirement.label.en),
                     help=wording.text(requirement.help.de, requirement.help.en) if requirement.help else "",
                     hint=("PDF, JPEG, PNG oder TIFF; mehrere Dateien möglich" if base == "de"
                           else "PDF, JPEG, PNG or TIFF; several files possible"),
                     input="file", required=requirement.required,
                     options=[wording.text(o.label.de, o.label.en) for o in requirement.any_of if o.label],
                     uploads=mine)
    else:
        q = Question(step=REVIEW, kind="review", number=number, total=total,
                     section=wording.text("Zusammenfassung", "Summary"),
                     label=wording.text("Bitte prüfen Sie Ihre Angaben", "Please check your answers"),
                     help=wording.text("Sie können jede Angabe noch ändern. Dann schicken Sie den Antrag ab.",
                                       "You can still change any answer. Then send the application."),
                     input="review")
        for item in forms.visible_fields(app_type, values):
            q.review.append({"step": f"field:{item.id}", "label": wording.text(item.label.de, item.label.en),
                             "value": answers.display(item, values.get(item.id), base)})
        q.missing = [{"step": f"field:{f.id}", "label": wording.text(f.label.de, f.label.en)}
                     for f in missing_fields(app_type, values)]
        uploaded = {u.requirement for u in uploads or []}
        q.missing += [{"step": f"upload:{d.id}", "label": wording.text(d.label.de, d.label.en)}
                      for d in visible_documents(app_type, values) if d.required and d.id not in uploaded]
    q.language = lang
    if wording.fallback:
        q.note = NOTE_GERMAN_ONLY
    return q


# --- the summary for the applicant ----------------------------------------------------------------------------

@dataclass
class Summary:
    """A plain-language account of the application: what was given, what was uploaded, what is still needed."""

    title: str
    lines: list[str]
    given: list[tuple[str, str]]
    uploaded: list[str]
    still_needed: list[str]
    next_steps: str
    uploaded_title: str = ""
    needed_title: str = ""

    @property
    def text(self) -> str:
        parts = [self.title, "", *self.lines]
        if self.given:
            parts += ["", *(f"- {label}: {value}" for label, value in self.given)]
        if self.uploaded:
            parts += ["", self.uploaded_title, *(f"- {name}" for name in self.uploaded)]
        if self.still_needed:
            parts += ["", self.needed_title, *(f"- {name}" for name in self.still_needed)]
        return "\n".join([*parts, "", self.next_steps])


def summary(app_type: ApplicationType, values: dict[str, Any], uploads: list[tuple[str, str]],
            packet_id: int | None, lang: str = "de") -> Summary:
    """``uploads``: (requirement id, file name). Short sentences, German first (English when asked)."""
    en = lang == "en"
    title_text = app_type.title.get("en" if en else "de")
    given = [((f.label.en or f.label.de) if en else f.label.de, answers.display(f, values.get(f.id), lang))
             for f in forms.visible_fields(app_type, values) if values.get(f.id) not in (None, "")]
    have = {req for req, _ in uploads}
    needed = [(d.label.en or d.label.de) if en else d.label.de
              for d in visible_documents(app_type, values) if d.required and d.id not in have]
    labels = {d.id: ((d.label.en or d.label.de) if en else d.label.de) for d in app_type.documents}
    uploaded = [f"{labels.get(req, req)}: {name}" for req, name in uploads]
    number = f" (Nummer {packet_id})" if packet_id and not en else f" (number {packet_id})" if packet_id else ""
    if en:
        lines = [f"We have received your application{number}.", "Keep this page or download the form."]
        if given:
            lines.append("You gave us these details:")
        next_steps = (f"What happens next: the {app_type.department} checks your application. A member of staff "
                      "decides – not the computer. If something is missing, we will write to you.")
        if needed:
            next_steps = ("Please send us these documents as soon as you can: " + ", ".join(needed) + ". "
                          + next_steps)
    else:
        lines = [f"Wir haben Ihren Antrag bekommen{number}.", "Heben Sie diese Seite auf oder laden Sie das "
                 "Formular herunter."]
        if given:
            lines.append("Das haben Sie uns gesagt:")
        next_steps = (f"So geht es weiter: Das {app_type.department} prüft Ihren Antrag. Eine Sachbearbeiterin "
                      "oder ein Sachbearbeiter entscheidet – nicht der Computer. Wenn etwas fehlt, schreiben wir "
                      "Ihnen.")
        if needed:
            next_steps = ("Bitte schicken Sie uns bald noch diese Unterlagen: " + ", ".join(needed) + ". "
                          + next_steps)
    return Summary(title=title_text, lines=lines, given=given, uploaded=uploaded, still_needed=needed,
                   next_steps=next_steps,
                   uploaded_title="You have uploaded:" if en else "Diese Unterlagen haben Sie hochgeladen:",
                   needed_title="Still missing:" if en else "Diese Unterlagen fehlen noch:")


# --- persistence: start, load, answer, back, upload, finish -------------------------------------------------------

@dataclass
class Started:
    application_id: int
    resume_code: str  # shown once to the applicant; only its hash is stored
    question: Question


@dataclass
class Finished:
    application_id: int
    packet_id: int
    pdf: bytes
    json: dict[str, Any]
    xml: bytes
    summary: Summary


def settings_of(runtime: Runtime) -> ChecksSettings:
    return runtime.settings.section(ChecksSettings)


def application_types(runtime: Runtime) -> dict[str, ApplicationType]:
    return load_types(settings_of(runtime).checks_types_dir)


def application_type(runtime: Runtime, type_id: str) -> ApplicationType:
    types = application_types(runtime)
    if type_id not in types:
        raise NotFound(f"no application type {type_id!r}; available: {', '.join(sorted(types))}")
    return types[type_id]


def widget_links(runtime: Runtime, type_ids: list[str], lang: str) -> list[dict[str, str]]:
    """The citizen widget's links into the guided applications its assistant offers (Assistant.applications);
    none while RATHAUS_CHECKS_PUBLIC_DIALOGUE is off."""
    if not type_ids or not settings_of(runtime).checks_public_dialogue:
        return []
    types = application_types(runtime)
    start_text = "Apply step by step" if lang == "en" else "Antrag Schritt für Schritt stellen"
    suffix = "" if lang == "de" else f"?lang={lang}"
    return [{"href": f"/antrag/{t}{suffix}", "label": f"{start_text}: {types[t].title.get(lang)}"}
            for t in type_ids if t in types]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _expiry(runtime: Runtime) -> dt.datetime:
    return _now() + dt.timedelta(days=settings_of(runtime).checks_dialogue_resume_days)


def _lang(lang: str | None) -> str:
    code = (lang or "de").strip().lower()[:2]
    return code if code.isalpha() and len(code) == 2 else "de"


def start(runtime: Runtime, type_id: str, lang: str = "de", *, client: str = "",
          phraser: Phraser | None = None) -> Started:
    """Begin an application of ``type_id``; the returned resume code is not stored (only its hash). Each client
    may start RATHAUS_CHECKS_DIALOGUE_STARTS_PER_HOUR applications an hour (RateLimited above)."""
    app_type = application_type(runtime, type_id)
    code = new_code()
    with runtime.db.session() as session:
        ratelimit.hit(session, ratelimit.client_key("checks-start", client or "-"),
                      settings_of(runtime).checks_dialogue_starts_per_hour, window_seconds=3600, scope="client",
                      message="too many applications started / zu viele Anträge begonnen")
    with runtime.db.session() as session:
        row = CheckApplication(type_id=app_type.id, resume_code_hash=code_hash(code), language=_lang(lang),
                               values={}, step=steps(app_type, {})[0], status="open", expires_at=_expiry(runtime))
        session.add(row)
        session.flush()
        application_id = row.id
    q = question(app_type, {}, None, lang=_lang(lang), phraser=_phraser(runtime, lang, phraser))
    return Started(application_id, code, q)


def _phraser(runtime: Runtime, lang: str, given: Phraser | None) -> Phraser:
    if given is not None:
        return given
    return no_phraser if _lang(lang) in SERVED_LANGUAGES else gateway_phraser(runtime)


def _guessed_wrong(runtime: Runtime, client: str) -> None:
    """Count a wrong code for this client (own transaction: the caller's rolls back); 429 above the limit."""
    limit = settings_of(runtime).checks_dialogue_guesses_per_hour
    with runtime.db.session() as session:
        ratelimit.hit(session, ratelimit.client_key("checks-resume", client or "-"), limit, window_seconds=3600,
                      scope="client", message="too many wrong resume codes / zu viele falsche Codes")


def _load(session: Session, code: str, application_id: int | None = None, *, for_update: bool = True,
          open_only: bool = True) -> CheckApplication:
    digest = code_hash(code)
    query = sa.select(CheckApplication).where(CheckApplication.resume_code_hash == digest)
    if for_update:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None or not hmac.compare_digest(row.resume_code_hash, digest) or (
            application_id is not None and row.id != application_id):
        raise ResumeCodeWrong("no application with this resume code / kein Antrag mit diesem Code")
    if row.status == "expired" or row.expires_at <= _now():
        raise ResumeCodeExpired("this resume code has expired; please start again / dieser Code ist abgelaufen – "
                                "bitte beginnen Sie neu")
    if open_only and row.status != "open":
        raise ApplicationClosed("this application has been sent already / dieser Antrag ist schon abgeschickt",
                                extra={"packet_id": row.packet_id})
    return row


class _Access:
    """A transaction on the application with ``code``; a wrong code is counted against ``client``."""

    def __init__(self, runtime: Runtime, code: str, client: str, application_id: int | None, open_only: bool):
        self.runtime, self.code, self.client = runtime, code, client
        self.application_id, self.open_only = application_id, open_only

    def __call__(self, work: Callable[[Session, CheckApplication, ApplicationType], Any]) -> Any:
        try:
            with self.runtime.db.session() as session:
                row = _load(session, self.code, self.application_id, open_only=self.open_only)
                app_type = application_type(self.runtime, row.type_id)
                return work(session, row, app_type)
        except ResumeCodeWrong:
            _guessed_wrong(self.runtime, self.client)
            raise


def _uploads(session: Session, row: CheckApplication) -> list[UploadedFile]:
    files = session.execute(sa.select(CheckFile.id, CheckFile.filename, CheckFile.content_type, CheckFile.size,
                                      CheckFile.requirement)
                            .where(CheckFile.application_id == row.id).order_by(CheckFile.id)).all()
    return [UploadedFile(f.id, f.filename, f.content_type, f.size, f.requirement or "") for f in files]


def _question(runtime: Runtime, session: Session, row: CheckApplication, app_type: ApplicationType,
              lang: str | None, phraser: Phraser | None) -> Question:
    use = _lang(lang or row.language)
    return question(app_type, row.values or {}, row.step, lang=use, uploads=_uploads(session, row),
                    phraser=_phraser(runtime, use, phraser))


@dataclass
class State:
    """The application as the applicant's client sees it."""

    application_id: int
    type_id: str
    status: str
    language: str
    expires_at: dt.datetime
    question: Question | None
    packet_id: int | None = None


def _state(runtime: Runtime, session: Session, row: CheckApplication, app_type: ApplicationType,
           lang: str | None = None, phraser: Phraser | None = None) -> State:
    q = _question(runtime, session, row, app_type, lang, phraser) if row.status == "open" else None
    return State(row.id, row.type_id, row.status, row.language, row.expires_at, q, row.packet_id)


def resume(runtime: Runtime, code: str, *, client: str = "", application_id: int | None = None,
           lang: str | None = None, phraser: Phraser | None = None) -> State:
    """The application of ``code`` where it was left (submitted ones too: their downloads stay until expiry)."""
    access = _Access(runtime, code, client, application_id, open_only=False)
    return access(lambda s, row, t: _state(runtime, s, row, t, lang, phraser))


def current_question(runtime: Runtime, code: str, *, client: str = "", application_id: int | None = None,
                     lang: str | None = None, phraser: Phraser | None = None) -> Question:
    access = _Access(runtime, code, client, application_id, open_only=True)
    return access(lambda s, row, t: _question(runtime, s, row, t, lang, phraser))


def _touch(runtime: Runtime, row: CheckApplication) -> None:
    row.updated_at = _now()
    row.expires_at = _expiry(runtime)


def answer(runtime: Runtime, code: str, value: str | None, *, client: str = "", application_id: int | None = None,
           lang: str | None = None, phraser: Phraser | None = None, today: dt.date | None = None) -> Question:
    """Validate the answer to the current question and move on; AnswerInvalid (the answer is not stored) names
    what is wrong in German and English (``extra``: field, message_de, message_en). On an upload step the answer
    is ignored and the dialogue moves on; on the review step use :func:`finish`."""

    def work(session: Session, row: CheckApplication, app_type: ApplicationType) -> Question:
        values = dict(row.values or {})
        order = steps(app_type, values)
        step = row.step if row.step in order else order[0]
        kind, _, ident = step.partition(":")
        if kind == "field":
            item = app_type.field(ident)
            try:
                normalised = answers.normalise(item, value, today=today, max_age_years=max_age(app_type, item.id))
            except answers.Invalid as exc:
                use = _lang(lang or row.language)
                raise AnswerInvalid(exc.message("en" if use == "en" else "de"), extra={
                    "field": item.id, "step": step, "message_de": exc.message("de"),
                    "message_en": exc.message("en"), "reason": exc.code}) from None
            if normalised is None:
                values.pop(item.id, None)
            else:
                values[item.id] = normalised
            values = prune(app_type, values)
            order = steps(app_type, values)
        elif kind == REVIEW:
            raise BadRequest("this is the last step: send the application (finish) / bitte den Antrag abschicken")
        following = order[order.index(step) + 1:] if step in order else order
        row.values = values
        row.step = following[0] if following else REVIEW
        _touch(runtime, row)
        session.flush()
        return _question(runtime, session, row, app_type, lang, phraser)

    return _Access(runtime, code, client, application_id, open_only=True)(work)


def back(runtime: Runtime, code: str, *, client: str = "", application_id: int | None = None,
         lang: str | None = None, phraser: Phraser | None = None) -> Question:
    """One step back (the first step stays); nothing is changed."""

    def work(session: Session, row: CheckApplication, app_type: ApplicationType) -> Question:
        order = steps(app_type, row.values or {})
        index = order.index(row.step) if row.step in order else 0
        row.step = order[max(0, index - 1)]
        _touch(runtime, row)
        return _question(runtime, session, row, app_type, lang, phraser)

    return _Access(runtime, code, client, application_id, open_only=True)(work)


def goto(runtime: Runtime, code: str, step: str, *, client: str = "", application_id: int | None = None,
         lang: str | None = None, phraser: Phraser | None = None) -> Question:
    """Jump to a step that is asked for the current answers (to change an answer from the review)."""

    def work(session: Session, row: CheckApplication, app_type: ApplicationType) -> Question:
        order = steps(app_type, row.values or {})
        if step not in order:
            raise BadRequest(f"no step {step[:60]!r} in this application / diesen Schritt gibt es nicht")
        row.step = step
        _touch(runtime, row)
        return _question(runtime, session, row, app_type, lang, phraser)

    return _Access(runtime, code, client, application_id, open_only=True)(work)


def upload(runtime: Runtime, code: str, requirement: str, filename: str, data: bytes, *, client: str = "",
           application_id: int | None = None) -> tuple[UploadCheck, int | None]:
    """Check a file for a document requirement at once and keep it if it can be used: (check, file id).
    A file that cannot be used is not stored (UploadCheck.ok False says why, in German and English)."""
    settings = settings_of(runtime)

    def work(session: Session, row: CheckApplication, app_type: ApplicationType) -> tuple[UploadCheck, int | None]:
        wanted = {d.id: d for d in visible_documents(app_type, row.values or {})}
        if requirement not in wanted:
            raise BadRequest(f"no document {requirement[:60]!r} is asked in this application; asked: "
                             f"{', '.join(wanted) or 'none'}")
        count = session.scalar(sa.select(sa.func.count()).select_from(CheckFile)
                               .where(CheckFile.application_id == row.id)) or 0
        if count >= settings.checks_max_files:
            raise UploadRefused(f"at most {settings.checks_max_files} files / höchstens "
                                f"{settings.checks_max_files} Dateien")
        name = (filename or "datei").replace("\\", "/").rsplit("/", 1)[-1][:200] or "datei"
        result = check_upload(name, data, wanted[requirement], max_bytes=settings.checks_max_file_mb * 1048576)
        if not result.ok:
            return result, None
        stored = CheckFile(application_id=row.id, filename=name, content_type=result.content_type, size=len(data),
                           sha256=hashlib.sha256(data).hexdigest(), data=data, requirement=requirement)
        session.add(stored)
        _touch(runtime, row)
        session.flush()
        return result, stored.id

    return _Access(runtime, code, client, application_id, open_only=True)(work)


def remove_upload(runtime: Runtime, code: str, file_id: int, *, client: str = "",
                  application_id: int | None = None) -> None:
    def work(session: Session, row: CheckApplication, app_type: ApplicationType) -> None:
        deleted = session.execute(sa.delete(CheckFile).where(CheckFile.id == file_id,
                                                             CheckFile.application_id == row.id))
        if not deleted.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"no uploaded file {file_id} in this application")

    _Access(runtime, code, client, application_id, open_only=True)(work)


def _documents(session: Session, row: CheckApplication) -> list[forms.ExportDocument]:
    owner = (CheckFile.packet_id == row.packet_id) if row.packet_id is not None else (
        CheckFile.application_id == row.id)
    files = session.scalars(sa.select(CheckFile).where(owner, CheckFile.requirement != "form")
                            .order_by(CheckFile.id)).all()
    return [forms.ExportDocument(f.requirement or "", f.filename, f.content_type, f.sha256, f.size) for f in files]


def _exports(app_type: ApplicationType, row: CheckApplication, documents: list[forms.ExportDocument]
             ) -> tuple[bytes, dict[str, Any], bytes]:
    values = prune(app_type, row.values or {})
    reference = str(row.packet_id) if row.packet_id else None
    created = row.updated_at or _now()
    return (forms.fill_form_pdf(app_type, values),
            forms.export_json(app_type, values, documents, language=row.language, reference=reference,
                              created=created),
            forms.export_xml(app_type, values, documents, language=row.language, reference=reference,
                             created=created))


def finish(runtime: Runtime, code: str, *, client: str = "", application_id: int | None = None,
           lang: str | None = None) -> Finished:
    """Send the application: every required answer must be given (else AnswerInvalid names the first missing
    one and the dialogue goes there); documents still missing are listed in the summary. Makes the packet
    (source "dialogue") with the uploads and the filled PDF form for the case worker."""

    def work(session: Session, row: CheckApplication, app_type: ApplicationType) -> Finished:
        values = prune(app_type, row.values or {})
        missing = missing_fields(app_type, values)
        if missing:
            row.step = f"field:{missing[0].id}"
            session.flush()
            raise AnswerInvalid(
                f"please answer first / bitte zuerst beantworten: {missing[0].label.de}",
                extra={"field": missing[0].id, "step": row.step, "reason": "required",
                       "message_de": f"Bitte beantworten Sie zuerst: {missing[0].label.de}",
                       "message_en": f"Please answer first: {missing[0].label.en or missing[0].label.de}"})
        packet = CheckPacket(type_id=app_type.id, department=app_type.department, status="received",
                             source="dialogue", submitted_on=dt.date.today(), language=row.language,
                             form=values, created_by=f"dialogue:{row.id}")
        session.add(packet)
        session.flush()
        session.execute(sa.update(CheckFile).where(CheckFile.application_id == row.id)
                        .values(packet_id=packet.id, application_id=None))
        row.values, row.packet_id, row.status, row.step = values, packet.id, "submitted", DONE
        _touch(runtime, row)
        documents = _documents(session, row)
        pdf, data, xml = _exports(app_type, row, documents)
        session.add(CheckFile(packet_id=packet.id, filename=f"antrag-{app_type.id}.pdf",
                              content_type="application/pdf", size=len(pdf),
                              sha256=hashlib.sha256(pdf).hexdigest(), data=pdf, requirement="form"))
        uploads = [(d.requirement, d.filename) for d in documents]
        result = Finished(row.id, packet.id, pdf, data, xml,
                          summary(app_type, values, uploads, packet.id, _lang(lang or row.language)))
        log.info("guided application %s sent as packet %s (%s)", row.id, packet.id, app_type.id)
        return result

    try:
        return _Access(runtime, code, client, application_id, open_only=True)(work)
    except AnswerInvalid as exc:  # the jump to the missing answer is kept
        _remember_step(runtime, code, exc.extra.get("step"))
        raise


def _remember_step(runtime: Runtime, code: str, step: str | None) -> None:
    if step:
        with runtime.db.session() as session:
            session.execute(sa.update(CheckApplication).where(CheckApplication.resume_code_hash == code_hash(code),
                                                              CheckApplication.status == "open").values(step=step))


def downloads(runtime: Runtime, code: str, *, client: str = "", application_id: int | None = None,
              lang: str | None = None) -> Finished:
    """The filled PDF, JSON, XML and summary of a sent application (until its code expires)."""

    def work(session: Session, row: CheckApplication, app_type: ApplicationType) -> Finished:
        if row.status != "submitted" or row.packet_id is None:
            raise BadRequest("the application has not been sent yet / der Antrag ist noch nicht abgeschickt")
        documents = _documents(session, row)
        pdf, data, xml = _exports(app_type, row, documents)
        uploads = [(d.requirement, d.filename) for d in documents]
        return Finished(row.id, row.packet_id, pdf, data, xml,
                        summary(app_type, row.values or {}, uploads, row.packet_id, _lang(lang or row.language)))

    return _Access(runtime, code, client, application_id, open_only=False)(work)


def purge_expired(runtime: Runtime) -> int:
    """Delete the answers and uploads of applications whose code has expired (sent packets stay with the case
    worker under their own retention); returns how many were expired now."""
    with runtime.db.session() as session:
        ids = session.scalars(sa.select(CheckApplication.id).where(
            CheckApplication.expires_at <= _now(), CheckApplication.status != "expired")).all()
        if ids:
            session.execute(sa.delete(CheckFile).where(CheckFile.application_id.in_(ids)))
            session.execute(sa.update(CheckApplication).where(CheckApplication.id.in_(ids))
                            .values(values={}, status="expired", step=None))
        return len(ids)
