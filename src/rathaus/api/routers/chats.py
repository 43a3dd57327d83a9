"""The employee assistant over HTTP: chats (history on the server), turns, documents, own assistants."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from fastapi import APIRouter, File, Query, Response, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.api.routers.openai_compat import ClosingStreamingResponse
from rathaus.assistants import chats, custom
from rathaus.assistants.conversation import MAX_MESSAGE_CHARS, Turn, message_json, new_collection_name
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest, PayloadTooLarge, RathausError, UnsupportedMediaType
from rathaus.http.deps import PrincipalDep, RuntimeDep
from rathaus.http.markdown import with_html
from rathaus.http.model_threads import run_model_call
from rathaus.literacy import require_basics
from rathaus.safety.policy import SafetyPolicy

if TYPE_CHECKING:
    from rathaus.models.gateway import CallContext

router = APIRouter(prefix="/api/v1", tags=["Employee assistant"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 409, 413, 422, 429, 502, 503)}
UPLOAD_SUFFIXES = (".pdf", ".docx", ".txt", ".md", ".html", ".htm")
Mode = Literal["chat", "summarise", "simplify", "translate", "draft", "brainstorm"]


class ChatIn(BaseModel):
    title: str | None = Field(default=None, max_length=200)
    data_class: DataClass = DataClass.INTERN
    model: str = Field(default="auto", max_length=100)
    mode: Mode = "chat"
    assistant_id: str | None = Field(default=None, max_length=40)
    link: str | None = Field(default=None, max_length=100)


class ChatPatch(BaseModel):
    version: int
    title: str | None = Field(default=None, max_length=200)
    data_class: DataClass | None = None
    model: str | None = Field(default=None, max_length=100)
    mode: Mode | None = None


class TurnIn(BaseModel):
    version: int
    action: Literal["send", "regenerate", "edit"] = "send"
    content: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS * 2)
    edit_seq: int | None = Field(default=None, ge=1)
    stream: bool = True
    options: dict[str, str | int | None] = Field(default_factory=dict, max_length=10)


class AssistantIn(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    system_prompt: str | None = Field(default=None, max_length=20_000)
    starter_prompts: list[Annotated[str, Field(max_length=500)]] | None = Field(default=None, max_length=8)
    data_class: DataClass | None = None
    model: str | None = Field(default=None, max_length=100)
    visibility: Literal["private", "link", "departments"] | None = None
    share_departments: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=50)
    safeguards: SafetyPolicy | None = None
    version: int | None = None


class PublishIn(BaseModel):
    confirm: bool = False
    version: int | None = None


class UnpublishIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


def _chat_json(chat: Any, messages: list[Any] | None = None) -> dict[str, Any]:
    data = {"id": str(chat.id), "title": chat.title, "data_class": chat.data_class, "model": chat.model,
            "mode": chat.mode, "assistant_id": str(chat.assistant_id) if chat.assistant_id else None,
            "has_documents": chat.collection_id is not None, "version": chat.version,
            "updated_at": chat.updated_at.isoformat() if chat.updated_at else None}
    if messages is not None:
        data["messages"] = [with_html(message_json(m)) for m in messages]
    return data


# --- chats -------------------------------------------------------------------------------------------
@router.get("/chats", responses=ERRORS)
def list_chats(runtime: RuntimeDep, principal: PrincipalDep,
               q: Annotated[str | None, Query(max_length=200)] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50,
               offset: Annotated[int, Query(ge=0, le=100_000)] = 0) -> list[dict[str, Any]]:
    """Your chats, newest first; ``q`` searches titles and messages."""
    with runtime.db.session() as session:
        return [asdict(s) for s in chats.search(session, principal, q, limit, offset)]


@router.post("/chats", status_code=201, responses=ERRORS)
def create_chat(body: ChatIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    with runtime.db.session() as session:
        assistant_id = None
        title = body.title
        if body.assistant_id:
            assistant = custom.get_usable(session, principal, body.assistant_id, body.link)
            if (assistant.screening or {}).get("high_risk"):  # an Annex III area: the basics first, if required
                require_basics(session, runtime.settings, principal, assistant.name)
            assistant_id = assistant.id
            title = title or assistant.name
            data_class = DataClass.parse(assistant.data_class)
            model = assistant.model
        else:
            data_class, model = DataClass.parse(body.data_class), body.model
        runtime.gateway.route(_ctx(principal, data_class), model, "chat")  # the model must fit the class
        chat = chats.create(session, principal, title=title, data_class=data_class, model=model, mode=body.mode,
                            assistant_id=assistant_id)
        return _chat_json(chat, [])


def _ctx(principal: Principal, data_class: DataClass) -> CallContext:
    from rathaus.models.gateway import CallContext

    return CallContext(principal=principal, data_class=data_class, use_case="chat")


@router.get("/chats/{chat_id}", responses=ERRORS)
def get_chat(chat_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    with runtime.db.session() as session:
        chat = chats.get(session, principal, chat_id)
        return _chat_json(chat, chats.messages(session, chat))


@router.patch("/chats/{chat_id}", responses=ERRORS)
def patch_chat(chat_id: str, body: ChatPatch, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Rename, or change data class, model or mode (needs the current version)."""
    with runtime.db.session() as session:
        chat = chats.get(session, principal, chat_id, lock=True)
        chats.check_version(chat, body.version)
        if body.title is not None:
            chat = chats.rename(session, principal, chat_id, body.title, body.version)
        data_class = DataClass.parse(body.data_class or chat.data_class)
        model = body.model or chat.model
        if body.data_class or body.model:
            runtime.gateway.route(_ctx(principal, data_class), model, "chat")
            chat.data_class, chat.model = data_class.value, model
        if body.mode:
            chat.mode = body.mode
        if body.data_class or body.model or body.mode:
            chats.touch(chat)
        return _chat_json(chat)


