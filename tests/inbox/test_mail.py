"""parse_mail on hand-written raw mails: headers, charsets, HTML-only, malformed MIME, attachments, encryption."""

from __future__ import annotations

import base64
import datetime as dt
import io
from pathlib import Path

import pytest

from rathaus.inbox.mail import MailError, decode_text, parse_mail, synthetic_message_id

LIMIT = 5_000_000


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("ascii")


def pdf_bytes(tmp_path: Path, line: str, **kwargs: object) -> bytes:
    from reportlab.pdfgen import canvas

    path = tmp_path / "a.pdf"
    c = canvas.Canvas(str(path), invariant=1, **kwargs)
    c.setFont("Helvetica", 11)
    c.drawString(72, 760, line)
    c.showPage()
    c.save()
    return path.read_bytes()


def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


PLAIN = crlf("""\
Return-Path: <anna.beispiel@example.org>
From: =?utf-8?q?Anna_M=C3=BCller-Beispiel?= <Anna.Beispiel@Example.org>
To: Sozialamt <sozialamt@stadt.example>
Subject: =?iso-8859-1?q?Antrag_auf_Wohngeld_=96_R=FCckfrage?=
Date: Tue, 04 Mar 2025 09:15:00 +0100
Message-ID: <20250304091500.4711@mail.example.org>
In-Reply-To: <reply-1@stadt.example>
References: <first@stadt.example>
 <reply-1@stadt.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

""") + "Sehr geehrte Damen und Herren,\r\nwann wird über meinen Antrag entschieden?\r\nGrüße\r\n".encode()


def test_plain_mail_headers_and_body() -> None:
    msg = parse_mail(PLAIN, mailbox="sozialamt", max_attachment_bytes=LIMIT)
    assert msg.channel == "mail"
    assert msg.external_id == "<20250304091500.4711@mail.example.org>"
    assert msg.sender_name == "Anna Müller-Beispiel"
    assert msg.sender_address == "anna.beispiel@example.org"
    assert msg.subject == "Antrag auf Wohngeld – Rückfrage"  # RFC 2047 in ISO-8859-1 with a cp1252 dash
    assert msg.received_at == dt.datetime(2025, 3, 4, 8, 15, tzinfo=dt.UTC)
    assert msg.in_reply_to == "<reply-1@stadt.example>"
    assert msg.references == ["<first@stadt.example>", "<reply-1@stadt.example>"]
    assert msg.body == "Sehr geehrte Damen und Herren,\nwann wird über meinen Antrag entschieden?\nGrüße"
    assert msg.mailbox == "sozialamt"
    assert msg.attachments == []
    assert msg.problems == []


def test_missing_message_id_is_synthesised_stably() -> None:
    raw = crlf("From: a@example.org\nSubject: ohne Kennung\n\nText\n")
    first = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    again = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert first.external_id == again.external_id == synthetic_message_id(raw)
    assert first.external_id.endswith("@no-message-id.rathaus.invalid>")
    assert parse_mail(raw + b"x", mailbox=None, max_attachment_bytes=LIMIT).external_id != first.external_id
    assert "no Message-ID: an id was made from a hash of the mail" in first.problems
    assert first.received_at is None


def test_message_id_without_angle_brackets_is_normalised() -> None:
    raw = crlf("From: a@example.org\nMessage-ID: abc.123@host.example\nSubject: x\n\nText\n")
    assert parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT).external_id == "<abc.123@host.example>"


def test_html_only_mail_becomes_text() -> None:
    raw = crlf("""\
From: Bernd <bernd@example.org>
Message-ID: <html-1@example.org>
Subject: Nur HTML
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><style>p {color: red}</style><script>alert(1)</script></head>
<body><p>Guten Tag,</p><p>die Stra&szlig;enlaterne in der <b>Hauptstra&szlig;e 5</b> ist defekt.</p></body></html>
""")
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == "Guten Tag,\n\ndie Straßenlaterne in der Hauptstraße 5 ist defekt."
    assert "alert" not in msg.body and "color" not in msg.body
    assert msg.problems == []


