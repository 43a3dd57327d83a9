"""Real mail servers on loopback for the channel tests: Dovecot (IMAP) and aiosmtpd (SMTP). No mocks.

``dovecot`` starts a private Dovecot instance with its own configuration in a temporary directory (plain IMAP on
127.0.0.1 and a free port, one passwd-file user, Maildir storage, log file) as ``dovecot -F -c FILE`` and stops it
after the test. It is skipped with a reason when ``/usr/sbin/dovecot`` is missing (Debian package
``dovecot-imapd``; scripts/test installs it). Run as root, Dovecot refuses to run its login processes as root,
so the instance uses the package's unprivileged users (``dovenull`` for logins, ``dovecot`` for the rest and the
mail files); run as anyone else, everything runs as that user.

``smtp_server`` runs aiosmtpd with a handler that collects every delivered message and refuses recipients whose
local part starts with ``refused`` (550) or ``busy`` (451, temporary).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

DOVECOT = Path("/usr/sbin/dovecot")
USER = "amt-test"
PASSWORD = "s3cret-test-only"  # a throwaway account of a throwaway server


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost, and a client context that trusts only it."""

    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def make_tls_files(directory: Path) -> TlsFiles:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rathaus test mail server")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    files = TlsFiles(cert=directory / "cert.pem", key=directory / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    files.key.chmod(0o600)
    return files


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0, process: subprocess.Popen[bytes] | None = None,
                  log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            if sock.recv(512):  # the greeting: the server is ready (and its login process is not left waiting)
                return
        time.sleep(0.05)
    details = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"server on port {port} did not start\n{details}")


@dataclass
class DovecotServer:
    """A running private Dovecot; ``stop()``/``start()`` take it down and up again (same port and mail)."""

    root: Path
    port: int
    tls_port: int | None = None  # implicit TLS (imaps), when started with a certificate
    user: str = USER
    password: str = PASSWORD
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    host = "127.0.0.1"

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log(self) -> Path:
        return self.root / "dovecot.log"

    def start(self) -> None:
        self.process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=(self.root / "stderr.log").open("wb"))
        wait_for_port(self.port, process=self.process, log=self.log)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def client(self) -> Any:
        """A logged-in IMAPClient (for delivering and inspecting messages in tests)."""
        from imapclient import IMAPClient

        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX", flags: tuple[bytes, ...] = ()) -> None:
        """Put a message into the mailbox by IMAP APPEND, as a mail server's delivery would."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, flags=flags)

    def flags(self, folder: str = "INBOX") -> dict[bytes, set[bytes]]:
        """Message-ID header → flags of every message in ``folder`` (read without setting \\Seen)."""
        with self.client() as client:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            data = client.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
        out: dict[bytes, set[bytes]] = {}
        for item in data.values():
            header = next(v for k, v in item.items() if k.startswith(b"BODY[HEADER"))
            out[header.split(b":", 1)[1].strip()] = set(item[b"FLAGS"]) - {b"\\Recent"}
        return out


def _dovecot_config(root: Path, port: int, internal: str, login: str, mail_uid: int, mail_gid: int,
                    tls: TlsFiles | None = None, tls_port: int = 0, capabilities: str | None = None) -> str:
    ssl_lines = f"ssl = yes\nssl_cert = <{tls.cert}\nssl_key = <{tls.key}\n" if tls else "ssl = no\n"
    # a replaced capability list also logs what the client did to the mail (mail_log plugin): tests read in
    # dovecot.log whether a message was flagged \Deleted and expunged (COPY path) rather than MOVEd
    capability_lines = (f"imap_capability = {capabilities}\nmail_plugins = $mail_plugins mail_log notify\n"
                        "plugin {\n  mail_log_events = copy expunge flag_change\n  mail_log_fields = uid box "
                        "msgid flags\n}\n") if capabilities else ""
    return f"""\
{capability_lines}protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = rathaus-test-{port}
log_path = {root}/dovecot.log
{ssl_lines}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = {mail_uid}
last_valid_uid = 0
mail_location = maildir:{root}/mail/%u
mail_uid = {mail_uid}
mail_gid = {mail_gid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


#: what Dovecot 2.3 offers after login, without MOVE (RFC 6851) – an older or minimal server
CAPABILITIES_WITHOUT_MOVE = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT THREAD=REFERENCES MULTIAPPEND "
                             "UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 ESEARCH LIST-STATUS "
                             "LITERAL+")
