"""Feedback on answers (helpful / not helpful, a comment), only from whoever received the answer.

Every answer comes with a random ``feedback_token``; the database keeps only its SHA-256 (column
``assistant_answers.feedback_token_hash``). Feedback must present the token, so knowing an answer's id is
not enough to rate it or to overwrite someone else's rating. The token is random per answer rather than an
HMAC of the id: it needs no key that every replica and worker would have to share, and a leaked database
does not yield usable tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects.postgresql import insert

from rathaus.assistants.schema import AnswerRecord, Feedback
from rathaus.core.errors import Forbidden, NotFound

if TYPE_CHECKING:
    from rathaus.runtime import Runtime


class FeedbackNotAllowed(Forbidden):
    code, title = "feedback-token-invalid", "Feedback needs the answer's feedback token"


def new_token() -> tuple[str, str]:
    """(token for the client, hash to store with the answer)."""
    token = secrets.token_urlsafe(24)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def store(runtime: Runtime, answer_id: uuid.UUID, token: str | None, rating: int, comment: str | None) -> dict[str,
          Any]:
    """Store (or replace) the feedback on one answer; NotFound for unknown answers, FeedbackNotAllowed
    without the right token (the stored feedback stays as it was)."""
    with runtime.db.session() as session:
        record = session.get(AnswerRecord, answer_id)
        if record is None:
            raise NotFound(f"no answer {answer_id}")
        stored = record.feedback_token_hash
        if not token or stored is None or not hmac.compare_digest(token_hash(token), stored):
            raise FeedbackNotAllowed(f"feedback on answer {answer_id} needs the feedback_token that came with it")
        stmt = insert(Feedback).values(answer_id=answer_id, rating=rating, comment=comment)
        session.execute(stmt.on_conflict_do_update(index_elements=[Feedback.answer_id],
                                                   set_={"rating": rating, "comment": comment}))
    return {"answer_id": str(answer_id), "rating": rating, "stored": True}
