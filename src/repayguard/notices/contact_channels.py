"""Channels that write to the borrower in person — an SMS through the lender's gateway, an
e-mail over SMTP — and so need contact details the envelope does not carry.

Each looks the borrower's phone number or address up when it sends, through a
``ContactLookup`` it is given (bootstrap passes the borrowers package's contact book), and
keeps it out of every error it raises: a delivery record, a log line or a bus message shows
that a borrower had no phone number on file or that the server refused the recipient, never
the number or the address (a server's reply is scrubbed before it is quoted).
"""

from __future__ import annotations

import re
import smtplib
import ssl
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Final, Literal

import httpx
import orjson
import phonenumbers

from repayguard import __version__
from repayguard.notices.channels import ChannelError, Envelope
from repayguard.notices.errors import NoticesMisconfigured
from repayguard.platform.clock import Clock
from repayguard.platform.net import is_loopback
from repayguard.platform.redaction import REDACTED, scrub_text

SMS: Final = "sms"
EMAIL: Final = "email"
ELLIPSIS: Final = "…"

ContactLookup = Callable[[str], str | None]
"""A borrower's phone number or e-mail address by borrower id; None when none is on file."""

SmtpSecurity = Literal["starttls", "ssl", "none"]

_ADDRESS: Final = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")
_RETRY_HTTP: Final = frozenset({401, 408, 429})
"""4xx answers worth retrying: our API key refused (the whole channel fails until it is fixed,
and failing every notice at once would help no one), a request timeout, rate limiting."""


def _redacted(text: str, *values: str) -> str:
    """A server's words without the contact they were about: the exact values, anything
    shaped like an e-mail address, phone and ID-number patterns."""
    for value in values:
        if value:
            text = re.sub(re.escape(value), REDACTED, text, flags=re.IGNORECASE)
    return scrub_text(_ADDRESS.sub(REDACTED, text))


def _look_up(lookup: ContactLookup, envelope: Envelope, what: str) -> str:
    """The borrower's ``what``; a borrower without one fails the delivery for good (retrying
    cannot give them one), a lookup that breaks fails the attempt only."""
    try:
        value = lookup(envelope.borrower_id)
    except Exception as exc:  # the exception's text could quote what it read: name its type
        raise ChannelError(
            f"the borrower's {what} could not be read ({type(exc).__name__})"
        ) from exc
    if value is None or not value.strip():
        raise ChannelError(f"borrower has no {what} on file", permanent=True)
    return value.strip()


# -- SMS -----------------------------------------------------------------------------------------