def test_alternative_prefers_plain_text() -> None:
    raw = crlf("""\
From: c@example.org
Message-ID: <alt@example.org>
Subject: Alternativ
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

Plain version.
--b1
Content-Type: text/html; charset=us-ascii

<p>HTML version.</p>
--b1--
""")
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == "Plain version."
    assert msg.attachments == []


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [("ISO-8859-1", "latin-1"), ("windows-1252", "cp1252"), ("iso-8859-15", "iso-8859-15")],
)
def test_declared_legacy_charsets(charset: str, encoding: str) -> None:
    text = "Bitte überweisen Sie 35 € bis zum 3. März."
    if encoding == "latin-1":
        text = text.replace("€", "EUR")
    raw = crlf(f"From: d@example.org\nMessage-ID: <cs@example.org>\nSubject: x\nMIME-Version: 1.0\n"
               f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n") + \
        text.encode(encoding)
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == text
    assert msg.problems == []


def test_iso_8859_1_label_on_windows_1252_text_reads_the_dashes_and_quotes() -> None:
    payload = "„Anführungszeichen“ – und 20 €".encode("cp1252")
    raw = crlf("From: e@example.org\nMessage-ID: <mislabel@example.org>\nSubject: x\nMIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n") + payload
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == "„Anführungszeichen“ – und 20 €"


def test_missing_charset_with_8bit_text_falls_back_and_says_so() -> None:
    raw = crlf("From: f@example.org\nMessage-ID: <nocs@example.org>\nSubject: x\nMIME-Version: 1.0\n"
               "Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n") + "Größe: 3 m²".encode("cp1252")
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == "Größe: 3 m²"
    assert msg.problems == ["text/plain part: no charset declared, read as windows-1252"]


def test_unknown_and_wrong_charsets_fall_back() -> None:
    raw = crlf("From: g@example.org\nMessage-ID: <unk@example.org>\nSubject: x\nMIME-Version: 1.0\n"
               "Content-Type: text/plain; charset=x-unknown-8bit\nContent-Transfer-Encoding: 8bit\n\n") + \
        "Müll".encode()
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == "Müll"
    assert msg.problems == ["text/plain part: unknown charset 'x-unknown-8bit', read as utf-8"]

    wrong = raw.replace(b"x-unknown-8bit", b"utf-8").replace("Müll".encode(), "Müll".encode("cp1252"))
    msg = parse_mail(wrong, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == "Müll"
    assert msg.problems == ["text/plain part: not valid utf-8, read as windows-1252"]


def test_decode_text_last_resort_is_latin1() -> None:
    problems: list[str] = []
    assert decode_text(b"\x81\xe4", "utf-8", problems) == "\x81ä"
    assert problems == ["text: not valid utf-8, read as latin-1"]


def test_malformed_mime_is_read_and_defects_noted() -> None:
    raw = crlf("""\
From: h@example.org
Message-ID: <broken@example.org>
Subject: kaputt
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="never-closed"

--never-closed
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

SGFsbG8gV2VsdA=
""")
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body.startswith("Hallo Welt")
    assert any(p.startswith("malformed MIME: CloseBoundaryNotFoundDefect") for p in msg.problems)
    assert any(p.startswith("malformed MIME: InvalidBase64PaddingDefect") for p in msg.problems)


def test_multipart_without_boundary_and_bad_headers_do_not_crash() -> None:
    raw = crlf("""\
From: "unclosed <nobody
Date: the day after tomorrow
Message-ID: <nob@example.org>
Subject: x
MIME-Version: 1.0
Content-Type: multipart/mixed

Just some text.
""")
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.received_at is None
    assert "unreadable Date header: 'the day after tomorrow'" in msg.problems
    assert msg.sender_address is None
    assert any(p.startswith("unreadable From header") for p in msg.problems)
    assert any("NoBoundaryInMultipartDefect" in p for p in msg.problems)


def test_mail_without_text() -> None:
    raw = crlf("From: i@example.org\nMessage-ID: <empty@example.org>\nSubject: (kein Betreff)\n\n")
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == ""
    assert msg.problems == ["no text in the mail body"]


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\x00\x01\x02\xff binary garbage without headers"])
def test_not_a_mail_raises_mail_error(raw: bytes) -> None:
    with pytest.raises(MailError) as info:
        parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(("empty mail", "not an e-mail"))


def with_attachments(*parts: tuple[str, str, bytes]) -> bytes:
    """A multipart/mixed mail with a text part and (filename, content type, data) attachments."""
    out = crlf("From: j@example.org\nMessage-ID: <att@example.org>\nSubject: Anlagen\nMIME-Version: 1.0\n"
               'Content-Type: multipart/mixed; boundary="XYZ"\n\n--XYZ\n'
               "Content-Type: text/plain; charset=utf-8\n\nAnbei die Unterlagen.\n")
    for name, ctype, data in parts:
        out += crlf(f'--XYZ\nContent-Type: {ctype}; name="{name}"\nContent-Transfer-Encoding: base64\n'
                    f'Content-Disposition: attachment; filename="{name}"\n\n') + b64(data)
    return out + b"--XYZ--\r\n"


def test_attachments_pdf_docx_image_are_kept_with_text(tmp_path: Path) -> None:
    pdf = pdf_bytes(tmp_path, "Einkommensnachweis für März 2025")
    docx = docx_bytes("Mietvertrag über die Wohnung im zweiten Stock")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    raw = with_attachments(("nachweis.pdf", "application/pdf", pdf),
                           ("mietvertrag.docx",
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx),
                           ("foto.png", "image/png", png))
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == "Anbei die Unterlagen."
    assert [a.filename for a in msg.attachments] == ["nachweis.pdf", "mietvertrag.docx", "foto.png"]
    by_name = {a.filename: a for a in msg.attachments}
    assert by_name["nachweis.pdf"].data == pdf
    assert by_name["nachweis.pdf"].text == "Einkommensnachweis für März 2025"
    assert by_name["nachweis.pdf"].problem is None
    assert by_name["mietvertrag.docx"].text == "Mietvertrag über die Wohnung im zweiten Stock"
    assert by_name["foto.png"].data == png
    assert by_name["foto.png"].text is None
    assert by_name["foto.png"].problem == "image: no text extracted (no OCR)"
    assert msg.problems == []


def test_encrypted_and_broken_attachments_are_problems(tmp_path: Path) -> None:
    secret_pdf = pdf_bytes(tmp_path, "Vertraulich", encrypt="geheim")
    encrypted_docx = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    raw = with_attachments(("geheim.pdf", "application/pdf", secret_pdf),
                           ("geheim.docx", "application/octet-stream", encrypted_docx),
                           ("kaputt.pdf", "application/pdf", b"%PDF-1.4\nnot really"),
                           ("daten.bin", "application/octet-stream", b"\x00\x01\x02" * 10))
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    problems = {a.filename: a.problem for a in msg.attachments}
    assert problems["geheim.pdf"] == "encrypted PDF (password protected)"
    assert problems["geheim.docx"] == "encrypted Office document (password protected): no text"
    assert (problems["kaputt.pdf"] or "").startswith("not a readable PDF")
    assert (problems["daten.bin"] or "").startswith("unsupported file type .bin")
    assert all(a.text is None and a.data for a in msg.attachments)


def test_attachment_over_the_limit_is_metadata_only() -> None:
    big = b"%PDF-1.4\n" + b"0" * 3_000_000
    msg = parse_mail(with_attachments(("scan.pdf", "application/pdf", big)), mailbox=None,
                     max_attachment_bytes=1_000_000)
    (attachment,) = msg.attachments
    assert attachment.filename == "scan.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.data == b""
    assert attachment.text is None
    assert attachment.problem == "too large (3.0 MB > 1 MB): kept as name and type only"


def test_encoded_attachment_filename_and_forwarded_mail() -> None:
    inner = crlf("From: k@example.org\nMessage-ID: <inner@example.org>\nSubject: Urspruengliche Nachricht\n\n"
                 "Der Bauantrag liegt vor.\n")
    raw = crlf("From: l@example.org\nMessage-ID: <fwd@example.org>\nSubject: Fwd\nMIME-Version: 1.0\n"
               'Content-Type: multipart/mixed; boundary="F"\n\n--F\nContent-Type: text/plain\n\nSiehe unten.\n'
               "--F\nContent-Type: text/plain; charset=utf-8\nContent-Disposition: attachment;"
               " filename*=utf-8''Antr%C3%A4ge.txt\n\nListe der Antraege\n"
               + "--F\nContent-Type: message/rfc822\n\n") + inner + b"--F--\r\n"
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == "Siehe unten."
    names = [a.filename for a in msg.attachments]
    assert names == ["Anträge.txt", "attachment-2.eml"]
    assert msg.attachments[0].text == "Liste der Antraege"
    assert msg.attachments[1].text == "Urspruengliche Nachricht\n\nDer Bauantrag liegt vor."


def test_pgp_mime_encrypted_body() -> None:
    raw = crlf("""\
From: m@example.org
Message-ID: <pgp@example.org>
Subject: verschluesselt
MIME-Version: 1.0
Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="P"

--P
Content-Type: application/pgp-encrypted

Version: 1
--P
Content-Type: application/octet-stream; name="encrypted.asc"

-----BEGIN PGP MESSAGE-----
hQEMA0ExampleExampleExample
-----END PGP MESSAGE-----
--P--
""")
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == ""
    assert msg.problems == ["encrypted mail (PGP/MIME): the content cannot be read without the key",
                            "body is encrypted: no text"]
    (attachment,) = msg.attachments
    assert attachment.filename == "encrypted.asc"
    assert attachment.problem == "encrypted (PGP/MIME): no text"
    assert attachment.data.startswith(b"-----BEGIN PGP MESSAGE-----")


def test_smime_encrypted_body_and_inline_pgp() -> None:
    smime = crlf("From: n@example.org\nMessage-ID: <smime@example.org>\nSubject: x\nMIME-Version: 1.0\n"
                 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\n'
                 "Content-Transfer-Encoding: base64\n\n") + b64(b"\x30\x80\x06\x09binary-cms")
    msg = parse_mail(smime, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.problems[0] == "encrypted mail (S/MIME): the content cannot be read without the key"
    assert msg.attachments[0].filename == "smime.p7m"
    assert msg.attachments[0].problem == "encrypted (S/MIME): no text"

    inline = crlf("From: o@example.org\nMessage-ID: <inl@example.org>\nSubject: x\n\n"
                  "-----BEGIN PGP MESSAGE-----\nhQEMA0Example\n-----END PGP MESSAGE-----\n")
    msg = parse_mail(inline, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == ""
    assert msg.problems == ["encrypted mail (inline PGP): the content cannot be read without the key",
                            "body is encrypted: no text"]


def test_signed_mail_is_read_normally() -> None:
    raw = crlf("""\
From: p@example.org
Message-ID: <signed@example.org>
Subject: signiert
MIME-Version: 1.0
Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="S"

--S
Content-Type: text/plain; charset=utf-8

Signierter Text.
--S
Content-Type: application/pkcs7-signature; name="smime.p7s"
Content-Disposition: attachment; filename="smime.p7s"
Content-Transfer-Encoding: base64

MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAA==
--S--
""")
    msg = parse_mail(raw, mailbox=None, max_attachment_bytes=LIMIT)
    assert msg.body == "Signierter Text."
    assert [a.filename for a in msg.attachments] == ["smime.p7s"]
    assert msg.attachments[0].problem is not None  # a signature has no text, and says why
    assert msg.problems == []
