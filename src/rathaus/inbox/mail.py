"""Turn one raw e-mail (RFC 5322 bytes, as IMAP delivers it) into an :class:`IncomingMessage`.

Mail in the wild is often broken: wrong or missing charsets, HTML without a text part, malformed MIME, encrypted
bodies, huge attachments. :func:`parse_mail` never gives up on such a mail: it reads what can be read and says in
``problems`` what was odd, so a case worker sees it. Only bytes that are not an e-mail at all raise
:class:`MailError`.

Charsets: a declared charset is used when it decodes the text; ``iso-8859-1`` and ``us-ascii`` are read as
Windows-1252 as browsers do (mail programs label Windows-1252 text so). Unknown or wrong labels and undeclared 8-bit
text fall back to UTF-8, then Windows-1252, then Latin-1 – the encodings German mail is written in (a statistical
guess is unreliable on texts this short).
"""

from __future__ import annotations

import codecs
import datetime as dt
import email
import email.errors
import hashlib
import mimetypes
import re
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from rathaus.inbox.message import Attachment, IncomingMessage
from rathaus.knowledge import ExtractionError, extract_bytes

__all__ = ["MailError", "MailServerUnavailable", "html_to_text", "parse_mail", "synthetic_message_id"]

DEFAULT_MAX_ATTACHMENT_BYTES = 20_000_000
_MSG_ID = re.compile(r"<[^<>\s]+>")
_PGP_MESSAGE = "-----BEGIN PGP MESSAGE-----"
_LATIN1_LABELS = {"iso8859-1", "ascii"}  # codec names of iso-8859-1 and us-ascii labels: read as cp1252
_ENCRYPTED_SUFFIXES = {".p7m": "S/MIME-encrypted", ".pgp": "PGP-encrypted", ".gpg": "PGP-encrypted",
                       ".asc": "PGP-encrypted"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted OOXML (docx, xlsx) is stored in an OLE container


class MailError(ValueError):
    """Bytes that cannot be read as an e-mail at all; the message is one readable line."""


class MailServerUnavailable(ConnectionError):
    """The IMAP or SMTP server cannot be reached or broke the connection: worth retrying later."""


def synthetic_message_id(raw: bytes) -> str:
    """A stable Message-ID for a mail without one: the same bytes (a refetch) give the same id."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.rathaus.invalid>"


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail body or Zammad article (the knowledge HTML extractor); "" if none."""
    if not html.strip():
        return ""
    try:
        return extract_bytes(html.encode("utf-8"), name="body.html", content_type="text/html; charset=utf-8").text
    except ExtractionError:
        return ""


def parse_mail(raw: bytes, *, mailbox: str | None = None,
               max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES) -> IncomingMessage:
    """Parse ``raw`` into an incoming message of channel ``"mail"``; ``mailbox`` is the department mailbox.

    Attachments larger than ``max_attachment_bytes`` are kept as name, type and a problem only (no data).
    Raises :class:`MailError` for input that is not an e-mail (empty, or no header fields at all).
    """
    if not isinstance(raw, bytes | bytearray):
        raise MailError(f"a mail must be bytes, not {type(raw).__name__}")
    raw = bytes(raw)
    if not raw.strip():
        raise MailError("empty mail: no header fields and no body")
    try:
        msg = email.message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # the parser is lenient; anything it raises means unreadable bytes
        raise MailError(f"not an e-mail: {type(exc).__name__}: {exc}") from None
    if not list(msg.raw_items()):
        raise MailError("not an e-mail: no header fields found before the body")

    problems: list[str] = []
    message_id = _first_msg_id(_header(msg, "Message-ID", problems))
    if message_id is None:
        message_id = synthetic_message_id(raw)
        problems.append("no Message-ID: an id was made from a hash of the mail")
    sender_name, sender_address = _sender(msg, problems)
    subject = " ".join(_header(msg, "Subject", problems).split())
    received_at = _date(msg, problems)
    in_reply_to = _first_msg_id(_header(msg, "In-Reply-To", problems))
    references = _MSG_ID.findall(_header(msg, "References", problems))

    reader = _BodyReader(max_attachment_bytes, problems)
    reader.read(msg)
    body = reader.body()
    problems.extend(_defects(msg))
    if not body.strip():
        problems.append("no text in the mail body" if not reader.encrypted else "body is encrypted: no text")
    return IncomingMessage(
        channel="mail", external_id=message_id, subject=subject, body=body, sender_address=sender_address,
        sender_name=sender_name, received_at=received_at, mailbox=mailbox, in_reply_to=in_reply_to,
        references=references, attachments=reader.attachments, problems=list(dict.fromkeys(problems)),
        meta=_recipients(msg, problems),
    )


# --- headers ---

def _header(msg: Message, name: str, problems: list[str]) -> str:
    """A header as text with RFC 2047 encoded words decoded; the raw value if the structured parser fails."""
    try:
        value = msg.get(name)
        return "" if value is None else _c1_as_cp1252(str(value))
    except Exception:  # policy.default raises on some malformed structured headers
        problems.append(f"malformed {name} header")
    for key, raw_value in msg.raw_items():
        if key.lower() == name.lower():
            try:
                return _c1_as_cp1252(str(make_header(decode_header(str(raw_value)))))
            except (email.errors.HeaderParseError, LookupError, UnicodeError):
                return str(raw_value)
    return ""


_C1 = re.compile(r"[\x80-\x9f]")


def _c1_as_cp1252(text: str) -> str:
    """C1 control characters in decoded text are Windows-1252 bytes mislabelled as ISO-8859-1 (e.g. in RFC 2047
    words): read them as Windows-1252 ("\\x96" is an en dash); the five bytes it leaves undefined stay."""
    def fix(match: re.Match[str]) -> str:
        try:
            return bytes([ord(match.group())]).decode("cp1252")
        except UnicodeDecodeError:
            return match.group()

    return _C1.sub(fix, text)


def _first_msg_id(value: str) -> str | None:
    found = _MSG_ID.search(value)
    if found:
        return found.group(0)
    value = value.strip()
    return f"<{value}>" if value and " " not in value else None


def _sender(msg: Message, problems: list[str]) -> tuple[str | None, str | None]:
    value = _header(msg, "From", problems)
    if not value.strip():
        problems.append("no From header")
        return None, None
    pairs = [(name, addr) for name, addr in getaddresses([value]) if addr or name]
    if not pairs or "@" not in pairs[0][1]:
        problems.append(f"unreadable From header: {value[:80]!r}")
        return (value.strip() or None), None
    name, address = pairs[0]
    return (" ".join(name.split()) or None), address.strip().lower()


def _recipients(msg: Message, problems: list[str]) -> dict[str, str]:
    """The To and Cc addresses (lower case, comma-separated): which department mailbox a mail was sent to."""
    found: dict[str, str] = {}
    for header in ("To", "Cc"):
        value = _header(msg, header, problems)
        addresses = [addr.strip().lower() for _, addr in getaddresses([value]) if "@" in addr]
        if addresses:
            found[header.lower()] = ",".join(addresses)[:1000]
    return found


def _date(msg: Message, problems: list[str]) -> dt.datetime | None:
    value = _header(msg, "Date", problems)
    if not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        problems.append(f"unreadable Date header: {value[:60]!r}")
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _defects(msg: Message) -> list[str]:
    found: list[str] = []
    for part in msg.walk():
        for defect in part.defects:
            doc = (type(defect).__doc__ or "").strip().splitlines()[0].rstrip(".") if type(defect).__doc__ else ""
            found.append(f"malformed MIME: {type(defect).__name__}" + (f" ({doc})" if doc else ""))
    return found


# --- body and attachments ---

class _BodyReader:
    """Walks the MIME tree once: text parts into the body (plain preferred over HTML), files into attachments."""

    def __init__(self, max_attachment_bytes: int, problems: list[str]) -> None:
        self.max_bytes = max_attachment_bytes
        self.problems = problems
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []
        self.encrypted = False

    def body(self) -> str:
        if self.plain:
            return "\n\n".join(t.strip() for t in self.plain if t.strip())
        return "\n\n".join(t for t in (html_to_text(h) for h in self.html) if t.strip())

    def read(self, part: Message) -> None:
        ctype = part.get_content_type()
        if ctype == "multipart/encrypted" or (ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime")
                                              and "signed-data" not in str(part.get_param("smime-type") or "")):
            kind = "PGP/MIME" if ctype == "multipart/encrypted" else "S/MIME"
            self.encrypted = True
            self.problems.append(f"encrypted mail ({kind}): the content cannot be read without the key")
            self._keep_encrypted(part, kind)
            return
        if ctype == "message/rfc822":  # a forwarded mail: an attachment (its text extracted), not our body
            self._attach(part)
            return
        if part.is_multipart():
            if ctype == "multipart/alternative":
                self._read_alternative(part)
            else:
                for sub in _subparts(part):
                    self.read(sub)
            return
        if _is_attachment(part):
            self._attach(part)
            return
        if ctype == "text/plain":
            text = self._text(part)
            if _PGP_MESSAGE in text:
                self.encrypted = True
                self.problems.append("encrypted mail (inline PGP): the content cannot be read without the key")
                return
            self.plain.append(text)
        elif ctype == "text/html":
            self.html.append(self._text(part))
        else:
            self._attach(part)

    def _read_alternative(self, part: Message) -> None:
        """One of the alternatives: the last plain-text one if any (RFC 2046: last is best), else the rest."""
        subs = _subparts(part)
        plain = [s for s in subs if s.get_content_type() == "text/plain" and not _is_attachment(s)]
        if plain:
            self.read(plain[-1])
            for sub in subs:
                if sub.is_multipart():  # e.g. multipart/related with inline images next to the text
                    for inner in _subparts(sub):
                        if inner.get_content_type() not in ("text/plain", "text/html"):
                            self.read(inner)
            return
        for sub in subs:
            self.read(sub)

    def _text(self, part: Message) -> str:
        payload = _payload(part)
        where = f"{part.get_content_type()} part"
        text = decode_text(payload, part.get_content_charset(), self.problems, where)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def _attach(self, part: Message) -> None:
        ctype = part.get_content_type()
        filename = _filename(part, len(self.attachments) + 1)
        if ctype == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            data = inner.as_bytes() if isinstance(inner, Message) else _payload(part)
        else:
            data = _payload(part)
        attachment = Attachment(filename=filename, content_type=ctype, data=data)
        if len(data) > self.max_bytes:
            attachment.data = b""
            attachment.problem = (f"too large ({len(data) / 1_000_000:.1f} MB > "
                                  f"{self.max_bytes / 1_000_000:g} MB): kept as name and type only")
        else:
            attachment.text, attachment.problem = _attachment_text(attachment, self.max_bytes)
        self.attachments.append(attachment)

    def _keep_encrypted(self, part: Message, kind: str) -> None:
        for leaf in (part.walk() if part.is_multipart() else [part]):
            if leaf.is_multipart() or leaf.get_content_type() == "application/pgp-encrypted":
                continue
            data = _payload(leaf)
            if len(data) > self.max_bytes:
                data = b""
            self.attachments.append(Attachment(filename=_filename(leaf, len(self.attachments) + 1),
                                               content_type=leaf.get_content_type(), data=data,
                                               problem=f"encrypted ({kind}): no text"))


def _subparts(part: Message) -> list[Message]:
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _is_attachment(part: Message) -> bool:
    """A file rather than the message text: marked as attachment, or named and not an inline text part."""
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    named = bool(part.get_filename())
    return named and (disposition != "inline" or not part.get_content_type().startswith("text/"))


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding: the raw payload is still worth keeping
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _filename(part: Message, number: int) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        name = str(make_header(decode_header(name))) if "=?" in name else name
        return name.replace("/", "_").replace("\\", "_").strip() or f"attachment-{number}"
    ctype = part.get_content_type()
    ext = ".eml" if ctype == "message/rfc822" else (mimetypes.guess_extension(ctype) or ".bin")
    return f"attachment-{number}{ext}"


def _attachment_text(attachment: Attachment, max_bytes: int) -> tuple[str | None, str | None]:
    """(text, problem) of an attachment: the knowledge extractors for documents, a reason for everything else."""
    name = attachment.filename.lower()
    ctype = attachment.content_type
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    if not attachment.data:
        return None, "empty file"
    if suffix in _ENCRYPTED_SUFFIXES or ctype in ("application/pkcs7-mime", "application/pgp-encrypted"):
        return None, f"encrypted ({_ENCRYPTED_SUFFIXES.get(suffix, 'S/MIME or PGP')}): no text"
    if attachment.data.startswith(b"-----BEGIN PGP MESSAGE-----"):
        return None, "encrypted (PGP-encrypted): no text"
    if suffix in (".docx", ".xlsx", ".pptx") and attachment.data.startswith(_OLE_MAGIC):
        return None, "encrypted Office document (password protected): no text"
    if ctype.startswith("image/"):
        return None, "image: no text extracted (no OCR)"
    if ctype == "message/rfc822":
        try:
            inner = parse_mail(attachment.data, max_attachment_bytes=max_bytes)
        except MailError as exc:
            return None, str(exc)
        return inner.text or None, None if inner.text else "attached mail without text"
    try:
        doc = extract_bytes(attachment.data, name=attachment.filename, content_type=ctype, max_bytes=max_bytes)
    except ExtractionError as exc:
        return None, str(exc)
    return (doc.text or None), ("; ".join(doc.warnings) or None)


def decode_text(payload: bytes, declared: str | None, problems: list[str], where: str = "text") -> str:
    """Decode a text part with its declared charset, falling back (and saying so in ``problems``) when wrong."""
    if declared:
        try:
            codec = codecs.lookup(declared.strip().strip('"'))
        except LookupError:
            text, used = _guess(payload)
            problems.append(f"{where}: unknown charset {declared!r}, read as {used}")
            return text
        if codec.name in _LATIN1_LABELS:
            if payload.isascii():
                return payload.decode("ascii")
            try:
                return payload.decode("cp1252")  # what "iso-8859-1" mails really are (WHATWG does the same)
            except UnicodeDecodeError:
                if codec.name == "iso8859-1":
                    return payload.decode("latin-1")
        else:
            try:
                return payload.decode(codec.name)
            except UnicodeDecodeError:
                pass
        text, used = _guess(payload)
        problems.append(f"{where}: not valid {declared}, read as {used}")
        return text
    if payload.isascii():
        return payload.decode("ascii")
    text, used = _guess(payload)
    problems.append(f"{where}: no charset declared, read as {used}")
    return text


def _guess(payload: bytes) -> tuple[str, str]:
    for encoding in ("utf-8", "windows-1252"):
        try:
            return payload.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return payload.decode("latin-1"), "latin-1"