@router.delete("/chats/{chat_id}", responses=ERRORS)
def delete_chat(chat_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Delete the chat with its messages, uploaded documents, chunks and vectors."""
    with runtime.db.session() as session:
        return {"deleted": chat_id, **chats.delete(session, principal, chat_id)}


@router.get("/chats/{chat_id}/export", responses=ERRORS)
def export_chat(chat_id: str, runtime: RuntimeDep, principal: PrincipalDep,
                format: Annotated[Literal["md", "json"], Query()] = "md") -> Response:
    with runtime.db.session() as session:
        content, media = chats.export(session, principal, chat_id, format)
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="chat-{chat_id[:8]}.{format}"'})


@router.post("/chats/{chat_id}/messages", responses={200: {"content": {"text/event-stream": {}}}, **ERRORS})
async def post_message(chat_id: str, body: TurnIn, runtime: RuntimeDep, principal: PrincipalDep) -> Any:
    """Send a message, regenerate the last answer, or edit an earlier message and resend."""
    turn = await run_model_call(lambda: Turn(runtime, principal, chat_id, body.action, content=body.content,
                                                version=body.version, edit_seq=body.edit_seq, options=body.options))
    if not body.stream:
        events = await run_model_call(lambda: list(turn.events()))
        final = next((e for e in events if e["type"] == "final"), None)
        error = next((e for e in events if e["type"] == "error"), None)
        return {"version": turn.version, "message": with_html(final["message"]) if final else None,
                "error": error["detail"] if error else None}
    return ClosingStreamingResponse(_sse(turn.events()), media_type="text/event-stream", on_close=turn.close,
                                    headers={"Cache-Control": "no-cache"})


async def _sse(events: Iterator[dict[str, Any]]) -> Any:
    done = object()

    def step() -> Any:
        try:
            event = next(events, done)
        except RathausError as exc:
            return {"type": "error", "detail": exc.detail}
        if isinstance(event, dict) and event["type"] == "final":
            event = {**event, "message": with_html(event["message"])}
        return event

    try:
        while True:
            event = await run_in_threadpool(step)
            if event is done:
                break
            yield f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False, default=str)}\n\n"
            if event["type"] == "error":
                break
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(events.close)  # type: ignore[attr-defined]


@router.post("/chats/{chat_id}/documents", responses=ERRORS)
async def upload_to_chat(chat_id: str, runtime: RuntimeDep, principal: PrincipalDep,
                         files: Annotated[list[UploadFile], File(description="PDF, DOCX, TXT (also MD, HTML)")]
                         ) -> dict[str, Any]:
    """Documents become a private collection of this chat; answers then cite them with verified quotes."""
    from rathaus.knowledge import collections
    from rathaus.knowledge.ingest import UPLOAD_WAIT_SECONDS, Ingestor, ItemResult, source_from_bytes
    from rathaus.knowledge.schema import Collection

    if not files or len(files) > 20:
        raise BadRequest("upload 1 to 20 files")
    limit = runtime.settings.upload_max_mb * 1_000_000
    sources, problems = [], []
    too_large = 0
    for upload in files:
        name = (upload.filename or "upload").replace("/", "_")[:200]
        data = await upload.read(limit + 1)
        if len(data) > limit:
            too_large += 1
            problems.append(ItemResult(f"upload:{name}", "failed",
                                       f"Datei zu groß / file too large (> {runtime.settings.upload_max_mb} MB)"))
        elif not name.lower().endswith(UPLOAD_SUFFIXES):
            problems.append(ItemResult(f"upload:{name}", "failed",
                                       "Dateityp nicht unterstützt / unsupported type (PDF, DOCX, TXT, MD, HTML)"))
        else:
            sources.append(source_from_bytes(name, data, upload.content_type))
    if not sources:  # nothing usable: a problem, and the chat stays as it was
        details = "; ".join(f"{p.source.removeprefix('upload:')}: {p.detail}" for p in problems)
        if too_large == len(problems):
            raise PayloadTooLarge(details)
        raise UnsupportedMediaType(details)

    def run() -> dict[str, Any]:
        with runtime.db.session() as session:
            chat = chats.get(session, principal, chat_id, lock=True)
            if chat.collection_id is None:
                collection = collections.create(
                    session, principal, new_collection_name(), title=f"Chat: {chat.title}"[:300],
                    visibility="private", data_class=DataClass.parse(chat.data_class),
                    embedding_model=runtime.catalog.defaults.embedding)
                chat.collection_id = collection.id
            name = session.get_one(Collection, chat.collection_id).name
            chats.touch(chat)
        report = Ingestor(runtime, principal, name).run(sources, failures=problems, wait_seconds=UPLOAD_WAIT_SECONDS)
        with runtime.db.session() as session:
            version = chats.get(session, principal, chat_id).version
        return {"counts": report.counts, "items": [asdict(i) for i in report.items], "version": version}

    return await run_in_threadpool(run)


# --- own assistants ------------------------------------------------------------------------------------
@router.get("/my-assistants", responses=ERRORS)
def list_assistants(runtime: RuntimeDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    """Your assistants and those shared with your department."""
    with runtime.db.session() as session:
        return [custom.as_json(a, principal) for a in custom.list_usable(session, principal)]


@router.post("/my-assistants", status_code=201, responses=ERRORS)
def create_assistant(body: AssistantIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    with runtime.db.session() as session:
        return custom.as_json(custom.create(session, principal, body.model_dump(exclude={"version"})), principal)


@router.get("/my-assistants/{assistant_id}", responses=ERRORS)
def get_assistant(assistant_id: str, runtime: RuntimeDep, principal: PrincipalDep,
                  link: Annotated[str | None, Query(max_length=100)] = None) -> dict[str, Any]:
    with runtime.db.session() as session:
        return custom.as_json(custom.get_usable(session, principal, assistant_id, link), principal)


@router.patch("/my-assistants/{assistant_id}", responses=ERRORS)
def update_assistant(assistant_id: str, body: AssistantIn, runtime: RuntimeDep, principal: PrincipalDep
                     ) -> dict[str, Any]:
    with runtime.db.session() as session:
        a = custom.update(session, principal, assistant_id, body.model_dump(exclude={"version"}), body.version)
        return custom.as_json(a, principal)


@router.delete("/my-assistants/{assistant_id}", responses=ERRORS)
def delete_assistant(assistant_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    with runtime.db.session() as session:
        custom.delete(session, principal, assistant_id)
    return {"deleted": assistant_id}


@router.post("/my-assistants/{assistant_id}/duplicate", status_code=201, responses=ERRORS)
def duplicate_assistant(assistant_id: str, runtime: RuntimeDep, principal: PrincipalDep,
                        link: Annotated[str | None, Query(max_length=100)] = None) -> dict[str, Any]:
    with runtime.db.session() as session:
        return custom.as_json(custom.duplicate(session, principal, assistant_id, link), principal)


@router.get("/my-assistants/{assistant_id}/versions", responses=ERRORS)
def assistant_versions(assistant_id: str, runtime: RuntimeDep, principal: PrincipalDep) -> list[dict[str, Any]]:
    with runtime.db.session() as session:
        return custom.versions(session, principal, assistant_id)


@router.post("/my-assistants/{assistant_id}/publish", responses=ERRORS)
def publish_assistant(assistant_id: str, body: PublishIn, runtime: RuntimeDep, principal: PrincipalDep
                      ) -> dict[str, Any]:
    """Publish after the EU AI Act screening; a high-risk area needs ``confirm: true`` (else 409 with the result)."""
    with runtime.db.session() as session:
        a = custom.publish(runtime, session, principal, assistant_id, confirm=body.confirm, version=body.version)
        return custom.as_json(a, principal)


@router.post("/my-assistants/{assistant_id}/unpublish", responses=ERRORS)
def unpublish_assistant(assistant_id: str, body: UnpublishIn, runtime: RuntimeDep, principal: PrincipalDep
                        ) -> dict[str, Any]:
    """Moderation (admin role): take a published assistant down with a reason its owner sees."""
    with runtime.db.session() as session:
        a = custom.unpublish(runtime, session, principal, assistant_id, body.reason)
        return {"id": str(a.id), "published": a.published, "unpublished_reason": a.unpublished_reason}
