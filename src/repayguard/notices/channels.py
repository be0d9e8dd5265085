"""Delivery channels behind one protocol: the in-app inbox (the notice store itself), a signed
webhook, SMS and e-mail (``contact_channels``), and any adapter a lender installs under the
entry-point group ``repayguard.notice_channels``.

A channel's ``send`` returns when the channel accepted the notice and raises ``ChannelError``
otherwise; the dispatcher records the attempt and schedules the next one with backoff.
Delivery is at least once: a receiver deduplicates by the envelope's ``delivery_id``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, Final, Protocol

import httpx
import orjson

from repayguard import __version__
from repayguard.notices.errors import NoticesMisconfigured
from repayguard.platform.clock import Clock

INBOX: Final = "inbox"
WEBHOOK: Final = "webhook"
ENTRY_POINT_GROUP: Final = "repayguard.notice_channels"
SIGNATURE_HEADER: Final = "X-Repayguard-Signature"
TIMESTAMP_HEADER: Final = "X-Repayguard-Timestamp"
DELIVERY_HEADER: Final = "X-Repayguard-Delivery"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One notice on its way through one channel. Holds no personal data: the SMS and e-mail
    channels look the borrower's contact up themselves when they send (see
    docs/notices-and-scheduler.md)."""

    delivery_id: str
    notice_id: str
    borrower_id: str
    kind: str
    locale: str
    subject: str
    body: str
    reasons: tuple[str, ...]
    effective_at: datetime | None
    created_at: datetime

    def as_payload(self) -> dict[str, Any]:
        return {
            "type": "repayguard.notice",
            "version": 1,
            "delivery_id": self.delivery_id,
            "notice_id": self.notice_id,
            "borrower_id": self.borrower_id,
            "kind": self.kind,
            "locale": self.locale,
            "subject": self.subject,
            "body": self.body,
            "reasons": list(self.reasons),
            "effective_at": self.effective_at.isoformat() if self.effective_at else None,
            "created_at": self.created_at.isoformat(),
        }


class ChannelError(Exception):
    """A channel did not accept a notice. ``permanent``: retrying cannot help (the attempt
    counts as the last one)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    """A way to reach a borrower. ``name`` is what settings and delivery records call it."""

    @property
    def name(self) -> str: ...

    def send(self, envelope: Envelope) -> None:
        """Deliver ``envelope`` or raise ChannelError; must be safe to call from any thread."""
        ...


ChannelFactory = Callable[[], Channel]
"""What an entry point of ``repayguard.notice_channels`` names: builds the adapter (reading its
own configuration) when the process starts."""


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``<timestamp>.<body>`` (the timestamp binds the
    signature to a moment, so a captured request cannot be replayed later)."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: bytes,
    *,
    timestamp: str,
    body: bytes,
    signature_header: str,
    now: datetime,
    tolerance_seconds: int = 300,
) -> bool:
    """For receivers: whether a webhook request is authentic and fresh (constant-time)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header)


class WebhookChannel:
    """POSTs each notice as JSON to the lender's endpoint, signed with HMAC-SHA256.

    Headers: ``X-Repayguard-Timestamp`` (Unix seconds), ``X-Repayguard-Signature``
    (``sha256=`` + hex HMAC of ``<timestamp>.<body>`` under the shared secret) and
    ``X-Repayguard-Delivery`` (the id to deduplicate by). Any 2xx is delivered; anything else,
    a timeout or a connection error is a failed attempt. Redirects are not followed.
    """

    name = WEBHOOK

    def __init__(
        self,
        *,
        url: str,
        secret: bytes,
        timeout_seconds: float,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not secret:
            raise NoticesMisconfigured("the webhook channel needs a signing secret")
        self._url = url
        self._secret = secret
        self._clock = clock
        self._client = httpx.Client(
            timeout=timeout_seconds, follow_redirects=False, transport=transport
        )

    def send(self, envelope: Envelope) -> None:
        body = orjson.dumps(envelope.as_payload(), option=orjson.OPT_SORT_KEYS)
        timestamp = str(int(self._clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"repayguard/{__version__}",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._secret, timestamp, body),
            DELIVERY_HEADER: envelope.delivery_id,
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise ChannelError(f"HTTP {response.status_code}: {response.text[:200]}")

    def close(self) -> None:
        self._client.close()


def installed_channels() -> dict[str, ChannelFactory]:
    """Channel adapters installed as packages, by entry-point name."""
    found: dict[str, ChannelFactory] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        found[point.name] = point.load()
    return found


def resolve_channels(
    names: Iterable[str],
    *,
    built: Mapping[str, Channel],
    installed: Callable[[], Mapping[str, ChannelFactory]] = installed_channels,
) -> dict[str, Channel]:
    """The enabled external channels by name: built-in ones from ``built``, others from the
    installed adapters. An enabled name nothing provides is refused at start-up."""
    chosen: dict[str, Channel] = {}
    factories: Mapping[str, ChannelFactory] | None = None
    for name in names:
        if name == INBOX:
            continue  # the inbox is the notice store itself: always on
        if name in built:
            chosen[name] = built[name]
            continue
        factories = installed() if factories is None else factories
        factory = factories.get(name)
        if factory is None:
            known = sorted({INBOX, *built, *factories})
            raise NoticesMisconfigured(
                f"no notice channel called {name!r} is available",
                hint=f"enable one of {', '.join(known)}, or install an adapter that registers "
                f"the entry point '{name}' in the group {ENTRY_POINT_GROUP}",
            )
        channel = factory()
        if channel.name != name:
            raise NoticesMisconfigured(
                f"the adapter installed as {name!r} calls itself {channel.name!r}"
            )
        chosen[name] = channel
    return chosen
