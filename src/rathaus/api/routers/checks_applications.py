"""The guided application over HTTP for the applicant's own client (an online form, an app, the widget):
anonymous, behind RATHAUS_CHECKS_PUBLIC_DIALOGUE, the application named by its id and proven by its resume code in
the ``X-Resume-Code`` header (wrong codes are rate-limited per client). Plus the published JSON Schema and XSD of
each type's export for the specialist procedure (always public: they describe, they hold no data).

Errors are problem+json: 422 ``answer-invalid`` with ``field``, ``message_de``, ``message_en``; 404 for an unknown
code; 410 when it has expired; 409 when the application was sent already.
"""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.checks import dialogue, forms
from rathaus.checks.settings import ChecksSettings
from rathaus.core import ratelimit
from rathaus.core.errors import NotFound
from rathaus.http.clients import client_address
from rathaus.http.deps import RuntimeDep
from rathaus.runtime import Runtime

router = APIRouter(prefix="/api/v1/checks", tags=["Guided applications"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 404, 409, 410, 413, 422, 429)}
CodeHeader = Annotated[str, Header(alias="X-Resume-Code", min_length=8, max_length=64,
                                   description="the resume code shown when the application was started")]


def _enabled(runtime: Runtime) -> None:
    if not runtime.settings.section(ChecksSettings).checks_public_dialogue:
        raise NotFound("no such page")


def _client(request: Request) -> str:
    return ratelimit.address_bucket(client_address(request))


def _question(q: dialogue.Question | None) -> dict[str, Any] | None:
    return asdict(q) if q is not None else None


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type_id: str = Field(max_length=100, pattern=r"^[a-z][a-z0-9-]*$")
    language: str = Field("de", pattern=r"^[a-z]{2}$")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str | None = Field(None, max_length=2000, description="the answer as typed (dates 14.03.1985 or ISO)")


class GotoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: str = Field(max_length=120, description="a step of the current application, e.g. field:iban")


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=8, max_length=64)
    language: str | None = Field(None, pattern=r"^[a-z]{2}$")


@router.post("/applications", status_code=201, responses=ERRORS)
async def start(body: StartIn, runtime: RuntimeDep, request: Request) -> dict[str, Any]:
    """Start an application. The answer carries the resume code – shown this once, keep it."""
    _enabled(runtime)
    started = await run_in_threadpool(lambda: dialogue.start(runtime, body.type_id, body.language,
                                                             client=_client(request)))
    return {"application_id": started.application_id, "resume_code": dialogue.show_code(started.resume_code),
            "question": _question(started.question)}


@router.post("/applications/resume", responses=ERRORS)
async def resume(body: ResumeIn, runtime: RuntimeDep, request: Request) -> dict[str, Any]:
    """The application of a resume code where it was left."""
    _enabled(runtime)
    state = await run_in_threadpool(lambda: dialogue.resume(runtime, body.code, client=_client(request),
                                                            lang=body.language))
    return {**asdict(state), "expires_at": state.expires_at.isoformat()}


@router.get("/applications/{application_id}", responses=ERRORS)
async def current(application_id: int, runtime: RuntimeDep, request: Request, code: CodeHeader) -> dict[str, Any]:
    _enabled(runtime)
    state = await run_in_threadpool(lambda: dialogue.resume(runtime, code, client=_client(request),
                                                            application_id=application_id))
    return {**asdict(state), "expires_at": state.expires_at.isoformat()}


@router.post("/applications/{application_id}/answer", responses=ERRORS)
async def answer(application_id: int, body: AnswerIn, runtime: RuntimeDep, request: Request,
                 code: CodeHeader) -> dict[str, Any]:
    """Answer the current question; 422 answer-invalid says what is wrong (nothing is stored then)."""
    _enabled(runtime)
    q = await run_in_threadpool(lambda: dialogue.answer(runtime, code, body.value, client=_client(request),
                                                        application_id=application_id))
    return {"question": _question(q)}


@router.post("/applications/{application_id}/back", responses=ERRORS)
async def back(application_id: int, runtime: RuntimeDep, request: Request, code: CodeHeader) -> dict[str, Any]:
    _enabled(runtime)
    q = await run_in_threadpool(lambda: dialogue.back(runtime, code, client=_client(request),
                                                      application_id=application_id))
    return {"question": _question(q)}


@router.post("/applications/{application_id}/goto", responses=ERRORS)
async def goto(application_id: int, body: GotoIn, runtime: RuntimeDep, request: Request,
               code: CodeHeader) -> dict[str, Any]:
    _enabled(runtime)
    q = await run_in_threadpool(lambda: dialogue.goto(runtime, code, body.step, client=_client(request),
                                                      application_id=application_id))
    return {"question": _question(q)}


