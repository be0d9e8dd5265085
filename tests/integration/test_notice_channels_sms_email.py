"""The SMS and e-mail channels against real servers on 127.0.0.1 — an HTTP SMS gateway and an
SMTP server (aiosmtpd) — and through the real delivery path: a borrower's profile decrypted
by the contact book, the worker retrying both until they accept, no contact detail in any
error."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from repayguard import notices
from repayguard.api.app import create_app
from repayguard.bootstrap import Container
from repayguard.borrowers import (
    Contact,
    ContactBook,
    ReadProfile,
    RotateKeys,
    SaveProfile,
    read_profile,
    rotate_keys,
    save_profile,
)
from repayguard.config import Settings
from repayguard.notices import ChannelError, EmailChannel, Envelope, SmsGatewayChannel
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.crypto import Keyring

from support.channels import SmsGateway, SmtpSink, running_gateway, running_smtp, self_signed
from support.common import NOW
from support.notices import failed_debits, inbox, ingest, notice_settings, one_pass, open_container
from support.privacy import install, make_privacy

PHONE, E164 = "139 1234 5678", "+8613912345678"
ADDRESS = "wang.xiaoming@example.cn"
SENDER = "Lender Notices <notices@lender.example>"
SUBJECT = "您的提前还款方式将受到限制"
BODY = (
    "自2026年3月15日起，提前还款将受到限制。\n原因：近期多次自动扣款失败。\n如有疑问，请联系客服。"
)


def envelope(**overrides: Any) -> Envelope:
    fields: dict[str, Any] = {
        "delivery_id": secrets.token_hex(16),
        "notice_id": secrets.token_hex(16),
        "borrower_id": "B1",
        "kind": "advance",
        "locale": "zh-CN",
        "subject": SUBJECT,
        "body": BODY,
        "reasons": ("REPEATED_FAILED_DEBITS",),
        "effective_at": NOW + timedelta(days=14),
        "created_at": NOW,
    }
    return Envelope(**{**fields, **overrides})


def on_file(**contacts: str) -> notices.ContactLookup:
    """Contact details by borrower id, as a contact book would return them."""
    return contacts.get


# -- SMS -----------------------------------------------------------------------------------------


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    with running_gateway() as running:
        yield running


@pytest.fixture
def api_key() -> str:
    return secrets.token_urlsafe(24)


def sms(gateway: SmsGateway, api_key: str, **options: Any) -> SmsGatewayChannel:
    settings: dict[str, Any] = {
        "url": gateway.url,
        "api_key": api_key,
        "phone_of": on_file(B1=PHONE),
        "timeout_seconds": 5.0,
        "default_country_code": "86",
        **options,
    }
    return SmsGatewayChannel(**settings)


def test_an_sms_is_posted_with_the_bearer_key_and_the_delivery_as_idempotency_key(
    gateway: SmsGateway, api_key: str
) -> None:
    channel = sms(gateway, api_key, sender="LENDER")
    sent = envelope()
    try:
        channel.send(sent)
    finally:
        channel.close()

    (request,) = gateway.received
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == f"Bearer {api_key}"
    assert request.headers["idempotency-key"] == sent.delivery_id
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "to": E164,
        "text": f"{SUBJECT}\n{BODY}",
        "reference": sent.delivery_id,
        "sender": "LENDER",
    }


def test_a_503_is_retried_and_the_same_sms_then_delivered(
    gateway: SmsGateway, api_key: str
) -> None:
    gateway.replies = [(503, '{"error": "busy"}')]
    channel = sms(gateway, api_key)
    sent = envelope()
    try:
        with pytest.raises(ChannelError, match="HTTP 503") as refused:
            channel.send(sent)
        channel.send(sent)
    finally:
        channel.close()

    assert refused.value.permanent is False
    keys = [r.headers["idempotency-key"] for r in gateway.received]
    assert keys == [sent.delivery_id, sent.delivery_id]


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (404, True), (422, True), (429, False), (401, False), (500, False)],
)
def test_other_4xx_fail_for_good_while_429_401_and_5xx_are_retried(
    gateway: SmsGateway, api_key: str, status: int, permanent: bool
) -> None:
    gateway.replies = [(status, '{"error": "no"}')]
    channel = sms(gateway, api_key)
    try:
        with pytest.raises(ChannelError, match=f"HTTP {status}") as refused:
            channel.send(envelope())
    finally:
        channel.close()

    assert refused.value.permanent is permanent


def test_a_gateway_quoting_the_number_back_does_not_put_it_in_the_error(
    gateway: SmsGateway, api_key: str
) -> None:
    gateway.replies = [(400, json.dumps({"error": f"invalid destination {E164} (8613912345678)"}))]
    channel = sms(gateway, api_key)
    try:
        with pytest.raises(ChannelError) as refused:
            channel.send(envelope())
    finally:
        channel.close()

    message = str(refused.value)
    assert message.startswith("HTTP 400")
    assert "invalid destination" in message
    assert "13912345678" not in message
    assert "1234" not in message


def test_a_redirect_is_not_followed(gateway: SmsGateway, api_key: str) -> None:
    gateway.replies = [(307, "{}")]
    channel = sms(gateway, api_key)
    try:
        with pytest.raises(ChannelError, match="HTTP 307") as refused:
            channel.send(envelope())
    finally:
        channel.close()

    assert len(gateway.received) == 1
    assert refused.value.permanent is False


def test_a_long_notice_is_cut_at_a_word_boundary_subject_first(
    gateway: SmsGateway, api_key: str
) -> None:
    subject = "Early repayment will be restricted"
    body = " ".join(["Automatic debits failed repeatedly in the last thirty days."] * 10)
    channel = sms(gateway, api_key, max_chars=120)
    try:
        channel.send(envelope(subject=subject, body=body, locale="en"))
    finally:
        channel.close()

    text = gateway.received[0].body["text"]
    whole = f"{subject}\n{body}"
    assert len(text) <= 120
    assert text.startswith(subject + "\n")
    assert text.endswith("…")
    kept = text.removesuffix("…")
    assert whole.startswith(kept)
    assert whole[len(kept)] == " ", "the cut falls between two words"


def test_a_borrower_without_a_phone_fails_for_good_without_calling_the_gateway(
    gateway: SmsGateway, api_key: str
) -> None:
    channel = sms(gateway, api_key, phone_of=on_file(B2=PHONE))
    try:
        with pytest.raises(ChannelError, match="borrower has no phone number on file") as missing:
            channel.send(envelope(borrower_id="B1"))
    finally:
        channel.close()

    assert missing.value.permanent is True
    assert gateway.received == []


def test_a_national_number_without_a_country_code_is_not_sent_anywhere(
    gateway: SmsGateway, api_key: str
) -> None:
    channel = sms(gateway, api_key, default_country_code=None)
    try:
        with pytest.raises(ChannelError, match="SMS_DEFAULT_COUNTRY_CODE") as unusable:
            channel.send(envelope())
    finally:
        channel.close()

    assert unusable.value.permanent is True
    assert "1234" not in str(unusable.value)
    assert gateway.received == []


def test_a_gateway_that_does_not_answer_in_time_is_retried(
    gateway: SmsGateway, api_key: str
) -> None:
    gateway.hold = threading.Event()
    channel = sms(gateway, api_key, timeout_seconds=0.2)
    try:
        with pytest.raises(ChannelError, match="Timeout") as slow:
            channel.send(envelope())
    finally:
        gateway.hold.set()
        channel.close()

    assert slow.value.permanent is False


def free_port() -> int:
    """A port nothing listens on any more."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_gateway_is_retried(api_key: str) -> None:
    channel = SmsGatewayChannel(
        url=f"http://127.0.0.1:{free_port()}/v1/messages",
        api_key=api_key,
        phone_of=on_file(B1=E164),
        timeout_seconds=2.0,
    )
    try:
        with pytest.raises(ChannelError, match="ConnectError") as down:
            channel.send(envelope())
    finally:
        channel.close()

    assert down.value.permanent is False