def e164(number: str, *, default_country_code: str | None) -> str:
    """``number`` as the gateway wants it: E.164, ``+`` and the digits. A number written
    without its country (``139…``, ``0770…``, ``06…``) is read as a national number of the
    country ``default_country_code`` calls, by that country's rules (phonenumbers): the UK's
    trunk ``0`` goes, Italy's leading ``0`` stays. ``00`` is read as ``+``. Raises a permanent
    ChannelError (without the number) when that cannot be done."""
    compact = re.sub(r"[\s().-]", "", number)
    written = "+" + compact[2:] if compact.startswith("00") else number
    region = None
    if not written.lstrip().startswith("+"):
        if default_country_code is None:
            raise ChannelError(
                "the phone number on file has no country code and "
                "REPAYGUARD_NOTICES__SMS_DEFAULT_COUNTRY_CODE is not set",
                permanent=True,
            )
        region = phonenumbers.region_code_for_country_code(int(default_country_code))
    try:
        parsed = phonenumbers.parse(written, region)
    except phonenumbers.NumberParseException:
        parsed = None  # its message may quote the number: never raised from here
    # Possible (right length for its country), not "valid": numbering plans gain ranges
    # faster than any copy of their metadata, and the gateway refuses what does not exist.
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise ChannelError("the phone number on file is not a valid phone number", permanent=True)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def sms_text(subject: str, body: str, *, limit: int) -> str:
    """The text of a notice's SMS: the subject, then the body, as plain text. Longer than
    ``limit`` characters it is cut at the last word boundary that fits (between two words,
    or between two characters of a script written without spaces) and ends with '…'; the
    subject comes first so it survives whenever it fits."""
    text = "\n".join(part for part in (subject.strip(), body.strip()) if part)
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    cut = next((i for i in range(room, room // 2, -1) if _boundary(text, i)), room)
    return text[:cut].rstrip() + ELLIPSIS


def _boundary(text: str, i: int) -> bool:
    """Whether cutting ``text`` before index ``i`` splits no word."""
    return not (_in_word(text[i - 1]) and _in_word(text[i]))


def _in_word(char: str) -> bool:
    """Letters and digits of scripts that separate words with spaces (a CJK character is a
    word of its own as far as cutting goes)."""
    return char.isalnum() and unicodedata.east_asian_width(char) not in ("W", "F")


class SmsGatewayChannel:
    """Sends each notice as one SMS through the lender's HTTP SMS gateway.

    ``POST`` JSON ``{"to": <E.164>, "text": <subject and body>, "reference": <delivery id>}``
    (plus ``"sender"`` when configured) with ``Authorization: Bearer <api key>`` and
    ``Idempotency-Key: <delivery id>`` (the same on every retry, so the gateway sends one SMS
    however often it is asked). A 2xx is delivered; 429, 401 (the key), 408, 5xx, a redirect
    (not followed), a timeout or a connection error fail the attempt; any other 4xx fails the
    delivery for good, as does a borrower without a usable phone number.
    """

    name = SMS

    def __init__(
        self,
        *,
        url: str,
        api_key: str,
        phone_of: ContactLookup,
        timeout_seconds: float,
        sender: str | None = None,
        default_country_code: str | None = None,
        max_chars: int = 500,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_key.strip():
            raise NoticesMisconfigured("the sms channel needs the gateway's API key")
        self._url = url
        self._phone_of = phone_of
        self._sender = sender
        self._country = default_country_code
        self._max_chars = max_chars
        self._client = httpx.Client(
            timeout=timeout_seconds,
            follow_redirects=False,
            transport=transport,
            headers={
                "Authorization": f"Bearer {api_key}",
                "User-Agent": f"repayguard/{__version__}",
            },
        )

    def send(self, envelope: Envelope) -> None:
        on_file = _look_up(self._phone_of, envelope, "phone number")
        phone = e164(on_file, default_country_code=self._country)
        payload = {
            "to": phone,
            "text": sms_text(envelope.subject, envelope.body, limit=self._max_chars),
            "reference": envelope.delivery_id,
        }
        if self._sender is not None:
            payload["sender"] = self._sender
        headers = {"Content-Type": "application/json", "Idempotency-Key": envelope.delivery_id}
        try:
            response = self._client.post(self._url, content=orjson.dumps(payload), headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(_redacted(f"{type(exc).__name__}: {exc}", on_file, phone)) from None
        if response.is_success:
            return
        status = response.status_code
        detail = _redacted(f"HTTP {status}: {response.text[:200]}", on_file, phone, phone[1:])
        permanent = 400 <= status < 500 and status not in _RETRY_HTTP
        raise ChannelError(detail, permanent=permanent)

    def close(self) -> None:
        self._client.close()


# -- e-mail --------------------------------------------------------------------------------------


class EmailChannel:
    """Sends each notice as a plain-text e-mail over SMTP, one connection per notice (so
    threads never share one).

    The message has the notice's subject, its body in UTF-8, ``Content-Language`` from its
    locale and a ``Message-ID`` made of the delivery id (the same on every retry: a receiver
    deduplicates by it). A refusal of the session — connecting, STARTTLS, login, whatever the
    code — or a 4xx to the message fails the attempt (retried with backoff); a 5xx to the
    message (the recipient refused, the content rejected) fails the delivery for good, as does
    a borrower without an address.
    """

    name = EMAIL

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: SmtpSecurity,
        sender: str,
        email_of: ContactLookup,
        clock: Clock,
        timeout_seconds: float,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security == "none" and not is_loopback(host):
            raise NoticesMisconfigured(
                "the email channel sends without TLS only to a loopback host",
                hint="set REPAYGUARD_NOTICES__SMTP_SECURITY to starttls or ssl",
            )
        address = parseaddr(sender)[1]
        if "@" not in address:
            raise NoticesMisconfigured("the email channel's From has no address")
        self._host, self._port, self._security = host, port, security
        self._sender, self._from_address = sender, address
        self._domain = address.rpartition("@")[2]
        self._email_of = email_of
        self._clock = clock
        self._timeout = timeout_seconds
        self._login = (username, password or "") if username is not None else None
        # Verifies the server's certificate and name; safe to share between threads.
        self._context = ssl_context or ssl.create_default_context()

    def send(self, envelope: Envelope) -> None:
        address = _look_up(self._email_of, envelope, "e-mail address")
        message = self.compose(envelope, address)
        with self._session(address) as smtp:
            try:
                smtp.send_message(message, from_addr=self._from_address, to_addrs=[address])
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                raise _refusal(code, reply, "refused the recipient", address, final=True) from None
            except smtplib.SMTPResponseException as exc:
                raise _refusal(
                    exc.smtp_code, exc.smtp_error, "refused the message", address, final=True
                ) from None
            except (smtplib.SMTPException, OSError) as exc:
                raise _broken(exc, address) from None

    def compose(self, envelope: Envelope, address: str) -> EmailMessage:
        """The e-mail of one delivery of a notice to ``address``."""
        message = EmailMessage()
        # The content first: setting it drops every Content-* header already there. Base64
        # for any non-ASCII text, so it crosses relays without 8BITMIME intact.
        cte = None if envelope.body.isascii() else "base64"
        message.set_content(envelope.body, charset="utf-8", cte=cte)
        message["Content-Language"] = envelope.locale
        message["From"] = self._sender
        message["To"] = address
        message["Subject"] = " ".join(envelope.subject.split())
        message["Date"] = format_datetime(self._clock.now())
        message["Message-ID"] = f"<{envelope.delivery_id}@{self._domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        message["X-Repayguard-Delivery"] = envelope.delivery_id
        return message

    @contextmanager
    def _session(self, address: str) -> Iterator[smtplib.SMTP]:
        """A connection ready to send: TLS as configured, logged in. Any failure up to here
        is the channel's, not this message's, so it is retried whatever the server said."""
        try:
            smtp = (
                smtplib.SMTP_SSL(
                    self._host, self._port, timeout=self._timeout, context=self._context
                )
                if self._security == "ssl"
                else smtplib.SMTP(self._host, self._port, timeout=self._timeout)
            )
        except (smtplib.SMTPException, OSError) as exc:
            raise _broken(exc, address) from None
        try:
            try:
                if self._security == "starttls":
                    smtp.starttls(context=self._context)
                if self._login is not None:
                    smtp.login(*self._login)
            except (smtplib.SMTPException, OSError) as exc:
                raise _broken(exc, address) from None
            yield smtp
        finally:
            _hang_up(smtp)


def _hang_up(smtp: smtplib.SMTP) -> None:
    """QUIT, or just close: the outcome is already known, a failing goodbye must not change
    it (a message accepted and then reported failed would be sent twice)."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _refusal(
    code: int, reply: bytes | str, what: str, address: str, *, final: bool
) -> ChannelError:
    """A server's refusal; ``final``: a 5xx fails the delivery for good, a 4xx is retried."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    detail = _redacted(f"SMTP {code}: the server {what}: {text[:200]}", address)
    return ChannelError(detail, permanent=final and 500 <= code < 600)


def _broken(exc: Exception, address: str) -> ChannelError:
    """A failure before the message was handed over: retried, whatever the server said."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return _refusal(exc.smtp_code, exc.smtp_error, "refused the session", address, final=False)
    return ChannelError(_redacted(f"{type(exc).__name__}: {exc}", address))
