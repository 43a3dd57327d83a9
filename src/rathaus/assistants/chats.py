"""Chats kept on the server: per user, searchable, renamable, deletable (with their documents), exportable.

Every change names the chat's ``version``; a stale version (another browser tab changed the chat) is a
409 Conflict instead of a lost update. A chat belongs to its owner only: other users get 404.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.assistants.chat_schema import Chat, Message
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest, Conflict, NotFound

MODES = ("chat", "summarise", "simplify", "translate", "draft", "brainstorm")
MAX_TITLE = 200


@dataclass
class ChatSummary:
    id: str
    title: str
    mode: str
    data_class: str
    updated_at: str
    messages: int
    has_documents: bool
    snippet: str | None = None


def _uuid(value: str | uuid.UUID) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"no chat {value}") from None


def create(session: Session, principal: Principal, *, title: str | None = None,
           data_class: DataClass = DataClass.INTERN, model: str = "auto", mode: str = "chat",
           assistant_id: uuid.UUID | None = None) -> Chat:
    if mode not in MODES:
        raise BadRequest(f"mode must be one of {', '.join(MODES)}")
    chat = Chat(owner=principal.id, department=principal.department, title=(title or "Neuer Chat")[:MAX_TITLE],
                data_class=data_class.value, model=model, mode=mode, assistant_id=assistant_id)
    session.add(chat)
    session.flush()
    return chat


def get(session: Session, principal: Principal, chat_id: str | uuid.UUID, *, lock: bool = False) -> Chat:
    """The chat if ``principal`` owns it; NotFound for everyone else (no hint that it exists)."""
    stmt = sa.select(Chat).where(Chat.id == _uuid(chat_id), Chat.owner == principal.id)
    if lock:
        stmt = stmt.with_for_update()
    chat = session.scalars(stmt).one_or_none()
    if chat is None:
        raise NotFound(f"no chat {chat_id}")
    return chat


def check_version(chat: Chat, version: int | None) -> None:
    if version is not None and version != chat.version:
        raise Conflict(
            "dieser Chat wurde inzwischen in einem anderen Fenster geändert – bitte neu laden / "
            "this chat was changed in another window; please reload",
            extra={"current_version": chat.version},
        )


def touch(chat: Chat) -> None:
    chat.version += 1
    chat.updated_at = dt.datetime.now(dt.UTC)


def rename(session: Session, principal: Principal, chat_id: str, title: str, version: int | None) -> Chat:
    title = " ".join(title.split())
    if not title:
        raise BadRequest("the title is empty")
    chat = get(session, principal, chat_id, lock=True)
    check_version(chat, version)
    chat.title = title[:MAX_TITLE]
    touch(chat)
    return chat


def messages(session: Session, chat: Chat) -> list[Message]:
    return list(session.scalars(sa.select(Message).where(Message.chat_id == chat.id).order_by(Message.seq)))


def append(session: Session, chat: Chat, role: str, content: str, status: str = "ok",
           meta: dict[str, Any] | None = None) -> Message:
    seq = (session.scalar(sa.select(sa.func.max(Message.seq)).where(Message.chat_id == chat.id)) or 0) + 1
    message = Message(chat_id=chat.id, seq=seq, role=role, content=content.replace("\x00", ""), status=status,
                      meta=meta or {})
    session.add(message)
    session.flush()
    return message


def truncate(session: Session, chat: Chat, from_seq: int) -> None:
    """Drop the messages from ``from_seq`` on (edit-and-resend, regenerate)."""
    session.execute(sa.delete(Message).where(Message.chat_id == chat.id, Message.seq >= from_seq))


def search(session: Session, principal: Principal, query: str | None = None, limit: int = 50,
           offset: int = 0) -> list[ChatSummary]:
    """The user's chats, newest first; with ``query`` those whose title or messages match (German full text)."""
    counts = (sa.select(Message.chat_id, sa.func.count().label("n")).group_by(Message.chat_id).subquery())
    stmt = (sa.select(Chat, sa.func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.chat_id == Chat.id)
            .where(Chat.owner == principal.id).order_by(Chat.updated_at.desc()).limit(limit).offset(offset))
    snippets: dict[uuid.UUID, str] = {}
    if query and query.strip():
        q = sa.func.plainto_tsquery("german", query)
        hits = sa.select(Message.chat_id).where(Message.tsv.op("@@")(q))
        stmt = stmt.where(sa.or_(Chat.id.in_(hits), Chat.title.ilike(f"%{_like(query)}%", escape="\\")))
        for chat_id, content in session.execute(
            sa.select(Message.chat_id, Message.content).join(Chat, Chat.id == Message.chat_id)
            .where(Chat.owner == principal.id, Message.tsv.op("@@")(q)).order_by(Message.seq)
        ):
            snippets.setdefault(chat_id, " ".join(content.split())[:160])
    return [
        ChatSummary(id=str(chat.id), title=chat.title, mode=chat.mode, data_class=chat.data_class,
                    updated_at=chat.updated_at.isoformat(), messages=int(n),
                    has_documents=chat.collection_id is not None, snippet=snippets.get(chat.id))
        for chat, n in session.execute(stmt)
    ]