# -- e-mail --------------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with running_smtp() as running:
        yield running


def mailer(port: int, **options: Any) -> EmailChannel:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": SENDER,
        "email_of": on_file(B1=ADDRESS),
        "clock": FixedClock(NOW),
        "timeout_seconds": 5.0,
        **options,
    }
    return EmailChannel(**settings)


def text_of(message: EmailMessage) -> str:
    """The text a mail reader shows (line ends as the reader's, not the wire's)."""
    return str(message.get_content()).replace("\r\n", "\n").rstrip("\n")


def subject_of(message: EmailMessage) -> str:
    """The subject unfolded: a long one is written on a continuation line, and the space
    that starts that line is folding, not part of it (RFC 5322 2.2.3)."""
    return str(message["Subject"]).strip()


def test_an_email_arrives_in_utf8_with_the_delivery_as_message_id(smtp: SmtpSink) -> None:
    sent = envelope()
    mailer(smtp.port).send(sent)

    (mail,) = smtp.mails
    message = mail.parsed()
    assert mail.mail_from == "notices@lender.example"
    assert mail.rcpt_tos == [ADDRESS]
    assert message["To"] == ADDRESS
    assert message["From"] == SENDER
    assert message["Subject"] == SUBJECT
    assert message["Message-ID"] == f"<{sent.delivery_id}@lender.example>"
    assert message["Content-Language"] == "zh-CN"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert text_of(message) == BODY
    assert mail.raw.isascii(), "headers and body are encoded for any relay"


