"""The citizens' guided application ``/antrag/<type>`` (RATHAUS_CHECKS_PUBLIC_DIALOGUE): one question per page,
German first (``?lang=en``; other languages through the model when one is cleared), no script needed.

The browser holds the resume code in an HttpOnly, SameSite=Strict cookie limited to the type's path; the code is
shown once on the page after starting, to resume on another day or device. Every form carries a token derived
from that code (a page of another site cannot know it). The answers are checked by rules (rathaus.checks.answers);
an invalid answer is shown again with its message tied to the field (aria-describedby).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from rathaus.checks import dialogue
from rathaus.checks.definitions import ApplicationType
from rathaus.checks.settings import ChecksSettings
from rathaus.core import ratelimit
from rathaus.core.errors import BadRequest, NotFound, RathausError
from rathaus.http.clients import client_address
from rathaus.http.deps import RuntimeDep
from rathaus.runtime import Runtime
from rathaus.web.i18n import language, texts
from rathaus.web.pages import templates

router = APIRouter(include_in_schema=False)
PREFIX = "/antrag/{type_id}"

STRINGS: dict[str, dict[str, str]] = {
    "de": {
        "start": "Antrag beginnen",
        "start_intro": "Wir fragen Sie Schritt für Schritt nach allen Angaben. Jede Antwort prüfen wir sofort. "
                       "Sie können jederzeit unterbrechen und später mit einem Code weitermachen.",
        "documents_needed": "Diese Unterlagen brauchen Sie",
        "resume_title": "Schon begonnen?",
        "resume_label": "Ihr Code zum Weitermachen",
        "resume_hint": "Zum Beispiel ABCD-EFGH-JKMN-PQRS-TUVW",
        "resume": "Weitermachen",
        "code_title": "Ihr Code zum Weitermachen",
        "code_text": "Schreiben Sie sich diesen Code auf. Wir zeigen ihn nur dieses eine Mal. Mit dem Code können "
                     "Sie den Antrag unterbrechen und später weitermachen – bis zu {days} Tage nach Ihrer "
                     "letzten Antwort.",
        "code_next": "Zur ersten Frage",
        "step": "Schritt {n} von {m}",
        "progress": "Fortschritt",
        "next": "Weiter",
        "back": "Zurück",
        "pause": "Unterbrechen",
        "optional": "freiwillig",
        "yes": "Ja",
        "no": "Nein",
        "upload": "Hochladen",
        "upload_label": "Datei auswählen",
        "uploaded": "Schon hochgeladen",
        "remove": "Entfernen",
        "options": "Das können Sie einreichen",
        "later": "Sie können auch ohne diese Unterlage weitermachen und sie später nachreichen.",
        "review_send": "Antrag abschicken",
        "change": "Ändern",
        "missing": "Das fehlt noch",
        "missing_documents_ok": "Fehlende Unterlagen können Sie nachreichen. Fehlende Angaben müssen Sie vorher "
                                "ausfüllen.",
        "annex": "Über Ihren Antrag entscheidet ein Mensch in der Verwaltung, nicht der Computer.",
        "done_title": "Ihr Antrag ist abgeschickt",
        "number": "Ihre Vorgangsnummer",
        "downloads": "Zum Herunterladen",
        "download_pdf": "Ausgefülltes Formular (PDF)",
        "download_json": "Ihre Angaben als JSON",
        "download_xml": "Ihre Angaben als XML",
        "schemas": "Aufbau der Daten (Schema)",
        "paused_title": "Antrag unterbrochen",
        "paused_text": "Ihre Angaben sind gespeichert. Mit Ihrem Code können Sie weitermachen.",
        "error_code_wrong": "Diesen Code kennen wir nicht. Bitte prüfen Sie ihn.",
        "error_code_expired": "Dieser Code ist abgelaufen. Ihre Angaben wurden gelöscht. Bitte beginnen Sie neu.",
        "error_session": "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
        "error_sent": "Dieser Antrag ist schon abgeschickt.",
        "error_upload_none": "Bitte wählen Sie eine Datei aus.",
        "error_prefix": "Fehler",
        "hint_prefix": "Format",
    },
    "en": {
        "start": "Start the application",
        "start_intro": "We ask you for every detail step by step and check each answer at once. You can stop at "
                       "any time and continue later with a code.",
        "documents_needed": "Documents you need",
        "resume_title": "Already started?",
        "resume_label": "Your code to continue",
        "resume_hint": "For example ABCD-EFGH-JKMN-PQRS-TUVW",
        "resume": "Continue",
        "code_title": "Your code to continue",
        "code_text": "Write this code down. We show it only this once. With it you can stop and continue later – "
                     "up to {days} days after your last answer.",
        "code_next": "To the first question",
        "step": "Step {n} of {m}",
        "progress": "Progress",
        "next": "Next",
        "back": "Back",
        "pause": "Stop for now",
        "optional": "optional",
        "yes": "Yes",
        "no": "No",
        "upload": "Upload",
        "upload_label": "Choose a file",
        "uploaded": "Already uploaded",
        "remove": "Remove",
        "options": "What you can send",
        "later": "You can also continue without this document and send it later.",
        "review_send": "Send the application",
        "change": "Change",
        "missing": "Still missing",
        "missing_documents_ok": "You can send missing documents later. Missing answers must be given first.",
        "annex": "A person in the administration decides on your application, not the computer.",
        "done_title": "Your application has been sent",
        "number": "Your reference number",
        "downloads": "Downloads",
        "download_pdf": "Filled-in form (PDF)",
        "download_json": "Your details as JSON",
        "download_xml": "Your details as XML",
        "schemas": "Structure of the data (schema)",
        "paused_title": "Application paused",
        "paused_text": "Your details are saved. Continue with your code.",
        "error_code_wrong": "We do not know this code. Please check it.",
        "error_code_expired": "This code has expired and your details were deleted. Please start again.",
        "error_session": "Please reload the page and try again.",
        "error_sent": "This application has been sent already.",
        "error_upload_none": "Please choose a file.",
        "error_prefix": "Error",
        "hint_prefix": "Format",
    },
}

AUTOCOMPLETE = {"vorname": "given-name", "nachname": "family-name", "geburtsdatum": "bday",
                "strasse_hausnummer": "street-address", "plz": "postal-code", "ort": "address-level2",
                "email": "email", "telefon": "tel", "kontoinhaber": "name", "staatsangehoerigkeit": "off"}


def _settings(runtime: Runtime) -> ChecksSettings:
    settings: ChecksSettings = runtime.settings.section(ChecksSettings)
    if not settings.checks_public_dialogue:
        raise NotFound("no such page")
    return settings


def _type(runtime: Runtime, type_id: str) -> ApplicationType:
    _settings(runtime)
    return dialogue.application_type(runtime, type_id)


def _cookie(type_id: str) -> str:
    return "antrag-" + type_id


def _code(request: Request, type_id: str) -> str | None:
    return request.cookies.get(_cookie(type_id)) or None


def _token(code: str) -> str:
    """The form token of the application with ``code``: only a page that was given the cookie can know it."""
    return hashlib.sha256(("rathaus-antrag-form:" + dialogue.normalise_code(code)).encode()).hexdigest()[:32]


def _client(request: Request) -> str:
    return ratelimit.address_bucket(client_address(request))


def _lang(request: Request) -> str:
    return language(request)


def _wanted_lang(request: Request) -> str:
    """The applicant's language for the questions: ``?lang=xx`` (any two letters, e.g. from the widget), else
    the page's. The page itself is German or English; other languages are phrased by a cleared model."""
    raw = (request.query_params.get("lang") or "").lower()
    return raw if len(raw) == 2 and raw.isalpha() else _lang(request)


