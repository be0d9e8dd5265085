"""The in-memory entitlement view and the authorize decision: the hottest path, no policy runs.

The view is loaded from the entitlement table at start-up and kept current by
``repayguard.entitlements.changed`` messages. Messages are relayed in commit order and carry
whole entitlements, so applying one twice changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from repayguard.entitlements.states import Entitlement, MethodStates
from repayguard.platform.messages import Message

NOT_YET_ASSESSED: Final = "NOT_YET_ASSESSED"
CHANNEL_NOT_OFFERED: Final = "CHANNEL_NOT_OFFERED"
MANUAL_FLOW_REQUIRED: Final = "MANUAL_FLOW_REQUIRED"


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    borrower_id: str
    method: str  # auto_debit | early_repayment | manual
    loan_id: str | None = None
    channel: str | None = None
    amount: float | None = None


@dataclass(frozen=True, slots=True)
class Alternative:
    method: str
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorizeResult:
    """Allow or deny, the reason codes behind a denial, and what the borrower can use instead."""

    allowed: bool
    reasons: tuple[str, ...]
    alternatives: tuple[Alternative, ...]
    decision_id: str | None


class EntitlementView:
    """Entitlements by borrower, in memory; safe to read from many threads while updated."""

    def __init__(self, *, defaults: MethodStates) -> None:
        self.defaults = defaults
        self._by_borrower: dict[str, Entitlement] = {}

    def __len__(self) -> int:
        return len(self._by_borrower)

    def use_defaults(self, defaults: MethodStates) -> None:
        """What a borrower never decided gets from now on (a newly published policy's default
        row); one assignment, so a concurrent authorize sees the old or the new states."""
        self.defaults = defaults

    def load(self, entitlements: Iterable[Entitlement]) -> None:
        self._by_borrower = {e.borrower_id: e for e in entitlements}

    def get(self, borrower_id: str) -> Entitlement | None:
        return self._by_borrower.get(borrower_id)

    def entitlements(self) -> list[Entitlement]:
        """A snapshot of every entitlement (for summaries; authorize reads one at a time)."""
        return list(self._by_borrower.values())

    def on_changed(self, message: Message) -> None:
        """Bus handler for ``repayguard.entitlements.changed``."""
        for data in message.payload["entitlements"]:
            entitlement = Entitlement.from_payload(data)
            self._by_borrower[entitlement.borrower_id] = entitlement

    def authorize(self, request: AuthorizeRequest, *, now: datetime) -> AuthorizeResult:
        entitlement = self._by_borrower.get(request.borrower_id)
        reasons: tuple[str, ...]
        if entitlement is None:
            states, reasons, decision_id = self.defaults, (NOT_YET_ASSESSED,), None
        else:
            states = entitlement.states_at(now)
            reasons, decision_id = entitlement.reasons, entitlement.decision_id
        return decide_authorization(states, request, reasons=reasons, decision_id=decision_id)


def decide_authorization(
    states: MethodStates,
    request: AuthorizeRequest,
    *,
    reasons: tuple[str, ...],
    decision_id: str | None,
) -> AuthorizeResult:
    """Whether ``request`` is allowed under ``states``; a denial lists usable alternatives.

    Auto-debit needs auto-debit not disabled and the manual flow not forced; early repayment
    needs it allowed; a manual payment needs its channel on the borrower's list (any listed
    channel when none is named). Alternatives always include the manual channels (G1).
    """
    manual = _manual(states.manual_channels)
    if request.method == "auto_debit":
        if states.manual == "forced" and states.auto_debit != "disabled":
            return AuthorizeResult(False, (MANUAL_FLOW_REQUIRED, *reasons), manual, decision_id)
        allowed = states.auto_debit != "disabled"
        return AuthorizeResult(
            allowed, () if allowed else reasons, () if allowed else manual, decision_id
        )
    if request.method == "early_repayment":
        allowed = states.early_repayment == "allowed"
        return AuthorizeResult(
            allowed, () if allowed else reasons, () if allowed else manual, decision_id
        )
    if request.channel is None or request.channel in states.manual_channels:
        return AuthorizeResult(True, (), (), decision_id)
    return AuthorizeResult(False, (CHANNEL_NOT_OFFERED,), manual, decision_id)


@functools.lru_cache(maxsize=256)
def _manual(channels: tuple[str, ...]) -> tuple[Alternative, ...]:
    """The manual alternatives of a channel list (a few lists serve a whole portfolio)."""
    return tuple(Alternative("manual", channel) for channel in channels)
