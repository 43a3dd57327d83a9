"""Prompt-injection defence for text the platform did not write: crawled pages and uploaded documents.

Three tools, used by the evidence selection and the answer pipeline (``rathaus.assistants``):

``scan(text)``
    finds instructions aimed at a language model (German and English): "ignore all previous
    instructions", new roles and personas, requests to reveal the system prompt, developer mode,
    spoofed tool calls, the role markers of common chat templates (ChatML, Llama, Gemma, "### System",
    "System:" at a line start), comments carrying instructions, exfiltration through links and images,
    requests for passwords and keys, and base64-encoded instructions. The patterns run on a *skeleton*
    of the text in which zero-width characters, soft hyphens, Unicode tag characters, homoglyphs
    (Cyrillic/Greek look-alikes, full-width and mathematical letters), NBSP and other spaces, letter
    spacing ("I g n o r e") and emphasis inside words are undone; every hit is mapped back to its span
    in the original text. Each pattern has a weight; a text (or a sentence) counts as an injection when
    the combined weight reaches ``THRESHOLD``. Administrative German addresses citizens with "Sie";
    attacks address the model with "du" or English imperatives — the German patterns lean on that, so
    "Bitte ignorieren Sie dieses Schreiben" is not an attack.

``quote_as_data(text, label)``
    wraps untrusted text in a boundary derived from its own hash (a text cannot contain the hash of
    itself), after removing role markers, invisible characters and anything that looks like the
    boundary. ``DATA_RULE`` is the sentence for the system prompt that says what the boundary means.

``leaks_system_prompt(output, system_prompt)``
    true when a model's output repeats its instructions: a long run of words shared with the system
    prompt, or one of the guard phrases, also when spaced out, hidden with invisible characters or
    base64-encoded.
"""

from __future__ import annotations

from rathaus.safety.injection.findings import THRESHOLD, Finding, InjectionReport, combine
from rathaus.safety.injection.leaks import GUARD_PHRASES, LEAK_NGRAM, leaks_system_prompt
from rathaus.safety.injection.patterns import PATTERNS, Pattern
from rathaus.safety.injection.quoting import (
    DATA_CLOSE,
    DATA_OPEN,
    DATA_RULE,
    DATA_RULES,
    boundary,
    quote_as_data,
    sanitize,
)
from rathaus.safety.injection.scanning import MAX_SCAN_CHARS, flagged_spans, looks_like_injection, scan
from rathaus.safety.injection.skeletons import Skeleton, skeleton

__all__ = [
    "DATA_CLOSE",
    "DATA_OPEN",
    "DATA_RULE",
    "DATA_RULES",
    "GUARD_PHRASES",
    "LEAK_NGRAM",
    "MAX_SCAN_CHARS",
    "PATTERNS",
    "THRESHOLD",
    "Finding",
    "InjectionReport",
    "Pattern",
    "Skeleton",
    "boundary",
    "combine",
    "flagged_spans",
    "leaks_system_prompt",
    "looks_like_injection",
    "quote_as_data",
    "sanitize",
    "scan",
    "skeleton",
]
