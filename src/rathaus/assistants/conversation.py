"""One turn of an employee chat: send, regenerate or edit-and-resend, then stream the answer.

The turn is prepared before anything streams, so a wrong version (another tab), a refused data class,
an exhausted budget or a too-long prompt come back as proper HTTP problems. What the model produces is
saved however the stream ends: completely (``ok``), stopped by the user or a lost connection
(``cancelled``) or broken by a failing model (``error``) — the text so far is never lost.

A chat answers in one of three ways: plain conversation with the model; from the documents uploaded
into it (verified quotes, like the citizen assistants); or through a writing tool (summarise,
simplify, translate, draft, brainstorm).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from rathaus.assistants import chats, custom
from rathaus.assistants.chat_schema import Chat, UserAssistant
from rathaus.assistants.tools import TOOLS, ToolOptions
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest, RathausError
from rathaus.models.gateway import CallContext, ChatOutcome
from rathaus.models.types import ChatMessage, ChatParams, Role, StreamDelta

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from rathaus.models.admission import Slot
    from rathaus.runtime import Runtime

Action = Literal["send", "regenerate", "edit"]
MAX_MESSAGE_CHARS = 20_000
CHARS_PER_TOKEN = 3.5
SYSTEM_PROMPT = (
    "Du bist der KI-Assistent der Stadtverwaltung für ihre Beschäftigten. Antworte sachlich, freundlich und "
    "korrekt, in der Sprache der Frage (meist Deutsch). Gliedere längere Antworten mit Markdown (Listen, "
    "Tabellen). Erfinde keine Fakten über die Stadt: wenn du etwas nicht weißt, sag es."
)


class Turn:
    def __init__(self, runtime: Runtime, principal: Principal, chat_id: str, action: Action, *, content: str | None,
                 version: int | None, edit_seq: int | None = None, options: dict[str, Any] | None = None):
        self.runtime, self.principal, self.action = runtime, principal, action
        self.options = options or {}
        content = (content or "").replace("\x00", "").strip()
        if action in ("send", "edit"):
            if not content:
                raise BadRequest("die Nachricht ist leer / the message is empty")
            if len(content) > MAX_MESSAGE_CHARS:
                raise BadRequest(f"die Nachricht ist zu lang ({len(content)} Zeichen, höchstens {MAX_MESSAGE_CHARS})")
        slot = self._admit(chat_id)  # before anything is stored: a busy model (429) changes nothing
        try:
            self._store(chat_id, content, version, edit_seq)
            self._prepared = self._prepare(slot)
        except BaseException:
            if slot is not None:
                slot.release()
            raise

    def _admit(self, chat_id: str) -> Slot | None:
        """A slot of the chat model for a plain chat turn (tools and document answers take theirs per call)."""
        with self.runtime.db.session() as session:
            chat = chats.get(session, self.principal, chat_id)
            if chat.mode != "chat" or _collection_name(session, chat):
                return None
            ctx = CallContext(principal=self.principal, data_class=DataClass.parse(chat.data_class), use_case="chat")
            model = chat.model
        return self.runtime.gateway.admit(ctx, model)

    def _store(self, chat_id: str, content: str, version: int | None, edit_seq: int | None) -> None:
        """The user's message (sent, edited or to be answered again), and what the turn needs to know."""
        runtime, principal, action = self.runtime, self.principal, self.action
        with runtime.db.session() as session:
            chat = chats.get(session, principal, chat_id, lock=True)
            chats.check_version(chat, version)
            self.tool_options = _check_options(chat.mode, self.options)
            history = chats.messages(session, chat)
            if action == "edit":
                target = next((m for m in history if m.seq == edit_seq and m.role == "user"), None)
                if target is None:
                    raise BadRequest("only your own messages can be edited")
                chats.truncate(session, chat, target.seq)
                chats.append(session, chat, "user", content)
            elif action == "regenerate":
                last = next((m for m in reversed(history) if m.role == "user"), None)
                if last is None:
                    raise BadRequest("there is nothing to regenerate")
                chats.truncate(session, chat, last.seq + 1)
                content = last.content
            else:
                chats.append(session, chat, "user", content)
            if chat.title == "Neuer Chat" and action != "regenerate":
                chat.title = " ".join(content.split())[:60]
            chats.touch(chat)
            session.flush()
            self.chat_id, self.version, self.mode = chat.id, chat.version, chat.mode
            self.data_class = DataClass.parse(chat.data_class)
            self.model = chat.model
            self.collection = _collection_name(session, chat)
            assistant = session.get(UserAssistant, chat.assistant_id) if chat.assistant_id else None
            self.system = _system_prompt(assistant)
            self.policy = custom.policy(assistant)  # None: the platform's defaults
            self.history = [ChatMessage(cast(Role, m.role), m.content) for m in chats.messages(session, chat)
                            if m.role in ("user", "assistant") and m.status != "error"]
            self.question = content

    # --- preparation (errors here become HTTP problems) --------------------------------------------
    def _ctx(self) -> CallContext:
        use_case = "chat" if self.mode == "chat" else f"tool:{self.mode}"
        return CallContext(principal=self.principal, data_class=self.data_class, use_case=use_case,
                           policy=self.policy)

    def _prepare(self, slot: Slot | None) -> Any:
        if self.mode != "chat" or self.collection:
            return None  # tools and document answers prepare their own model calls
        messages = self._fit([ChatMessage("system", self.system), *self.history])
        return self.runtime.gateway.chat_stream(self._ctx(), messages, model=self.model,
                                                params=ChatParams(temperature=0.3, top_p=0.9), slot=slot)

    def _fit(self, messages: list[ChatMessage]) -> list[ChatMessage]:
        """Keep the system prompt and as many recent messages as fit the model's context."""
        spec = self.runtime.gateway.route(self._ctx(), self.model, "chat").spec
        budget = (spec.context_length - min(spec.max_output_tokens, spec.context_length // 2)) * CHARS_PER_TOKEN
        system, rest = messages[0], messages[1:]
        kept: list[ChatMessage] = []
        used = len(system.content)
        for message in reversed(rest):
            used += len(message.content) + 20
            if kept and used > budget:
                break
            kept.insert(0, message)
        return [system, *kept]

    def close(self) -> None:
        """Free the model's slot and the budget reservation of a turn whose answer never started (client gone)."""
        if self._prepared is not None:
            self._prepared.close()

    # --- streaming -----------------------------------------------------------------------------------
    def events(self) -> Iterator[dict[str, Any]]:
        yield {"type": "start", "chat_id": str(self.chat_id), "version": self.version}
        if self.mode != "chat":
            yield from self._tool()
        elif self.collection:
            yield from self._documents()
        else:
            yield from self._chat()

    def _chat(self) -> Iterator[dict[str, Any]]:
        parts: list[str] = []
        outcome: ChatOutcome | None = None
        status, error = "cancelled", None
        source = self._prepared.events()
        try:
            for event in source:
                if isinstance(event, StreamDelta):
                    parts.append(event.text)
                    yield {"type": "delta", "text": event.text}
                else:
                    outcome = event
            status = "ok"
        except RathausError as exc:
            status, error = "error", exc.detail
            yield {"type": "error", "detail": exc.detail}
        finally:
            source.close()
            meta: dict[str, Any] = {"model": self._prepared.model}
            text = "".join(parts)
            if outcome is not None:
                meta.update(metrics=outcome.metrics.as_dict(), model=outcome.model,
                            rerouted_from=outcome.rerouted_from, finish_reason=outcome.finish_reason,
                            safety=outcome.safety, warnings=outcome.warnings, withheld=outcome.replaced)
                text = outcome.text  # as the user may see it (a withheld answer is the refusal)
            if error:
                meta["error"] = error
            saved = self._save(text, status, meta)
        if status == "ok":
            yield {"type": "final", "message": saved}

    def _documents(self) -> Iterator[dict[str, Any]]:
        from rathaus.assistants.answer import Answerer
        from rathaus.assistants.definitions import Assistant

        assistant = Assistant(
            name="chat-documents", title={"de": "Dokumente", "en": "Documents"}, collections=[self.collection or ""],
            persona="Du beantwortest Fragen zu den Dokumenten, die in diesen Chat hochgeladen wurden.",
            department=self.principal.department, languages=["de", "en", "tr", "ar", "uk", "ru", "pl", "hr", "ro",
                                                              "it", "el"],
            data_class=self.data_class.value, model=self.model,
            abstain_text={"de": "Die hochgeladenen Dokumente enthalten dazu keine verlässliche Information.",
                          "en": "The uploaded documents contain no reliable information on this."},
        )
        answer = None
        for event in Answerer(self.runtime, assistant, self.principal, channel="chat").stream(self.question):
            if event["type"] == "final":
                answer = event["answer"]
            elif event["type"] in ("delta", "sources"):
                yield event
        assert answer is not None
        meta = {"metrics": answer.metrics, "citations": [asdict(c) for c in answer.citations],
                "abstained": answer.abstained, "notice": answer.notice, "phrasing": answer.phrasing}
        yield {"type": "final", "message": self._save(answer.text, "ok", meta)}

    def _tool(self) -> Iterator[dict[str, Any]]:
        try:
            result = TOOLS[self.mode].run(self.runtime, self._ctx(), self.question, model=self.model,
                                          options=self.tool_options)
        except RathausError as exc:
            self._save("", "error", {"error": exc.detail, "tool": self.mode})
            yield {"type": "error", "detail": exc.detail}
            return
        meta = {"tool": self.mode, "metrics": result.metrics, "checks": result.checks, "rounds": result.rounds,
                "fallback": result.fallback, "extra": result.extra, "warnings": result.warnings}
        yield {"type": "final", "message": self._save(result.text, "ok", meta)}

    def _save(self, text: str, status: str, meta: dict[str, Any]) -> dict[str, Any]:
        try:
            with self.runtime.db.session() as session:
                chat = session.get(Chat, self.chat_id, with_for_update=True)
                if chat is None:  # deleted in another tab meanwhile
                    return {}
                message = chats.append(session, chat, "assistant", text, status, meta)
                chats.touch(chat)
                self.version = chat.version
                return message_json(message, chat.version)
        except RathausError:
            return {}


class _ChatOptions(ToolOptions):
    """Plain chat takes no options."""

    tool: ClassVar[str] = "chat"


def _check_options(mode: str, options: dict[str, Any]) -> ToolOptions:
    """The mode's options validated: ones it does not take, or bad values, are refused before anything is saved."""
    if mode == "chat":
        return _ChatOptions.parse({k: v for k, v in options.items() if v is not None})
    return TOOLS[mode].parse(options)


def message_json(message: Any, version: int | None = None) -> dict[str, Any]:
    """A stored message as data; ``content`` is Markdown (the API and the pages add the HTML: ``rathaus.http``)."""
    data = {"seq": message.seq, "role": message.role, "content": message.content, "status": message.status,
            "meta": message.meta, "created_at": message.created_at.isoformat() if message.created_at else None}
    if version is not None:
        data["version"] = version
    return data


def _collection_name(session: Session, chat: Chat) -> str | None:
    if chat.collection_id is None:
        return None
    from rathaus.knowledge import collection_name

    return collection_name(session, chat.collection_id)


def _system_prompt(assistant: UserAssistant | None) -> str:
    if assistant is None:
        return SYSTEM_PROMPT
    return f"{assistant.system_prompt.strip()}\n\n(Du arbeitest für die Stadtverwaltung; erfinde keine Fakten.)"


def new_collection_name() -> str:
    return f"chat-{uuid.uuid4().hex[:16]}"
