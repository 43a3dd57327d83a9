"""Feedback on an answer only from whoever received it: the answer's feedback token, stored as a hash."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from rathaus.app import create_app
from rathaus.core.errors import PROBLEM_BASE
from rathaus.runtime import Runtime

# an assistant over a collection that does not exist: it abstains with its contacts, without a language model
ASK = "/public/assistants/auslaenderbehoerde/ask"
QUESTION = {"question": "Welche Unterlagen brauche ich für eine Niederlassungserlaubnis?"}


@pytest.fixture
def widget(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def stored_feedback(runtime: Runtime, answer_id: str) -> tuple[int, str | None] | None:
    with runtime.db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT rating, comment FROM assistant_feedback WHERE answer_id = :i"),
                           {"i": answer_id}).one_or_none()
    return tuple(row) if row else None


def assert_refused(resp, answer_id: str) -> None:
    assert resp.status_code == 403, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["type"] == PROBLEM_BASE + "feedback-token-invalid" and answer_id in body["detail"]


def test_only_the_receiver_of_an_answer_can_rate_it(widget: TestClient, runtime: Runtime) -> None:
    answer = widget.post(ASK, json=QUESTION).json()
    answer_id, token = answer["id"], answer["feedback_token"]
    assert answer["abstained"] and len(token) >= 32
    with runtime.db.engine.connect() as conn:
        stored = conn.scalar(sa.text("SELECT feedback_token_hash FROM assistant_answers WHERE id = :i"),
                             {"i": answer_id})
    assert stored == hashlib.sha256(token.encode()).hexdigest()  # only the hash is kept

    url = f"/public/answers/{answer_id}/feedback"
    ok = widget.post(url, json={"rating": 1, "comment": "hilfreich", "token": token})
    assert ok.status_code == 200 and ok.json() == {"answer_id": answer_id, "rating": 1, "stored": True}
    # someone who only knows the id (it is in every start event and in links) cannot overwrite it
    assert_refused(widget.post(url, json={"rating": -1, "comment": "Unsinn"}), answer_id)
    assert_refused(widget.post(url, json={"rating": -1, "comment": "Unsinn", "token": "x" * 32}), answer_id)
    assert_refused(widget.post(url, json={"rating": -1, "token": stored}), answer_id)  # the hash is no token
    assert stored_feedback(runtime, answer_id) == (1, "hilfreich")
    # the receiver may change their mind (the widget sends the comment after the thumb)
    assert widget.post(url, json={"rating": -1, "comment": "doch nicht", "token": token}).status_code == 200
    assert stored_feedback(runtime, answer_id) == (-1, "doch nicht")


def test_a_token_is_valid_for_its_own_answer_only(widget: TestClient, runtime: Runtime) -> None:
    first, second = (widget.post(ASK, json=QUESTION).json() for _ in range(2))
    assert first["feedback_token"] != second["feedback_token"]
    resp = widget.post(f"/public/answers/{second['id']}/feedback", json={"rating": -1,
                                                                        "token": first["feedback_token"]})
    assert_refused(resp, second["id"])
    assert stored_feedback(runtime, second["id"]) is None
    unknown = widget.post(f"/public/answers/{uuid.uuid4()}/feedback", json={"rating": 1, "token": "x"})
    assert unknown.status_code == 404 and unknown.json()["type"] == PROBLEM_BASE + "not-found"


def test_the_streamed_answer_carries_its_token(widget: TestClient, runtime: Runtime) -> None:
    with widget.stream("POST", ASK, json={**QUESTION, "stream": True}) as stream:
        data = [json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:")]
    final = next(d for d in data if d["type"] == "final")["answer"]
    assert all("feedback_token" not in json.dumps(d) for d in data if d["type"] != "final")
    url = f"/public/answers/{final['id']}/feedback"
    assert widget.post(url, json={"rating": 1, "token": final["feedback_token"]}).status_code == 200
    assert stored_feedback(runtime, final["id"]) == (1, None)


def test_signed_in_staff_need_the_token_too(widget: TestClient, runtime: Runtime) -> None:
    """Any signed-in account could overwrite citizens' feedback through the staff route."""
    citizen = widget.post(ASK, json=QUESTION).json()
    widget.post(f"/public/answers/{citizen['id']}/feedback", json={"rating": 1, "token": citizen["feedback_token"]})
    staff_url = f"/api/v1/answers/{citizen['id']}/feedback"
    assert_refused(widget.post(staff_url, json={"rating": -1}), citizen["id"])
    assert stored_feedback(runtime, citizen["id"]) == (1, None)
    own = widget.post("/api/v1/assistants/auslaenderbehoerde/ask", json=QUESTION).json()
    resp = widget.post(f"/api/v1/answers/{own['id']}/feedback", json={"rating": -1, "token": own["feedback_token"]})
    assert resp.status_code == 200 and stored_feedback(runtime, own["id"]) == (-1, None)


def test_answers_from_before_the_tokens_take_no_feedback(widget: TestClient, runtime: Runtime) -> None:
    answer = widget.post(ASK, json=QUESTION).json()
    with runtime.db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE assistant_answers SET feedback_token_hash = NULL WHERE id = :i"),
                     {"i": answer["id"]})
    resp = widget.post(f"/public/answers/{answer['id']}/feedback", json={"rating": 1, "token": ""})
    assert_refused(resp, answer["id"])
    assert_refused(widget.post(f"/public/answers/{answer['id']}/feedback",
                               json={"rating": 1, "token": answer["feedback_token"]}), answer["id"])