def test_starttls_and_login_are_used_when_configured(tmp_path: Path) -> None:
    tls = self_signed(tmp_path)
    password = secrets.token_urlsafe(16)
    with running_smtp(starttls=tls.server, credentials=("notices", password)) as server:
        mailer(
            server.port,
            security="starttls",
            username="notices",
            password=password,
            ssl_context=tls.client,
        ).send(envelope())

    assert server.logins == ["notices"]
    assert len(server.mails) == 1


def test_ssl_from_the_start_is_used_when_configured(tmp_path: Path) -> None:
    tls = self_signed(tmp_path)
    with running_smtp(implicit_tls=tls.server) as server:
        mailer(server.port, security="ssl", ssl_context=tls.client).send(envelope())

    assert server.mails[0].parsed()["Subject"] == SUBJECT


def test_a_wrong_password_is_retried_not_failed_for_good(tmp_path: Path) -> None:
    tls = self_signed(tmp_path)
    with running_smtp(starttls=tls.server, credentials=("notices", "right")) as server:
        channel = mailer(
            server.port,
            security="starttls",
            username="notices",
            password="wrong",
            ssl_context=tls.client,
        )
        with pytest.raises(ChannelError, match="SMTP 535") as refused:
            channel.send(envelope())

    assert refused.value.permanent is False
    assert server.mails == []


def test_a_recipient_refused_with_550_fails_for_good_without_naming_it(smtp: SmtpSink) -> None:
    smtp.rcpt_replies = [f"550 5.1.1 <{ADDRESS}>: Recipient address rejected: User unknown"]

    with pytest.raises(ChannelError, match="SMTP 550") as refused:
        mailer(smtp.port).send(envelope())

    assert refused.value.permanent is True
    assert "User unknown" in str(refused.value)
    assert ADDRESS not in str(refused.value)
    assert "wang.xiaoming" not in str(refused.value)
    assert smtp.mails == []


def test_a_recipient_deferred_with_451_is_retried(smtp: SmtpSink) -> None:
    smtp.rcpt_replies = ["451 4.7.1 Greylisted, try again later"]
    channel = mailer(smtp.port)

    with pytest.raises(ChannelError, match="SMTP 451") as deferred:
        channel.send(envelope())
    channel.send(envelope())

    assert deferred.value.permanent is False
    assert len(smtp.mails) == 1


def test_a_server_that_is_down_is_retried() -> None:
    with pytest.raises(ChannelError, match="ConnectionRefused") as down:
        mailer(free_port()).send(envelope())

    assert down.value.permanent is False


def test_a_borrower_without_an_address_fails_for_good(smtp: SmtpSink) -> None:
    with pytest.raises(ChannelError, match="borrower has no e-mail address on file") as missing:
        mailer(smtp.port, email_of=on_file()).send(envelope())

    assert missing.value.permanent is True
    assert smtp.mails == []


# -- contacts and the whole path -----------------------------------------------------------------


class CountingKeyring:
    """The container's keyring, recording which fields it was asked to decrypt."""

    def __init__(self, inner: Keyring) -> None:
        self.inner = inner
        self.contexts: list[str] = []

    def decrypt(self, token: str, *, context: str) -> str:
        self.contexts.append(context)
        return self.inner.decrypt(token, context=context)


def save_contact(container: Container, borrower: str, **fields: Any) -> None:
    assert container.keyring is not None
    save_profile(
        SaveProfile(borrower, name=f"Test {borrower}", **fields),
        uow=container.uow(),
        keyring=container.keyring,
    )


