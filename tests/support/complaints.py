"""Builders for complaint tests: file and resolve cases, read a borrower's entitlement and
latest decision, a policy whose open-appeal row lifts restrictions instead of keeping them."""

from __future__ import annotations

from typing import Any, Literal

from repayguard import complaints, decisions, entitlements
from repayguard.bootstrap import Container

from support.builders import policy_text
from support.notices import SOME_FAILED_DEBITS_ROW

STATEMENT = "I paid every instalment by card; the debits failed because the bank changed my card."

SUSPENDING_POLICY = policy_text(
    "appeal-suspends",
    """\
inputs:
  failed_debits_30d: {type: integer, minimum: 0}
  open_appeal: {type: boolean}
hit_policy: first
rows:
  - id: appeal-suspends
    description: An open appeal suspends every restriction until it is resolved.
    when: {open_appeal: "true"}
    then: {auto_debit: optional, early_repayment: allowed, manual: allowed}
    reasons: [APPEAL_PENDING]
  - id: failing-debits
    when: {failed_debits_30d: ">= 3"}
    then: {auto_debit: disabled, early_repayment: restricted}
    reasons: [REPEATED_FAILED_DEBITS]
    notice_days: 0
    max_days: 30
    review_after_days: 14
""",
)
"""Unlike the shipped policy (``appeal-freeze`` keeps the methods), this one suspends them."""

FREEZING_POLICY = policy_text(
    "appeal-freezes",
    """\
inputs:
  failed_debits_30d: {type: integer, minimum: 0}
  open_appeal: {type: boolean}
hit_policy: first
rows:
  - id: appeal-freeze
    description: An open appeal keeps the methods the borrower has now.
    when: {open_appeal: "true"}
    then: keep
    reasons: [APPEAL_PENDING]
"""
    + SOME_FAILED_DEBITS_ROW,
)
"""Like the shipped policy (``keep`` while an appeal is open), with a notice period to pre-empt."""


def setup_of(container: Container) -> complaints.ComplaintSetup:
    assert container.complaints is not None
    return container.complaints


def file(
    container: Container,
    borrower: str,
    contested: tuple[str, ...] = ("auto_debit",),
    **options: Any,
) -> complaints.ComplaintInfo:
    return complaints.file_complaint(
        complaints.FileComplaint(
            borrower, options.pop("statement", STATEMENT), contested, **options
        ),
        uow=container.uow(),
        setup=setup_of(container),
    )


def resolve(
    container: Container,
    complaint_id: str,
    who: str,
    outcome: Literal["uphold", "reverse"],
    comment: str = "checked",
) -> complaints.ComplaintInfo:
    return complaints.resolve_complaint(
        complaints.ResolveComplaint(complaint_id, who, outcome, comment),
        uow=container.uow,
        setup=setup_of(container),
    )


def entitlement(container: Container, borrower: str) -> entitlements.Entitlement:
    with container.session_factory() as session:
        return entitlements.load(session, [borrower])[borrower]


def latest_decision(container: Container, borrower: str) -> decisions.LoggedDecision:
    with container.session_factory() as session:
        (newest,) = decisions.recent_decisions(session, borrower, limit=1)
        return newest


def published(container: Container, name: str) -> list[dict[str, Any]]:
    bus = container.bus
    return [m.payload for m in getattr(bus, "published", []) if m.name == name]
