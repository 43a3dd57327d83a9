"""The sample inbox of the embedded default: clearly synthetic past requests and e-mails of "Musterstadt"
(samples/inbox/SOURCES.md) – a routing model trained on them, the mails stored and processed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rathaus.core.auth import Principal
from rathaus.inbox import learning, processing
from rathaus.inbox.intake import store_message
from rathaus.inbox.mail import parse_mail
from rathaus.inbox.routing import read_training_csv
from rathaus.inbox.service import taxonomy

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "inbox"


def ensure_samples(runtime: Runtime, principal: Principal) -> dict[str, Any]:
    """Train the sample routing model when none exists, store the sample mails (idempotent), process them."""
    tax = taxonomy(runtime)
    trained = None
    if learning.current_info(runtime) is None:
        rows, _ = read_training_csv(SAMPLES / "past_requests.csv", tax)
        learning.store_examples(runtime, rows, "sample:past_requests.csv")
        trained = learning.train_current(runtime, tax)["model_id"]
    stored = 0
    for path in sorted((SAMPLES / "messages").glob("*.eml")):
        message = parse_mail(path.read_bytes(), mailbox=None)
        stored += store_message(runtime, message, actor=principal).created
    processed = 0
    for message_id in processing.pending(runtime, older_than_seconds=0):
        processing.process(runtime, message_id)
        processed += 1
    return {"trained": trained, "stored": stored, "processed": processed}