def test_the_contact_book_decrypts_only_the_field_asked_for(container: Container) -> None:
    assert container.keyring is not None
    save_contact(container, "B1", phone=PHONE, email=ADDRESS)
    save_contact(container, "B2", phone=PHONE)
    keyring = CountingKeyring(container.keyring)
    book = ContactBook(session_factory=container.session_factory, keyring=keyring)  # type: ignore[arg-type]

    phone = book.phone_of("B1")
    email = book.email_of("B1")
    both = book.contact_of("B1")

    assert (phone, email) == (PHONE, ADDRESS)
    assert both == Contact(phone=PHONE, email=ADDRESS)
    assert keyring.contexts == [
        "borrower_profiles/B1/phone",
        "borrower_profiles/B1/email",
        "borrower_profiles/B1/phone",
        "borrower_profiles/B1/email",
    ]
    assert book.email_of("B2") is None
    assert book.contact_of("B-NONE") == Contact()
    assert PHONE not in repr(both)
    assert ADDRESS not in repr(both)
    assert repr(both) == "Contact(phone=<on file>, email=<on file>)"


def test_an_email_address_is_stored_encrypted_read_masked_and_rotated(
    container: Container,
) -> None:
    assert container.keyring is not None
    save_contact(container, "B1", phone=PHONE, email=ADDRESS)
    changed = save_profile(
        SaveProfile("B1", name="Test B1", phone=PHONE, email="new.address@example.cn"),
        uow=container.uow(),
        keyring=container.keyring,
    ).changed
    save_contact(container, "B1", phone=PHONE, email=ADDRESS)
    stored = stored_email(container, "B1")
    masked = read_profile(ReadProfile("B1"), uow=container.uow(), keyring=container.keyring)
    full = read_profile(
        ReadProfile("B1", reveal=True), uow=container.uow(), keyring=container.keyring
    )
    rotated = container.keyring.with_new_active_key()
    report = rotate_keys(RotateKeys(), uow=container.uow, keyring=rotated)
    moved = stored_email(container, "B1")
    book = ContactBook(
        session_factory=container.session_factory, keyring=rotated.without(container.keyring.active)
    )

    assert changed == ("email",)
    assert stored.startswith(f"rg1.{container.keyring.active}.")
    assert ADDRESS not in stored
    assert (masked.email, full.email) == ("w***@example.cn", ADDRESS)
    assert ADDRESS not in repr(full)
    assert report.rotated == 1
    assert moved.startswith(f"rg1.{rotated.active}.")
    assert book.email_of("B1") == ADDRESS, "the e-mail address moved to the new key"
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    assert ADDRESS not in json.dumps([m.payload for m in bus.published])


def stored_email(container: Container, borrower: str) -> str:
    with container.engine.connect() as connection:
        token = connection.execute(
            text("SELECT email_enc FROM borrower_profiles WHERE borrower_id = :b"),
            {"b": borrower},
        ).scalar_one()
    assert isinstance(token, str)
    return token


def test_the_profile_api_takes_an_email_and_refuses_a_malformed_one_without_echo(
    container: Container, tmp_path: Path
) -> None:
    app = install(create_app(container), make_privacy(container, tmp_path))
    body = {"name": "王小明", "phone": PHONE, "email": ADDRESS, "locale": "zh-CN"}
    with TestClient(app) as client:
        put = client.put("/v1/borrowers/B-API/profile", json=body)
        masked = client.get("/v1/borrowers/B-API/profile")
        revealed = client.get("/v1/borrowers/B-API/profile", params={"reveal": "true"})
        bad = client.put(
            "/v1/borrowers/B-API/profile", json={**body, "email": "wang xiaoming@example"}
        )

    assert put.status_code == 200, put.text
    assert "email" in put.json()["changed_fields"]
    assert ADDRESS not in put.text
    assert masked.json()["email"] == "w***@example.cn"
    assert revealed.json()["email"] == ADDRESS
    assert bad.status_code == 422
    assert "xiaoming" not in bad.text


def channel_settings(
    database_url: str, tmp_path: Path, gateway: SmsGateway, smtp: SmtpSink, api_key: str
) -> Settings:
    """Notices through both channels, to the servers of the test, with short backoff."""
    settings = notice_settings(
        database_url,
        tmp_path,
        channels=["sms", "email"],
        sms_gateway_url=gateway.url,
        sms_api_key=api_key,
        sms_default_country_code="86",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_from=SENDER,
        backoff_base_seconds=30,
        backoff_cap_seconds=120,
    )
    return settings.model_copy(
        update={"scheduler": settings.scheduler.model_copy(update={"deliver_every_seconds": 1})}
    )


