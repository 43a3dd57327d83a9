"""Application checks over HTTP: the application types, packets (upload, list, one with its checklist), the
applicant letter, evidence crops, confirmation and deletion. Access: rathaus.checks.access. The check itself runs
as the background job ``checks.run``; a packet's ``status`` tells when its checklist is there."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.checks import service
from rathaus.checks.errors import FileTooLarge, TooManyFiles
from rathaus.checks.settings import ChecksSettings
from rathaus.checks.uploads import Upload
from rathaus.http.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/checks", tags=["Checks"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA
                                           for code in (400, 401, 403, 404, 409, 413, 415, 422, 503)}
Lang = Annotated[str, Query(pattern=r"^[a-z]{2}$", description="de or en (texts of the type)")]


@router.get("/types", responses=ERRORS)
def list_types(runtime: RuntimeDep, principal: PrincipalDep, lang: Lang = "de") -> list[dict[str, Any]]:
    """The application types this installation checks (shipped and the city's own)."""
    return [service.type_summary(t, lang) for t in service.types(runtime).values()]


@router.get("/types/{type_id}", responses=ERRORS)
def get_type(type_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """A type's whole definition: form fields, required documents with alternatives, rules, help texts, sources."""
    return service.get_type(runtime, type_id).model_dump(mode="json")


@router.post("/packets", status_code=202, responses=ERRORS)
async def create_packet(
    runtime: RuntimeDep, principal: PrincipalDep,
    files: Annotated[list[UploadFile] | None, File(description="The form (PDF) and the documents: PDF, JPEG, PNG, "
                                                               "TIFF, HEIC; a form's data as JSON or XML")] = None,
    type_id: Annotated[str | None, Form(max_length=100, description="the application type; without it the form "
                                                                    "data must name it")] = None,
    submitted_on: Annotated[dt.date | None, Form(description="date the application arrived (default today)")] = None,
    form: Annotated[str | None, Form(max_length=2_000_000, description="form data as JSON or XML")] = None,
    form_file: Annotated[UploadFile | None, File(description="form data as a JSON or XML file")] = None,
    language: Annotated[str | None, Form(pattern=r"^[a-z]{2}$", description="the applicant's language")] = None,
    reference: Annotated[str | None, Form(max_length=200, description="case number, if any")] = None,
) -> JSONResponse:
    """Store a packet and queue its check (202; ``status`` is ``received`` until the checklist is there). Nothing
    is stored when a file is empty, too large, of an unsupported kind, or the type is unknown or not given."""
    settings = runtime.settings.section(ChecksSettings)
    limit = settings.checks_max_file_mb * 1_000_000
    if files and len(files) > settings.checks_max_files:
        raise TooManyFiles(f"{len(files)} Dateien, höchstens {settings.checks_max_files} / {len(files)} files, at "
                           f"most {settings.checks_max_files}")
    uploads: list[Upload] = []
    for upload in files or []:
        data = await upload.read(limit + 1)
        name = upload.filename or "datei"
        if len(data) > limit:
            raise FileTooLarge(f"{name}: größer als {settings.checks_max_file_mb} MB / file larger than "
                               f"{settings.checks_max_file_mb} MB")
        uploads.append(Upload(name, data, upload.content_type or "application/octet-stream"))
    form_data: str | bytes | None = form
    if form_file is not None:
        form_data = await form_file.read(2_000_001)
    packet = await run_in_threadpool(
        service.create_packet, runtime, principal, uploads, type_id=type_id, submitted_on=submitted_on,
        form=form_data, language=language, reference=reference, source="api")
    return JSONResponse(packet, status_code=202, headers={"Location": f"/api/v1/checks/packets/{packet['id']}"})


@router.get("/packets", responses=ERRORS)
def list_packets(
    runtime: RuntimeDep, principal: PrincipalDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    type_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    lang: Lang = "de",
) -> dict[str, Any]:
    """The packets the caller may see (their department's), newest first."""
    return service.list_packets(runtime, principal, status=status, type_id=type_id, limit=limit, offset=offset,
                                lang=lang)


@router.get("/packets/{packet_id}", responses=ERRORS)
def get_packet(packet_id: int, runtime: RuntimeDep, principal: PrincipalDep, lang: Lang = "de") -> dict[str, Any]:
    """Status and checklist (satisfied / missing / invalid / unsure per requirement with evidence)."""
    return service.get_packet(runtime, principal, packet_id, lang)


@router.get("/packets/{packet_id}/export", responses=ERRORS)
def export_packet(packet_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Form data and checklist for the specialist procedure (audited)."""
    return service.export(runtime, principal, packet_id)


@router.get("/packets/{packet_id}/letter", responses=ERRORS)
async def get_letter(packet_id: int, runtime: RuntimeDep, principal: PrincipalDep,
                     lang: Annotated[str | None, Query(pattern=r"^[a-z]{2}$")] = None) -> dict[str, Any]:
    """The letter asking the applicant for exactly what is missing or wrong: German, and ``lang`` (default the
    packet's language) – other than English only through a model cleared for personal data."""
    return await run_in_threadpool(service.letter, runtime, principal, packet_id, lang)


@router.get("/packets/{packet_id}/evidence/{n}.png", responses={**ERRORS, 200: {"content": {"image/png": {}}}})
async def evidence(packet_id: int, n: int, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Evidence ``n`` (numbered in checklist order) as an image crop of its page."""
    png = await run_in_threadpool(service.evidence_png, runtime, principal, packet_id, n)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000, description="the case worker's note (their decision)")


@router.post("/packets/{packet_id}/confirm", responses=ERRORS)
def confirm(packet_id: int, body: ConfirmIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """A case worker confirms the checklist with a note; the system never decides."""
    return service.confirm(runtime, principal, packet_id, body.note)


@router.delete("/packets/{packet_id}", responses=ERRORS)
def delete_packet(packet_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return service.delete(runtime, principal, packet_id)
