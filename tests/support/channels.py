"""Real servers on 127.0.0.1 for the SMS and e-mail channel tests: an HTTP SMS gateway that
records each request and answers scripted statuses, an SMTP server (aiosmtpd) that keeps each
message and answers scripted refusals, and a certificate made at run time for TLS."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# -- the SMS gateway -----------------------------------------------------------------------------


@dataclass
class GatewayRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class SmsGateway:
    """A lender's SMS gateway: answers each request with the next scripted ``(status, body)``
    (then 200), after waiting for ``hold`` to be set when it is given."""

    replies: list[tuple[int, str]] = field(default_factory=list)
    received: list[GatewayRequest] = field(default_factory=list)
    hold: threading.Event | None = None
    url: str = ""

    def answer(self, request: GatewayRequest) -> tuple[int, str]:
        self.received.append(request)
        if self.hold is not None:
            self.hold.wait(10)
        return self.replies.pop(0) if self.replies else (200, '{"status": "queued"}')


@contextmanager
def running_gateway() -> Iterator[SmsGateway]:
    gateway = SmsGateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = gateway.answer(GatewayRequest(self.path, headers, json.loads(raw)))
            payload = body.encode()
            try:
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client stopped waiting (a timeout under test)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/v1/messages"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        if gateway.hold is not None:
            gateway.hold.set()
        server.shutdown()
        server.server_close()
        thread.join()


# -- the SMTP server -----------------------------------------------------------------------------


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class SmtpSink:
    """An SMTP server's handler: refuses recipients with the scripted replies (then accepts)
    and keeps every message it accepts; ``logins`` records who logged in."""

    rcpt_replies: list[str] = field(default_factory=list)
    mails: list[Mail] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    port: int = 0

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        assert envelope.mail_from is not None
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


class _AnyPortController(Controller):
    """aiosmtpd's controller on a port the system picks (it would probe port 0 otherwise)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def running_smtp(
    *,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    credentials: tuple[str, str] | None = None,
) -> Iterator[SmtpSink]:
    """An SMTP server on 127.0.0.1: plain, STARTTLS required (``starttls``) or TLS from the
    start (``implicit_tls``); with ``credentials``, AUTH (over TLS) is required."""
    sink = SmtpSink()
    options: dict[str, Any] = {}
    if starttls is not None:
        options.update(tls_context=starttls, require_starttls=True)
    if implicit_tls is not None:
        options.update(ssl_context=implicit_tls)
    if credentials is not None:

        def authenticator(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            assert isinstance(data, LoginPassword)
            login, password = data.login.decode(), data.password.decode()
            if (login, password) != credentials:
                return AuthResult(success=False, handled=False)
            sink.logins.append(login)
            return AuthResult(success=True)

        options.update(authenticator=authenticator, auth_required=True)
    controller = _AnyPortController(
        sink, hostname="127.0.0.1", port=0, server_hostname="mail.test", **options
    )
    controller.start()
    sink.port = controller.port
    try:
        yield sink
    finally:
        controller.stop()


# -- TLS -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tls:
    """A certificate for 127.0.0.1 made at run time: the server's context, and a client's
    context that trusts it (and nothing else); the PEM files for a server that takes paths."""

    server: ssl.SSLContext
    client: ssl.SSLContext
    cert_file: Path
    key_file: Path


def self_signed(folder: Path) -> Tls:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return Tls(server, client, cert_file, key_file)
