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
from typing import Final, Literal, NamedTuple

from repayguard.entitlements.errors import ChannelNotDeclared
from repayguard.entitlements.messages import EntitlementsChanged
from repayguard.entitlements.states import Entitlement, MethodStates
from repayguard.platform.messages import Message

NOT_YET_ASSESSED: Final = "NOT_YET_ASSESSED"
CHANNEL_NOT_OFFERED: Final = "CHANNEL_NOT_OFFERED"
MANUAL_FLOW_REQUIRED: Final = "MANUAL_FLOW_REQUIRED"

UnknownBorrower = Literal["allow_defaults", "deny"]
"""What authorize answers for a borrower never decided (``entitlements.unknown_borrower``)."""


# The three values made per authorize call are named tuples: immutable like frozen dataclasses,
# hashed in C (a frozen dataclass sets each field through ``object.__setattr__``, which made
# them a measurable part of the hottest call). A named tuple's own constructor is a Python
# function, though (~0.5 µs a call here): the hot path makes them with ``tuple.__new__``
# (``made``), the same object at a fifth of the cost.
made: Final = tuple.__new__


class AuthorizeRequest(NamedTuple):
    borrower_id: str
    method: str  # auto_debit | early_repayment | manual
    loan_id: str | None = None
    channel: str | None = None
    amount: float | None = None


class Alternative(NamedTuple):
    method: str
    channel: str | None = None


class AuthorizeResult(NamedTuple):
    """Allow or deny, the reason codes behind a denial, and what the borrower can use instead."""

    allowed: bool
    reasons: tuple[str, ...]
    alternatives: tuple[Alternative, ...]
    decision_id: str | None


class EntitlementView:
    """Entitlements by borrower, in memory; safe to read from many threads while updated.

    Besides the entitlements it holds what the policy in force tells authorize: its default
    states (for a borrower never decided) and its declared manual channels (the only channel
    names authorize accepts, besides those on a borrower's own list, which a previous version
    may have declared). ``unknown_borrower`` says what a borrower never decided gets:
    ``allow_defaults`` (the policy's default row, reason NOT_YET_ASSESSED) or ``deny``.
    """

    def __init__(
        self,
        *,
        defaults: MethodStates,
        channels: Iterable[str] = (),
        unknown_borrower: UnknownBorrower = "allow_defaults",
    ) -> None:
        self._policy = _PolicyTerms(defaults, frozenset(channels) | set(defaults.manual_channels))
        self._deny_unknown = unknown_borrower == "deny"
        self._by_borrower: dict[str, Entitlement] = {}

    @property
    def defaults(self) -> MethodStates:
        """What a borrower never decided gets (the policy in force's default row)."""
        return self._policy.defaults

    @property
    def channels(self) -> frozenset[str]:
        """The manual channels the policy in force declares."""
        return self._policy.channels

    def __len__(self) -> int:
        return len(self._by_borrower)

    def use_defaults(self, defaults: MethodStates, *, channels: Iterable[str] = ()) -> None:
        """What a borrower never decided gets from now on, and the channels authorize accepts
        (a newly published policy's default row and declared channels); one assignment, so a
        concurrent authorize sees the old or the new policy's terms, never a mix."""
        self._policy = _PolicyTerms(defaults, frozenset(channels) | set(defaults.manual_channels))

    def load(self, entitlements: Iterable[Entitlement]) -> None:
        self._by_borrower = {e.borrower_id: e for e in entitlements}

    def get(self, borrower_id: str) -> Entitlement | None:
        return self._by_borrower.get(borrower_id)

    def entitlements(self) -> list[Entitlement]:
        """A snapshot of every entitlement (for summaries; authorize reads one at a time)."""
        return list(self._by_borrower.values())

    def on_changed(self, message: Message[EntitlementsChanged]) -> None:
        """Bus handler for ``repayguard.entitlements.changed``."""
        for entitlement in message.fact.entitlements:
            self._by_borrower[entitlement.borrower_id] = entitlement

    def authorize(self, request: AuthorizeRequest, *, now: datetime) -> AuthorizeResult:
        """Allow or deny ``request`` under the borrower's entitlement in force at ``now``.

        Raises ChannelNotDeclared for a channel neither the policy in force nor the borrower's
        own list names (a typo, or another market's channel): a caller error, not a denial.
        """
        policy = self._policy
        entitlement = self._by_borrower.get(request.borrower_id)
        reasons: tuple[str, ...]
        if entitlement is None:
            states, reasons, decision_id = policy.defaults, (NOT_YET_ASSESSED,), None
        else:
            states = entitlement.states_at(now)
            reasons, decision_id = entitlement.reasons, entitlement.decision_id
        channel = request.channel
        if (
            channel is not None
            and channel not in policy.channels
            and channel not in states.manual_channels
        ):
            declared = ", ".join(sorted(policy.channels))
            raise ChannelNotDeclared(
                f"channel {channel!r} is not a manual repayment channel of the policy in force",
                hint=f"use one of its declared channels: {declared}",
                channel=channel,
                declared=sorted(policy.channels),
            )
        if entitlement is None and self._deny_unknown:
            return AuthorizeResult(False, (NOT_YET_ASSESSED,), (), None)
        return decide_authorization(states, request, reasons=reasons, decision_id=decision_id)


@dataclass(frozen=True, slots=True)
class _PolicyTerms:
    """What authorize takes from the policy in force (swapped whole when a version is
    published): the default row's states and the declared channels."""

    defaults: MethodStates
    channels: frozenset[str]


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
    # An allow names no alternatives: the manual list is looked up for a denial only.
    method = request.method
    if method == "auto_debit":
        if states.auto_debit == "disabled":
            return made(
                AuthorizeResult, (False, reasons, _manual(states.manual_channels), decision_id)
            )
        if states.manual == "forced":
            return made(
                AuthorizeResult,
                (
                    False,
                    (MANUAL_FLOW_REQUIRED, *reasons),
                    _manual(states.manual_channels),
                    decision_id,
                ),
            )
        return made(AuthorizeResult, (True, (), (), decision_id))
    if method == "early_repayment":
        if states.early_repayment == "allowed":
            return made(AuthorizeResult, (True, (), (), decision_id))
        return made(AuthorizeResult, (False, reasons, _manual(states.manual_channels), decision_id))
    if request.channel is None or request.channel in states.manual_channels:
        return made(AuthorizeResult, (True, (), (), decision_id))
    return made(
        AuthorizeResult,
        (False, (CHANNEL_NOT_OFFERED,), _manual(states.manual_channels), decision_id),
    )


@functools.lru_cache(maxsize=256)
def _manual(channels: tuple[str, ...]) -> tuple[Alternative, ...]:
    """The manual alternatives of a channel list (a few lists serve a whole portfolio)."""
    return tuple(Alternative("manual", channel) for channel in channels)
