"""Citizen assistants over HTTP: for signed-in staff under /api/v1, anonymous and rate-limited under /public
(the embeddable widget). Answers stream as server-sent events or come as one JSON document."""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.api.routers.openai_compat import ClosingStreamingResponse
from rathaus.assistants.answer import MAX_QUESTION_CHARS, Answerer
from rathaus.assistants.definitions import Assistant, get_assistant
from rathaus.assistants.feedback import store as feedback_store
from rathaus.assistants.settings import AssistantsSettings
from rathaus.core import ratelimit
from rathaus.core.errors import NotFound, RathausError
from rathaus.http.clients import client_address
from rathaus.http.deps import PrincipalDep, RuntimeDep
from rathaus.literacy import require_basics
from rathaus.runtime import Runtime

router = APIRouter(tags=["Assistants"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 422, 429, 503)}


class AskIn(BaseModel):
    question: str = Field(max_length=MAX_QUESTION_CHARS * 2)
    stream: bool = False


class FeedbackIn(BaseModel):
    rating: Annotated[int, Field(description="1 = helpful, -1 = not helpful")]
    comment: str | None = Field(default=None, max_length=2000)
    token: str | None = Field(default=None, max_length=200,
                              description="The answer's feedback_token; without it the feedback is refused (403)")

    @field_validator("rating")
    @classmethod
    def _rating(cls, value: int) -> int:
        if value not in (1, -1):
            raise ValueError("rating must be 1 or -1")
        return value


def _info(a: Assistant) -> dict[str, Any]:
    return {"name": a.name, "title": a.title, "greeting": a.greeting, "disclaimer": a.disclaimer,
            "languages": a.languages, "annex_iii": a.annex_iii, "collections": a.collections,
            "answer_style": a.answer_style}


def _answer_json(answer: Any) -> dict[str, Any]:
    return answer.as_dict()


def _sse(events: Iterator[dict[str, Any]]) -> Generator[str, None, None]:
    try:
        for event in events:
            payload = {**event, "answer": _answer_json(event["answer"])} if event["type"] == "final" else event
            yield f"event: {event['type']}\ndata: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n"
    except RathausError as exc:
        yield f"event: error\ndata: {json.dumps({'detail': exc.detail, 'status': exc.status})}\n\n"


async def _respond(answerer: Answerer, question: str, stream: bool) -> Any:
    from rathaus.assistants.answer import question_language

    question_language(question, answerer.assistant)  # bad questions get a 400 before any stream starts
    if stream:
        return ClosingStreamingResponse(_iterate(answerer, question), media_type="text/event-stream",
                                        headers={"Cache-Control": "no-cache"})
    answer = await run_in_threadpool(answerer.answer, question)
    return _answer_json(answer)


async def _iterate(answerer: Answerer, question: str) -> Any:
    """Run the (blocking) answer generator in the thread pool, one event at a time."""
    iterator = _sse(answerer.stream(question))
    done = object()
    try:
        while True:
            item = await run_in_threadpool(next, iterator, done)
            if item is done:
                break
            yield item
    finally:
        import anyio

        with anyio.CancelScope(shield=True):
            await run_in_threadpool(iterator.close)


def _assistants(request: Request) -> dict[str, Assistant]:
    return request.app.state.assistants


# --- signed-in staff ------------------------------------------------------------------------------------
@router.get("/api/v1/assistants", responses=ERRORS)
def list_assistants(request: Request, principal: PrincipalDep) -> list[dict[str, Any]]:
    return [_info(a) for a in _assistants(request).values()]


@router.post("/api/v1/assistants/{name}/ask", responses={200: {"content": {"text/event-stream": {}}}, **ERRORS})
async def ask(name: str, body: AskIn, request: Request, runtime: RuntimeDep, principal: PrincipalDep) -> Any:
    """Ask as a signed-in user: your collection rights apply and your department pays."""
    assistant = get_assistant(_assistants(request), name)
    if assistant.high_risk:  # RATHAUS_LITERACY_REQUIRE_BASICS_FOR_HIGH_RISK: the basics module first
        await run_in_threadpool(_require_basics, runtime, principal, assistant.name)
    return await _respond(Answerer(runtime, assistant, principal, channel="api"), body.question, body.stream)


def _require_basics(runtime: Any, principal: Any, name: str) -> None:
    with runtime.db.session() as session:
        require_basics(session, runtime.settings, principal, name)


@router.post("/api/v1/answers/{answer_id}/feedback", responses=ERRORS)
def feedback(answer_id: uuid.UUID, body: FeedbackIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    return _store_feedback(runtime, answer_id, body)


# --- anonymous citizens (widget) ------------------------------------------------------------------------
def _public(request: Request, name: str) -> Assistant:
    assistant = get_assistant(_assistants(request), name)
    if not assistant.public:
        raise NotFound(f"no assistant named {name!r}")
    return assistant


def _limit(runtime: Runtime, request: Request, assistant: Assistant) -> None:
    """Count the question against the client's own limit, then against the assistant's total.

    The client is the real one behind trusted proxies only (rathaus.http.clients); a client over its own limit
    is refused before it counts towards the total, so one address cannot use up the whole assistant."""
    settings = runtime.settings
    client = ratelimit.address_bucket(client_address(request))
    limits = settings.section(AssistantsSettings)
    per_client = assistant.rate_limit_per_minute or limits.widget_client_limit_per_minute
    total = assistant.total_rate_limit_per_minute or limits.widget_assistant_limit_per_minute
    with runtime.db.session() as session:
        ratelimit.hit(session, ratelimit.client_key("client", client, assistant.name), per_client, scope="client",
                      message=f"more than {per_client} questions per minute from your address")
        ratelimit.hit(session, ratelimit.client_key("assistant-total", assistant.name), total, scope="assistant",
                      message=f"this assistant is answering more than {total} questions per minute right now")


@router.get("/public/assistants/{name}", responses=ERRORS)
def public_info(name: str, request: Request) -> dict[str, Any]:
    return _info(_public(request, name))


@router.post("/public/assistants/{name}/ask", responses={200: {"content": {"text/event-stream": {}}}, **ERRORS})
async def public_ask(name: str, body: AskIn, request: Request, runtime: RuntimeDep) -> Any:
    """Ask anonymously: public collections only, limited per client and minute."""
    assistant = _public(request, name)
    await run_in_threadpool(_limit, runtime, request, assistant)
    answerer = Answerer(runtime, assistant, None, channel="widget")
    return await _respond(answerer, body.question, body.stream)


@router.post("/public/answers/{answer_id}/feedback", responses=ERRORS)
def public_feedback(answer_id: uuid.UUID, body: FeedbackIn, runtime: RuntimeDep) -> dict[str, Any]:
    return _store_feedback(runtime, answer_id, body)


def _store_feedback(runtime: Runtime, answer_id: uuid.UUID, body: FeedbackIn) -> dict[str, Any]:
    return feedback_store(runtime, answer_id, body.token, body.rating, body.comment)