@router.post("/applications/{application_id}/uploads", responses=ERRORS)
async def upload(application_id: int, runtime: RuntimeDep, request: Request, response: Response, code: CodeHeader,
                 requirement: Annotated[str, Form(max_length=100)], file: Annotated[UploadFile, File()]
                 ) -> dict[str, Any]:
    """Upload a document for a requirement; it is checked at once. 201 with the file id when it can be used,
    422 upload-refused with the reasons when not (it is not stored)."""
    _enabled(runtime)
    data = await file.read()
    result, file_id = await run_in_threadpool(lambda: dialogue.upload(
        runtime, code, requirement, file.filename or "datei", data, client=_client(request),
        application_id=application_id))
    if file_id is None:
        raise dialogue.UploadRefused(" ".join(result.messages("en")), extra={
            "messages_de": result.messages("de"), "messages_en": result.messages("en")})
    response.status_code = 201
    return {"file_id": file_id, "content_type": result.content_type, "pages": result.pages, "kind": result.kind,
            "messages_de": result.messages("de"), "messages_en": result.messages("en")}


@router.delete("/applications/{application_id}/uploads/{file_id}", status_code=204, responses=ERRORS)
async def remove_upload(application_id: int, file_id: int, runtime: RuntimeDep, request: Request,
                        code: CodeHeader) -> Response:
    _enabled(runtime)
    await run_in_threadpool(lambda: dialogue.remove_upload(runtime, code, file_id, client=_client(request),
                                                           application_id=application_id))
    return Response(status_code=204)


def _finished(result: dialogue.Finished, application_id: int) -> dict[str, Any]:
    base = f"/api/v1/checks/applications/{application_id}"
    return {"application_id": result.application_id, "packet_id": result.packet_id, "export": result.json,
            "summary": {**asdict(result.summary), "text": result.summary.text},
            "downloads": {"pdf": base + "/form.pdf", "json": base + "/export.json", "xml": base + "/export.xml"},
            "form_pdf_base64": base64.b64encode(result.pdf).decode("ascii")}


@router.post("/applications/{application_id}/finish", responses=ERRORS)
async def finish(application_id: int, runtime: RuntimeDep, request: Request, code: CodeHeader) -> dict[str, Any]:
    """Send the application: a packet for the case worker; the filled form, the export and a summary for you."""
    _enabled(runtime)
    result = await run_in_threadpool(lambda: dialogue.finish(runtime, code, client=_client(request),
                                                             application_id=application_id))
    return _finished(result, application_id)


@router.get("/applications/{application_id}/form.pdf", responses={200: {"content": {"application/pdf": {}}},
                                                                  **ERRORS})
async def form_pdf(application_id: int, runtime: RuntimeDep, request: Request, code: CodeHeader) -> Response:
    _enabled(runtime)
    result = await run_in_threadpool(lambda: dialogue.downloads(runtime, code, client=_client(request),
                                                                application_id=application_id))
    return Response(result.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": 'attachment; filename="antrag.pdf"'})


@router.get("/applications/{application_id}/export.json", responses=ERRORS)
async def export_json(application_id: int, runtime: RuntimeDep, request: Request, code: CodeHeader
                      ) -> dict[str, Any]:
    _enabled(runtime)
    result = await run_in_threadpool(lambda: dialogue.downloads(runtime, code, client=_client(request),
                                                                application_id=application_id))
    return result.json


@router.get("/applications/{application_id}/export.xml", responses={200: {"content": {"application/xml": {}}},
                                                                    **ERRORS})
async def export_xml(application_id: int, runtime: RuntimeDep, request: Request, code: CodeHeader) -> Response:
    _enabled(runtime)
    result = await run_in_threadpool(lambda: dialogue.downloads(runtime, code, client=_client(request),
                                                                application_id=application_id))
    return Response(result.xml, media_type="application/xml")


@router.get("/schemas/{type_id}.json", responses=ERRORS)
def json_schema(type_id: str, runtime: RuntimeDep) -> Response:
    """The published JSON Schema of the type's export (stable URL; the version is in the schema)."""
    import json

    schema = forms.json_schema(dialogue.application_type(runtime, type_id))
    return Response(json.dumps(schema, ensure_ascii=False, indent=1), media_type="application/schema+json",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/schemas/{type_id}.xsd", responses={200: {"content": {"application/xml": {}}}, **ERRORS})
def xml_schema(type_id: str, runtime: RuntimeDep) -> Response:
    """The published XML Schema of the type's XML export."""
    return Response(forms.xsd(dialogue.application_type(runtime, type_id)), media_type="application/xml",
                    headers={"Cache-Control": "public, max-age=3600"})