def _like(text: str) -> str:
    return text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def delete(session: Session, principal: Principal, chat_id: str) -> dict[str, int]:
    """Delete a chat with its messages and its uploaded documents, chunks and vectors."""
    from rathaus.knowledge import delete_collections

    chat = get(session, principal, chat_id, lock=True)
    counts = {"messages": session.scalar(sa.select(sa.func.count()).where(Message.chat_id == chat.id)) or 0,
              "documents": 0, "chunks": 0}
    if chat.collection_id is not None:
        counts.update(delete_collections(session, [chat.collection_id]))
    session.delete(chat)
    session.flush()
    return counts


def purge_expired(session: Session, days: int) -> int:
    """Retention: delete chats (with their documents) untouched for ``days`` days."""
    from rathaus.knowledge import delete_collections

    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    expired = session.execute(sa.select(Chat.id, Chat.collection_id).where(Chat.updated_at < cutoff)).all()
    delete_collections(session, [c for _, c in expired if c is not None])
    if expired:
        session.execute(sa.delete(Chat).where(Chat.id.in_([i for i, _ in expired])))
    return len(expired)


def export(session: Session, principal: Principal, chat_id: str, fmt: str) -> tuple[str, str]:
    """(content, media type) of a chat as Markdown or JSON."""
    chat = get(session, principal, chat_id)
    rows = messages(session, chat)
    if fmt == "json":
        data = {
            "id": str(chat.id), "title": chat.title, "mode": chat.mode, "data_class": chat.data_class,
            "model": chat.model, "created_at": chat.created_at.isoformat(), "updated_at": chat.updated_at.isoformat(),
            "messages": [{"seq": m.seq, "role": m.role, "content": m.content, "status": m.status,
                          "created_at": m.created_at.isoformat(), "meta": m.meta} for m in rows],
        }
        return json.dumps(data, ensure_ascii=False, indent=2), "application/json"
    if fmt != "md":
        raise BadRequest("format must be md or json")
    lines = [f"# {chat.title}", "", f"*{chat.created_at:%d.%m.%Y %H:%M} · Schutzklasse {chat.data_class} · "
             f"Modus {chat.mode}*", ""]
    for m in rows:
        who = "**Sie**" if m.role == "user" else "**Assistent**"
        lines += [f"### {who}", "", m.content, ""]
        for c in (m.meta or {}).get("citations", []):
            lines.append(f"> [{c['n']}] {c['title']}: „{c['quote']}“")
        if m.role == "assistant" and m.meta.get("metrics"):
            x = m.meta["metrics"]
            lines += ["", f"<sub>{x.get('total_tokens', 0)} Token · {x.get('cost_eur', 0):.6f} € · "
                      f"{x.get('energy_wh', 0):.4f} Wh · {x.get('gco2e', 0):.4f} g CO₂e</sub>", ""]
    return "\n".join(lines), "text/markdown; charset=utf-8"