#: ... and without UIDPLUS (RFC 4315: no UID EXPUNGE either)
CAPABILITIES_WITHOUT_MOVE_OR_UIDPLUS = CAPABILITIES_WITHOUT_MOVE.replace(" UIDPLUS", "")


def start_dovecot(tls: TlsFiles | None = None, capabilities: str | None = None) -> DovecotServer:
    """A private Dovecot; ``capabilities`` replaces what it announces after login (``imap_capability``) and turns
    on the mail_log plugin (copies, expunges and flag changes in dovecot.log)."""
    if not DOVECOT.exists():
        pytest.skip(f"{DOVECOT} is missing: install Debian's dovecot-imapd (scripts/test does) for the IMAP tests")
    root = Path(tempfile.mkdtemp(prefix="rathaus-dovecot-"))
    if os.geteuid() == 0:
        try:
            internal, login = pwd.getpwnam("dovecot"), pwd.getpwnam("dovenull")
        except KeyError:
            pytest.skip("running as root needs the users 'dovecot' and 'dovenull' (created by dovecot-imapd)")
        mail_uid, mail_gid = internal.pw_uid, internal.pw_gid
        root.chmod(0o755)  # the login and mail processes run as those users and must reach their files
    else:
        me = pwd.getpwuid(os.geteuid())
        internal = login = me
        mail_uid, mail_gid = me.pw_uid, me.pw_gid
    (root / "mail").mkdir()
    (root / "state").mkdir()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    if os.geteuid() == 0:
        os.chown(root / "mail", mail_uid, mail_gid)
    port = free_port()
    tls_port = free_port() if tls else 0
    (root / "dovecot.conf").write_text(
        _dovecot_config(root, port, internal.pw_name, login.pw_name, mail_uid, mail_gid, tls, tls_port,
                        capabilities))
    server = DovecotServer(root=root, port=port, tls_port=tls_port or None)
    server.start()
    return server


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    yield from _running(start_dovecot())


@pytest.fixture
def dovecot_without_move() -> Iterator[DovecotServer]:
    """Dovecot announcing neither MOVE nor UIDPLUS after login."""
    yield from _running(start_dovecot(capabilities=CAPABILITIES_WITHOUT_MOVE_OR_UIDPLUS))


@pytest.fixture
def dovecot_without_move_with_uidplus() -> Iterator[DovecotServer]:
    """Dovecot announcing UIDPLUS but not MOVE."""
    yield from _running(start_dovecot(capabilities=CAPABILITIES_WITHOUT_MOVE))


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path)


@pytest.fixture
def dovecot_tls(tls_files: TlsFiles) -> Iterator[DovecotServer]:
    """Dovecot with the test certificate: STARTTLS on ``port``, implicit TLS on ``tls_port``."""
    yield from _running(start_dovecot(tls_files))


def _running(server: DovecotServer) -> Iterator[DovecotServer]:
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


# --- SMTP ---

@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[EmailMessage]
    envelopes: list[tuple[str, list[str]]]  # (MAIL FROM, RCPT TO) of every delivery
    controller: Any = field(repr=False, default=None)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class _CollectingHandler:
    """aiosmtpd handler: refuses some recipients, keeps every message it accepts."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        local = address.split("@", 1)[0].lower()
        if local.startswith("refused"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.server.messages.append(message)
        self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    yield from _smtp(None)


@pytest.fixture
def smtp_server_tls(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """aiosmtpd offering (and requiring) STARTTLS with the test certificate."""
    yield from _smtp(tls_files)


def _smtp(tls: TlsFiles | None) -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    server = SmtpServer(host="127.0.0.1", port=free_port(), messages=[], envelopes=[])
    options: dict[str, Any] = {"tls_context": tls.server_context(), "require_starttls": True} if tls else {}
    controller = Controller(_CollectingHandler(server), hostname=server.host, port=server.port, **options)
    controller.start()
    server.controller = controller
    try:
        yield server
    finally:
        server.stop()