def _suffix(lang: str) -> str:
    return "?lang=en" if lang == "en" else ""


def _context(request: Request, runtime: Runtime, app_type: ApplicationType, **values: Any) -> dict[str, Any]:
    lang = _lang(request)
    t = {**texts(lang), **STRINGS[lang]}
    return {"t": t, "lang": lang, "other_lang": "en" if lang == "de" else "de", "type": app_type,
            "title": app_type.title.get(lang), "base": f"/antrag/{app_type.id}", "suffix": _suffix(lang),
            "autocomplete": AUTOCOMPLETE, "start_lang": _wanted_lang(request),
            "days": runtime.settings.section(ChecksSettings).checks_dialogue_resume_days,
            **values}


def _page(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, "antrag.html", context, status_code=status)
    response.set_cookie("lang", context["lang"], samesite="lax", httponly=True)
    return response


def _set_code(response: Response, request: Request, type_id: str, code: str) -> None:
    response.set_cookie(_cookie(type_id), dialogue.normalise_code(code), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path=f"/antrag/{type_id}")


def _to(path: str, lang: str) -> RedirectResponse:
    return RedirectResponse(path + _suffix(lang), status_code=303)


def _check_token(code: str, token: str) -> None:
    if not hmac.compare_digest(_token(code).encode(), token.encode()):
        raise BadRequest("form token missing or wrong")


def _intro(request: Request, runtime: Runtime, app_type: ApplicationType, status: int = 200,
           error: str | None = None, code: str = "", paused: bool = False) -> HTMLResponse:
    lang = _lang(request)
    return _page(request, _context(request, runtime, app_type, mode="paused" if paused else "intro",
                                   error=error, code_value=code, documents=[
                                       {"label": d.label.get(lang), "help": d.help.get(lang) if d.help else ""}
                                       for d in app_type.documents if d.required]), status)