def channels_container(
    database_url: str, tmp_path: Path, gateway: SmsGateway, smtp: SmtpSink, api_key: str
) -> Container:
    settings = channel_settings(database_url, tmp_path, gateway, smtp, api_key)
    return open_container(settings, FixedClock(NOW))


def test_an_advance_notice_reaches_the_borrower_by_sms_and_email_after_a_retry(
    database_url: str, tmp_path: Path, gateway: SmsGateway, smtp: SmtpSink, api_key: str
) -> None:
    gateway.replies = [(503, '{"error": "busy"}')]
    smtp.rcpt_replies = ["451 4.3.0 Try again later"]
    with channels_container(database_url, tmp_path, gateway, smtp, api_key) as container:
        clock = container.clock
        assert isinstance(clock, FixedClock)
        assert set(container.channels) == {"sms", "email"}
        save_contact(container, "B1", phone=PHONE, email=ADDRESS, locale="en")
        ingest(container, failed_debits("B1", NOW, [5, 4, 3]))  # first attempts: refused
        tries = (len(gateway.received), len(smtp.mails))
        clock.advance(timedelta(seconds=30))
        report = one_pass(container)["notices.deliver"]
        (notice,) = inbox(container, "B1")
        bus = container.bus
        assert isinstance(bus, RecordingBus)
        messages = json.dumps([m.payload for m in bus.published], ensure_ascii=False)

    assert notice.kind == "advance"
    assert notice.locale == "en"
    assert tries == (1, 0)
    assert report.counts["delivered"] == 2
    deliveries = {d.channel: (d.status, d.attempts, d.last_error) for d in notice.deliveries}
    assert deliveries == {
        "inbox": ("delivered", 1, None),
        "sms": ("delivered", 2, None),
        "email": ("delivered", 2, None),
    }
    first, second = gateway.received
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert second.body["to"] == E164
    assert second.body["text"].startswith(notice.subject + "\n")
    (mail,) = smtp.mails
    message = mail.parsed()
    assert mail.rcpt_tos == [ADDRESS]
    assert message["To"] == ADDRESS
    assert subject_of(message) == notice.subject
    assert message["Content-Language"] == "en"
    assert text_of(message) == notice.body.rstrip("\n")
    assert "13912345678" not in messages
    assert ADDRESS not in messages


def test_a_borrower_without_contact_details_gets_the_inbox_and_failed_channels(
    database_url: str, tmp_path: Path, gateway: SmsGateway, smtp: SmtpSink, api_key: str
) -> None:
    with channels_container(database_url, tmp_path, gateway, smtp, api_key) as container:
        ingest(container, failed_debits("B2", NOW, [5, 4, 3]))  # no profile at all
        (notice,) = inbox(container, "B2")

    deliveries = {d.channel: (d.status, d.attempts, d.last_error) for d in notice.deliveries}
    assert deliveries == {
        "inbox": ("delivered", 1, None),
        "sms": ("failed", 1, "borrower has no phone number on file"),
        "email": ("failed", 1, "borrower has no e-mail address on file"),
    }
    assert gateway.received == []
    assert smtp.mails == []


def test_an_enabled_channel_settings_do_not_configure_is_refused_by_name(
    database_url: str, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="REPAYGUARD_NOTICES__SMTP_FROM"):
        notice_settings(database_url, tmp_path, channels=["email"], smtp_host="127.0.0.1")


def test_an_offered_channel_replaces_the_built_in_one(
    database_url: str, tmp_path: Path, gateway: SmsGateway, smtp: SmtpSink, api_key: str
) -> None:
    sent: list[str] = []

    class Pager:  # a lender's own SMS adapter, offered when the container is built
        name = "sms"

        def send(self, envelope: Envelope) -> None:
            sent.append(envelope.notice_id)

    settings = channel_settings(database_url, tmp_path, gateway, smtp, api_key)
    with open_container(settings, FixedClock(NOW), channels={"sms": Pager()}) as container:
        save_contact(container, "B3", phone=PHONE, email=ADDRESS)
        ingest(container, failed_debits("B3", NOW, [5, 4, 3]))
        (notice,) = inbox(container, "B3")

    assert sent == [notice.notice_id]
    assert gateway.received == []
    assert len(smtp.mails) == 1
    assert {d.channel: d.status for d in notice.deliveries} == {
        "inbox": "delivered",
        "sms": "delivered",
        "email": "delivered",
    }
