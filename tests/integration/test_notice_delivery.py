"""Delivering notices: a signed webhook to a real HTTP server on 127.0.0.1 that fails, then
answers; retries with exponential backoff on a fixed clock; an unreachable endpoint; adapters
plugged in as installed packages."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from repayguard import notices
from repayguard.bootstrap import Container
from repayguard.notices.errors import NoticesMisconfigured
from repayguard.platform.clock import FixedClock

from support.common import NOW
from support.notices import (
    failed_debits,
    inbox,
    ingest,
    notice_settings,
    one_pass,
    open_container,
    published,
)

SECRET = "shared-webhook-secret-for-tests"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    authentic: bool


@dataclass
class Receiver:
    """A lender's webhook endpoint: answers with the scripted statuses (then 200) and checks
    every signature the way a receiver must, with its own HMAC."""

    statuses: list[int]
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        stamp = headers.get("x-repayguard-timestamp", "")
        expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        signed = headers.get("x-repayguard-signature", "")
        authentic = hmac.compare_digest("sha256=" + expected.hexdigest(), signed)
        self.received.append(Received(headers, body, authentic))
        return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver(statuses=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = endpoint.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/repayguard/notices"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def webhook_container(database_url: str, tmp_path: Path, url: str, **notices: Any) -> Container:
    settings = notice_settings(
        database_url,
        tmp_path,
        channels=["webhook"],
        webhook_url=url,
        webhook_secret=SECRET,
        backoff_base_seconds=30,
        backoff_cap_seconds=120,
        **notices,
    )
    settings = settings.model_copy(
        update={"scheduler": settings.scheduler.model_copy(update={"deliver_every_seconds": 1})}
    )
    return open_container(settings, FixedClock(NOW))


def test_a_failing_webhook_is_retried_with_backoff_until_it_answers(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    with webhook_container(database_url, tmp_path, receiver.url, max_attempts=5) as container:
        clock = container.clock
        assert isinstance(clock, FixedClock)
        ingest(container, failed_debits("B3", NOW, [5, 4, 3, 2]))  # first attempt: 500
        tries = [len(receiver.received)]
        for step in (timedelta(seconds=29), timedelta(seconds=1), timedelta(seconds=59)):
            clock.advance(step)
            one_pass(container)
            tries.append(len(receiver.received))
        clock.advance(timedelta(seconds=1))
        last = one_pass(container)["notices.deliver"]
        (notice,) = inbox(container, "B3")
        delivered = list(published(container, notices.NOTICE_DELIVERED))

    # Attempt 1 at once, 2 after 30 s, 3 after another 60 s (the backoff doubles).
    assert tries == [1, 1, 2, 2]
    assert len(receiver.received) == 3
    assert last.counts["delivered"] == 1
    assert all(request.authentic for request in receiver.received)
    assert len({r.headers["x-repayguard-delivery"] for r in receiver.received}) == 1
    payload = json.loads(receiver.received[-1].body)
    assert payload["notice_id"] == notice.notice_id
    assert payload["kind"] == "explanation"
    assert payload["body"] == notice.body
    assert payload["reasons"] == list(notice.reasons)
    webhook = {d.channel: d for d in notice.deliveries}["webhook"]
    assert (webhook.status, webhook.attempts, webhook.last_error) == ("delivered", 3, None)
    assert webhook.delivered_at == NOW + timedelta(seconds=90)
    assert [d["channel"] for d in delivered] == ["webhook"]


def test_an_occasion_notice_is_delivered_through_the_webhook_with_retries(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    with webhook_container(database_url, tmp_path, receiver.url) as container:
        clock = container.clock
        assert isinstance(clock, FixedClock)
        assert container.notice_setup is not None
        with container.uow() as uow:
            ref = notices.record_notice(
                notices.RecordNotice(
                    "B4",
                    notices.NoticeKind.COMPLAINT_RESOLVED,
                    "case-7",
                    {
                        "case": "case-7",
                        "decided": NOW - timedelta(days=3),
                        "contested": ["early_repayment"],
                        "outcome": "reversed",
                    },
                ),
                uow=uow,
                setup=container.notice_setup,
            )
            uow.commit()  # the dispatcher tries the webhook right after the commit: 503
        tries = [len(receiver.received)]
        clock.advance(timedelta(seconds=30))
        one_pass(container)
        (notice,) = inbox(container, "B4")

    assert tries == [1]
    assert len(receiver.received) == 2
    assert all(request.authentic for request in receiver.received)
    payload = json.loads(receiver.received[-1].body)
    assert (payload["notice_id"], payload["kind"], payload["borrower_id"]) == (
        ref.notice_id,
        "complaint_resolved",
        "B4",
    )
    assert payload["subject"] == "我们认同您的投诉：原决定已更改"
    assert payload["body"] == notice.body
    deliveries = {d.channel: (d.status, d.attempts) for d in notice.deliveries}
    assert deliveries == {"inbox": ("delivered", 1), "webhook": ("delivered", 2)}


def test_a_delivery_is_failed_for_good_after_its_last_attempt(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 10
    with webhook_container(database_url, tmp_path, receiver.url, max_attempts=3) as container:
        clock = container.clock
        assert isinstance(clock, FixedClock)
        ingest(container, failed_debits("B3", NOW, [5, 4, 3, 2]))
        for _ in range(5):
            clock.advance(timedelta(seconds=120))
            one_pass(container)
        (notice,) = inbox(container, "B3")
        failed = list(published(container, notices.NOTICE_DELIVERY_FAILED))

    webhook = {d.channel: d for d in notice.deliveries}["webhook"]
    assert len(receiver.received) == 3
    assert (webhook.status, webhook.attempts, webhook.next_attempt_at) == ("failed", 3, None)
    assert webhook.last_error is not None
    assert webhook.last_error.startswith("HTTP 500")
    assert [f["attempts"] for f in failed] == [3]
    assert {d.channel: d.status for d in notice.deliveries}["inbox"] == "delivered"


def test_an_unreachable_endpoint_costs_one_attempt_and_holds_its_channel_back(
    database_url: str, tmp_path: Path
) -> None:
    with socket.socket() as probe:  # a port nothing listens on any more
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/gone"
    with webhook_container(database_url, tmp_path, url) as container:
        events = [e for b in ("B5", "B6", "B7") for e in failed_debits(b, NOW, [5, 4, 3, 2])]
        ingest(container, events)
        deliveries = [
            {d.channel: d for d in inbox(container, b)[0].deliveries}["webhook"]
            for b in ("B5", "B6", "B7")
        ]

    attempted = [d for d in deliveries if d.attempts == 1]
    waiting = [d for d in deliveries if d.attempts == 0]
    assert len(attempted) == 1
    assert len(waiting) == 2
    assert attempted[0].last_error is not None
    assert "ConnectError" in attempted[0].last_error
    retry_at = NOW + timedelta(seconds=30)
    assert {d.next_attempt_at for d in deliveries} == {retry_at}
    assert {d.status for d in deliveries} == {"pending"}


PLUGIN = '''
"""A stand-in for a lender's SMS adapter, installed as a package with an entry point."""