@router.get(PREFIX, response_class=HTMLResponse)
async def intro(type_id: str, request: Request, runtime: RuntimeDep) -> Response:
    app_type = _type(runtime, type_id)
    code = _code(request, type_id)
    if code:
        try:
            state = await run_in_threadpool(lambda: dialogue.resume(runtime, code, client=_client(request)))
            return _to(f"/antrag/{type_id}/" + ("frage" if state.status == "open" else "fertig"), _lang(request))
        except RathausError:
            pass  # an old cookie: start page
    return _intro(request, runtime, app_type)


@router.post(PREFIX + "/beginnen", response_class=HTMLResponse)
async def begin(type_id: str, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    app_type = _type(runtime, type_id)
    wanted = _wanted_lang(request)
    started = await run_in_threadpool(lambda: dialogue.start(runtime, app_type.id, wanted,
                                                             client=_client(request)))
    response = _page(request, _context(request, runtime, app_type, mode="code",
                                       code=dialogue.show_code(started.resume_code)))
    _set_code(response, request, type_id, started.resume_code)
    return response


@router.post(PREFIX + "/fortsetzen", response_class=HTMLResponse)
async def resume(type_id: str, request: Request, runtime: RuntimeDep,
                 code: Annotated[str, Form(max_length=64)] = "") -> Response:
    app_type = _type(runtime, type_id)
    t = STRINGS[_lang(request)]
    try:
        state = await run_in_threadpool(lambda: dialogue.resume(runtime, code, client=_client(request)))
    except dialogue.ResumeCodeExpired:
        return _intro(request, runtime, app_type, 410, t["error_code_expired"], code)
    except dialogue.ResumeCodeWrong:
        return _intro(request, runtime, app_type, 400, t["error_code_wrong"], code)
    if state.type_id != type_id:
        return _intro(request, runtime, app_type, 400, t["error_code_wrong"], code)
    response = _to(f"/antrag/{type_id}/" + ("frage" if state.status == "open" else "fertig"), _lang(request))
    _set_code(response, request, type_id, code)
    return response


def _question_page(request: Request, runtime: Runtime, app_type: ApplicationType, code: str,
                   q: dialogue.Question, status: int = 200, error: str | None = None, value: str | None = None,
                   upload_results: list[dict[str, Any]] | None = None) -> HTMLResponse:
    shown = value if value is not None else q.value
    return _page(request, _context(request, runtime, app_type, mode="question", q=q, error=error, value=shown,
                                   token=_token(code), upload_results=upload_results or []), status)


def _need_code(request: Request, type_id: str) -> str:
    code = _code(request, type_id)
    if not code:
        raise _Restart()
    return code


class _Restart(Exception):
    """No or an unusable cookie: back to the start page."""


async def _guard(request: Request, runtime: Runtime, type_id: str, work: Any) -> Response:
    try:
        return await work()
    except (_Restart, dialogue.ResumeCodeWrong):
        return _to(f"/antrag/{type_id}", _lang(request))
    except dialogue.ResumeCodeExpired:
        app_type = _type(runtime, type_id)
        return _intro(request, runtime, app_type, 410, STRINGS[_lang(request)]["error_code_expired"])
    except dialogue.ApplicationClosed:
        return _to(f"/antrag/{type_id}/fertig", _lang(request))


@router.get(PREFIX + "/frage", response_class=HTMLResponse)
async def show_question(type_id: str, request: Request, runtime: RuntimeDep) -> Response:
    app_type = _type(runtime, type_id)

    async def work() -> Response:
        code = _need_code(request, type_id)
        q = await run_in_threadpool(lambda: dialogue.current_question(runtime, code, client=_client(request)))
        return _question_page(request, runtime, app_type, code, q)

    return await _guard(request, runtime, type_id, work)


@router.post(PREFIX + "/frage", response_class=HTMLResponse)
async def post_answer(type_id: str, request: Request, runtime: RuntimeDep,
                      token: Annotated[str, Form(max_length=64)] = "",
                      action: Annotated[str, Form(max_length=130)] = "answer",
                      value: Annotated[str, Form(max_length=2000)] = "") -> Response:
    app_type = _type(runtime, type_id)
    lang = _lang(request)

    async def work() -> Response:
        code = _need_code(request, type_id)
        _check_token(code, token)
        client = _client(request)
        if action == "back":
            await run_in_threadpool(lambda: dialogue.back(runtime, code, client=client))
        elif action.startswith("goto:"):
            await run_in_threadpool(lambda: dialogue.goto(runtime, code, action[5:], client=client))
        elif action == "pause":
            response = _intro(request, runtime, app_type, paused=True)
            response.delete_cookie(_cookie(type_id), path=f"/antrag/{type_id}")
            return response
        elif action == "finish":
            try:
                await run_in_threadpool(lambda: dialogue.finish(runtime, code, client=client, lang=lang))
            except dialogue.AnswerInvalid:
                return _to(f"/antrag/{type_id}/frage", lang)  # the first missing answer is asked
            return _to(f"/antrag/{type_id}/fertig", lang)
        else:
            try:
                await run_in_threadpool(lambda: dialogue.answer(runtime, code, value, client=client, lang=lang))
            except dialogue.AnswerInvalid as exc:
                q = await run_in_threadpool(lambda: dialogue.current_question(runtime, code, client=client))
                message = exc.extra["message_en" if lang == "en" else "message_de"]
                return _question_page(request, runtime, app_type, code, q, 400, message, value)
        return _to(f"/antrag/{type_id}/frage", lang)

    return await _guard(request, runtime, type_id, work)


@router.post(PREFIX + "/hochladen", response_class=HTMLResponse)
async def post_upload(type_id: str, request: Request, runtime: RuntimeDep,
                      token: Annotated[str, Form(max_length=64)] = "",
                      requirement: Annotated[str, Form(max_length=100)] = "",
                      files: Annotated[list[UploadFile] | None, File()] = None) -> Response:
    app_type = _type(runtime, type_id)
    lang = _lang(request)

    async def work() -> Response:
        code = _need_code(request, type_id)
        _check_token(code, token)
        client = _client(request)
        chosen = [f for f in files or [] if f.filename]
        results: list[dict[str, Any]] = []
        error = None
        if not chosen:
            error = STRINGS[lang]["error_upload_none"]
        for item in chosen:
            data = await item.read()
            name = item.filename or "datei"
            check, file_id = await run_in_threadpool(
                functools.partial(dialogue.upload, runtime, code, requirement, name, data, client=client))
            results.append({"ok": file_id is not None, "messages": check.messages(lang)})
            if file_id is None:
                error = " ".join(check.messages(lang))
        q = await run_in_threadpool(lambda: dialogue.current_question(runtime, code, client=client))
        return _question_page(request, runtime, app_type, code, q, 400 if error else 200, error,
                              upload_results=results)

    return await _guard(request, runtime, type_id, work)


@router.post(PREFIX + "/entfernen", response_class=HTMLResponse)
async def post_remove(type_id: str, request: Request, runtime: RuntimeDep,
                      token: Annotated[str, Form(max_length=64)] = "",
                      file_id: Annotated[int, Form(ge=1)] = 0) -> Response:
    _type(runtime, type_id)

    async def work() -> Response:
        code = _need_code(request, type_id)
        _check_token(code, token)
        await run_in_threadpool(lambda: dialogue.remove_upload(runtime, code, file_id, client=_client(request)))
        return _to(f"/antrag/{type_id}/frage", _lang(request))

    return await _guard(request, runtime, type_id, work)


@router.get(PREFIX + "/fertig", response_class=HTMLResponse)
async def done(type_id: str, request: Request, runtime: RuntimeDep) -> Response:
    app_type = _type(runtime, type_id)
    lang = _lang(request)

    async def work() -> Response:
        code = _need_code(request, type_id)
        try:
            result = await run_in_threadpool(lambda: dialogue.downloads(runtime, code, client=_client(request),
                                                                        lang=lang))
        except BadRequest:  # not sent yet
            return _to(f"/antrag/{type_id}/frage", lang)
        return _page(request, _context(request, runtime, app_type, mode="done", result=result,
                                       summary=result.summary))

    return await _guard(request, runtime, type_id, work)


_DOWNLOADS = {"pdf": ("application/pdf", "antrag-{id}.pdf"), "json": ("application/json", "antrag-{id}.json"),
              "xml": ("application/xml", "antrag-{id}.xml")}


@router.get(PREFIX + "/antrag.{kind}")
async def download(type_id: str, kind: str, request: Request, runtime: RuntimeDep) -> Response:
    _type(runtime, type_id)
    if kind not in _DOWNLOADS:
        raise NotFound(f"no download {kind!r}")

    async def work() -> Response:
        import json

        code = _need_code(request, type_id)
        result = await run_in_threadpool(lambda: dialogue.downloads(runtime, code, client=_client(request)))
        body = result.pdf if kind == "pdf" else result.xml if kind == "xml" else json.dumps(
            result.json, ensure_ascii=False, indent=1).encode("utf-8")
        media, name = _DOWNLOADS[kind]
        return Response(body, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="{name.format(id=result.packet_id)}"',
            "Cache-Control": "no-store"})

    return await _guard(request, runtime, type_id, work)

