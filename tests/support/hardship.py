"""Builders for hardship tests: open and close cases, and a policy whose open-hardship row keeps
the methods in force (like the shipped ``hardship-freeze``) beside a row with a notice period."""

from __future__ import annotations

from repayguard import hardship
from repayguard.bootstrap import Container

from support.builders import policy_text
from support.notices import SOME_FAILED_DEBITS_ROW

EVIDENCE = "Laid off on 2 February; severance letter on file. Expect new work by May."

HARDSHIP_FREEZING_POLICY = policy_text(
    "hardship-freezes",
    """\
inputs:
  failed_debits_30d: {type: integer, minimum: 0}
  open_hardship: {type: boolean}
hit_policy: first
rows:
  - id: hardship-freeze
    description: An open hardship case keeps the methods the borrower has now.
    when: {open_hardship: "true"}
    then: keep
    reasons: [HARDSHIP_PENDING]
"""
    + SOME_FAILED_DEBITS_ROW,
)
"""Like the shipped policy (``keep`` while a hardship case is open), with a notice period."""


def setup_of(container: Container) -> hardship.HardshipSetup:
    assert container.hardship is not None
    return container.hardship


def open_case(
    container: Container,
    borrower: str,
    reason: str = "job_loss",
    evidence: str = EVIDENCE,
    operator_id: str | None = None,
) -> hardship.HardshipInfo:
    return hardship.open_hardship(
        hardship.OpenHardship(borrower, reason, evidence, operator_id=operator_id),
        uow=container.uow(),
        setup=setup_of(container),
    )


def close_case(
    container: Container, case_id: str, who: str, outcome: str, note: str = "reviewed"
) -> hardship.HardshipInfo:
    return hardship.close_hardship(
        hardship.CloseHardship(case_id, who, outcome, note),
        uow=container.uow(),
        setup=setup_of(container),
    )