sent = []


class TextMessages:
    name = "sms"

    def send(self, envelope):
        sent.append((envelope.notice_id, envelope.kind, envelope.subject))


def make():
    return TextMessages()
'''


def test_an_installed_adapter_is_a_channel_like_the_others(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    info = site / "repayguard_sms_adapter-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: repayguard-sms-adapter\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[repayguard.notice_channels]\nsms = repayguard_sms_adapter:make\n"
    )
    (site / "repayguard_sms_adapter.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "repayguard_sms_adapter", raising=False)
    settings = notice_settings(database_url, tmp_path, channels=["sms"])

    with open_container(settings, FixedClock(NOW)) as container:
        ingest(container, failed_debits("B3", NOW, [5, 4, 3, 2]))
        (notice,) = inbox(container, "B3")

    import repayguard_sms_adapter  # type: ignore[import-not-found]

    assert repayguard_sms_adapter.sent == [(notice.notice_id, "explanation", notice.subject)]
    assert {d.channel: d.status for d in notice.deliveries} == {
        "inbox": "delivered",
        "sms": "delivered",
    }


def test_a_channel_nothing_provides_is_refused_at_start_up(
    database_url: str, tmp_path: Path
) -> None:
    settings = notice_settings(database_url, tmp_path, channels=["fax"])

    with pytest.raises(NoticesMisconfigured, match="'fax'"):
        open_container(settings, FixedClock(NOW))
