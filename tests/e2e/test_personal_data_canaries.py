"""Personal-data canaries: unique values planted through the API and services are found in
clear nowhere — not in the SQLite file or its WAL, the logs, the audit export, the checkpoint
files or the bus messages; nor, once notices went out by SMS and e-mail to servers that quote
the number and the address back, in the delivery records, the logs or the bus messages; nor in
quarantine, where rejected records carrying them are kept sealed to be fixed and resent."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from repayguard.api.app import create_app
from repayguard.audit import ExportAudit, export_audit, write_checkpoint_now
from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers import RotateKeys, SaveProfile, rotate_keys, save_profile
from repayguard.config import NoticeSettings
from repayguard.ingestion import IngestEvents, ingest_events, quarantined
from repayguard.notices import ListNotices, list_notices
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.redaction import Redactor

from support.builders import failing_debits_history
from support.channels import running_gateway, running_smtp
from support.common import NOW, make_settings
from support.privacy import Privacy, install, make_privacy

BORROWER = "B-CANARY"


def canaries() -> dict[str, str]:
    tag = secrets.token_hex(3)
    digits = "".join(secrets.choice("0123456789") for _ in range(17))
    return {
        "name": f"金丝雀{tag}",
        "phone": "139" + "".join(secrets.choice("0123456789") for _ in range(8)),
        "national_id": digits + "X",
        "email": f"canary.{tag}{secrets.token_hex(4)}@example.com",
    }


def forms(value: str) -> list[bytes]:
    """Every way a value could be written in clear: UTF-8, JSON-escaped, UTF-16."""
    escaped = json.dumps(value)[1:-1]
    return sorted({value.encode(), escaped.encode(), value.encode("utf-16-le")})


def hits(planted: dict[str, str], blob: bytes) -> list[str]:
    return [name for name, value in planted.items() if any(f in blob for f in forms(value))]


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """structlog as production runs it (JSON, with the redactor) into a buffer."""
    buffer = io.StringIO()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            Redactor(),
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
        cache_logger_on_first_use=False,
    )
    yield buffer
    structlog.reset_defaults()


@pytest.fixture
def sqlite_container(tmp_path: Path) -> Iterator[Container]:
    settings = make_settings(f"sqlite:///{tmp_path / 'canary.db'}", tmp_path)
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        yield built


def test_search_finds_a_planted_value_when_it_is_there() -> None:
    planted = canaries()
    assert hits(planted, json.dumps({"n": planted["name"]}).encode()) == ["name"]
    assert hits(planted, planted["phone"].encode("utf-16-le")) == ["phone"]
    assert hits(planted, json.dumps([planted["email"]]).encode()) == ["email"]


def test_planted_personal_data_is_nowhere_in_clear(
    sqlite_container: Container, tmp_path: Path, logs: io.StringIO
) -> None:
    container = sqlite_container
    planted = canaries()
    privacy: Privacy = make_privacy(container, tmp_path, every=3)
    app = install(create_app(container), privacy)
    log = structlog.get_logger("canary-test")
    body = {**planted, "locale": "zh-CN"}

    with TestClient(app) as client:
        put = client.put(
            f"/v1/borrowers/{BORROWER}/profile", json=body, headers={"Idempotency-Key": "c-1"}
        )
        replayed = client.put(
            f"/v1/borrowers/{BORROWER}/profile", json=body, headers={"Idempotency-Key": "c-1"}
        )
        bad = client.put(
            f"/v1/borrowers/{BORROWER}/profile",
            json={**body, "phone": f"tel:{planted['phone']}"},
            headers={"Idempotency-Key": "c-2"},
        )
        events = client.post(
            "/v1/events",
            json={"events": [*failing_debits_history(BORROWER, NOW), *_rejected(planted)]},
        )
        masked = client.get(f"/v1/borrowers/{BORROWER}/profile")
        revealed = client.get(f"/v1/borrowers/{BORROWER}/profile", params={"reveal": "true"})
    # Someone logs carelessly: the redactor must still keep the values out.
    log.warning(
        "profile.debug",
        phone=planted["phone"],
        name=planted["name"],
        email=planted["email"],
        borrower=BORROWER,
    )
    log.warning(f"calling {planted['phone']} about id {planted['national_id']}")
    try:
        raise ValueError(f"bad phone {planted['phone']}")
    except ValueError:
        log.exception("profile.failed")
    rotate_keys(
        RotateKeys(), uow=privacy.uow_factory, keyring=privacy.keyring.with_new_active_key()
    )
    write_checkpoint_now(privacy.policy(), uow=privacy.uow())
    export = tmp_path / "audit.jsonl"
    export_audit(ExportAudit(out=export, signer=privacy.signer), uow=privacy.uow())

    # The canaries did flow: the profile was stored and an authorised read returns them.
    assert (put.status_code, replayed.status_code, bad.status_code) == (200, 200, 422)
    assert events.status_code == 200
    assert masked.json()["name"] != planted["name"]
    assert masked.json()["email"] == planted["email"][:1] + "***@example.com"
    assert revealed.json() == {**revealed.json(), **planted}
    assert export.stat().st_size > 0
    report = events.json()
    assert report["rejected"] == 3
    kept = quarantined(report["batch_id"], uow=container.uow(), keyring=privacy.keyring)
    assert all(hits(planted, (r.raw or "").encode()) for r in kept), "sealed, yet readable"

    found: dict[str, list[str]] = {}
    database = tmp_path / "canary.db"
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            found[f"database file {path.name}"] = hits(planted, path.read_bytes())
    found["API responses to writes"] = hits(planted, (put.content + bad.content))
    found["logs"] = hits(planted, logs.getvalue().encode())
    found["audit export"] = hits(planted, export.read_bytes())
    found["checkpoint files"] = hits(
        planted, b"".join(p.read_bytes() for p in privacy.checkpoint_dir.iterdir())
    )
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    messages = json.dumps([m.payload for m in bus.published], ensure_ascii=False).encode()
    found["bus messages"] = hits(planted, messages)
    found["any column of any table"] = hits(planted, _every_value(container))

    assert {where: names for where, names in found.items() if names} == {}
    assert logs.getvalue().count("[redacted]") >= 4, "the careless log lines were redacted"
    assert len(bus.published) >= 4


def test_contact_details_used_to_deliver_notices_are_nowhere_in_clear(
    tmp_path: Path, logs: io.StringIO
) -> None:
    planted = canaries()
    number = "+86" + planted["phone"]
    database = tmp_path / "delivery.db"
    with running_gateway() as gateway, running_smtp() as smtp:
        # Both servers refuse for good and quote the number and the address back.
        gateway.replies = [(400, json.dumps({"error": f"cannot reach {number}", "to": number}))]
        smtp.rcpt_replies = [f"550 5.1.1 <{planted['email']}>: Recipient address rejected"]
        settings = make_settings(f"sqlite:///{database}", tmp_path)
        channels = NoticeSettings(
            channels=["sms", "email"],
            sms_gateway_url=gateway.url,
            sms_api_key=secrets.token_urlsafe(24),
            sms_default_country_code="86",
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_security="none",
            smtp_from="Lender Notices <notices@lender.example>",
        )
        settings = settings.model_copy(update={"notices": channels})
        with bootstrap(settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True) as built:
            assert built.keyring is not None
            save_profile(
                SaveProfile(BORROWER, **planted, locale="zh-CN"),
                uow=built.uow(),
                keyring=built.keyring,
            )
            ingest_events(
                IngestEvents(failing_debits_history(BORROWER, NOW), source="test"),
                uow=built.uow(),
                setup=built.ingest,
            )
            (notice,) = list_notices(ListNotices(BORROWER), uow=built.uow())
            columns = _every_value(built)
            bus = built.bus
            assert isinstance(bus, RecordingBus)
            messages = json.dumps([m.payload for m in bus.published], ensure_ascii=False)

    # The canaries did flow: the gateway was asked to text the number.
    assert gateway.received[0].body["to"] == number
    errors = {d.channel: (d.status, d.last_error) for d in notice.deliveries}
    assert errors["sms"][0] == errors["email"][0] == "failed"
    assert "HTTP 400" in str(errors["sms"][1])
    assert "Recipient address rejected" in str(errors["email"][1])

    found: dict[str, list[str]] = {}
    for suffix in ("", "-wal", "-shm"):
        path = database.with_name(database.name + suffix)
        if path.exists():
            found[f"database file {path.name}"] = hits(planted, path.read_bytes())
    found["delivery records"] = hits(planted, json.dumps(errors, ensure_ascii=False).encode())
    found["any column of any table"] = hits(planted, columns)
    found["logs"] = hits(planted, logs.getvalue().encode())
    found["bus messages"] = hits(planted, messages.encode())

    assert {where: names for where, names in found.items() if names} == {}
    assert "notices.delivery_failed" in logs.getvalue()


def _rejected(planted: dict[str, str]) -> list[object]:
    """Records a sender should not have sent, carrying the canaries: a contact change with
    the new details (fields no event has), an unknown type that is an e-mail address (the
    reason quotes the type), and a bare phone number as an element of the batch."""
    contact = {
        "event_id": "E-CONTACT",
        "type": "behaviour",
        "kind": "contact_change",
        "borrower_id": BORROWER,
        "occurred_at": NOW.isoformat(),
        "new_phone": planted["phone"],
        "new_email": planted["email"],
        "name": planted["name"],
        "payload": {"national_id": planted["national_id"]},
    }
    odd_type = {**contact, "event_id": "E-TYPE", "type": planted["email"]}
    return [contact, odd_type, planted["phone"]]


def _every_value(container: Container) -> bytes:
    """Every value of every table, as text (what a 'SELECT *' dump would show)."""
    chunks: list[str] = []
    with container.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f'SELECT * FROM "{table}"')).all()
            chunks.extend(repr(tuple(row)) for row in rows)
    return "\n".join(chunks).encode()
