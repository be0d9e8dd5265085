"""Outcome labels for model training: how people resolved contested decisions.

One row per resolved case — ``upheld`` (the decision stood) or ``reversed`` (a person changed
it, approved by a second) — with the decision's id and as-of time, so training can join the
features the decision saw (point-in-time at ``as_of``) and the model and rule that produced it.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from repayguard.complaints import repository
from repayguard.platform.uow import UnitOfWork


def outcome_labels(*, uow: UnitOfWork, since: datetime | None = None) -> pl.DataFrame:
    """The labels resolved at or after ``since`` (all when None), oldest first.

    Columns: ``complaint_id``, ``borrower_id``, ``decision_id``, ``as_of`` (the decision's
    time, UTC), ``rule_id``, ``model_version``, ``outcome`` (``upheld`` / ``reversed``),
    ``resolved_at`` (UTC). A borrower id is an identifier, not personal data; pseudonymise it
    before the frame leaves the lender (``platform.crypto.Pseudonymizer``).
    """
    with uow:
        return repository.labels(uow.session, since=since)
