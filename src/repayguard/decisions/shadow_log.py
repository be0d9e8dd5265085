"""Queries over the shadow log (``shadow_decisions``) beside the decision log; read-only.

Shadow mode (:mod:`repayguard.shadow`) reads the challenger's outcomes through these, so the
decision log's tables stay this capability's own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from repayguard.decisions.models import DecisionRow, DecisionRunRow, ShadowDecisionRow

METHODS = ("auto_debit", "early_repayment", "manual")


def shadow_counts(session: Session, challenger_hash: str) -> tuple[int, int, int]:
    """(decisions compared, those that differ, distinct borrowers behind the differences)."""
    shadow = ShadowDecisionRow
    compared, differ = session.execute(
        select(func.count(), func.count().filter(shadow.differs)).where(
            shadow.challenger_hash == challenger_hash
        )
    ).one()
    borrowers = session.scalar(
        select(func.count(func.distinct(shadow.borrower_id))).where(
            and_(shadow.challenger_hash == challenger_hash, shadow.differs)
        )
    )
    return int(compared), int(differ), int(borrowers or 0)


def shadow_transitions(session: Session, challenger_hash: str) -> list[tuple[str, str, str, int]]:
    """Per method, (method, champion state, challenger state, decisions) where they differ."""
    found: list[tuple[str, str, str, int]] = []
    for method in METHODS:
        champion = getattr(DecisionRow, method)
        challenger = getattr(ShadowDecisionRow, method)
        rows = session.execute(
            select(champion, challenger, func.count())
            .join(DecisionRow, DecisionRow.decision_id == ShadowDecisionRow.decision_id)
            .where(ShadowDecisionRow.challenger_hash == challenger_hash, champion != challenger)
            .group_by(champion, challenger)
            .order_by(func.count().desc())
        ).all()
        found.extend((method, str(a), str(b), int(n)) for a, b, n in rows)
    return found


def shadow_disagreements(
    session: Session, challenger_hash: str, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The most recent differing decisions, the champion's and challenger's outcome side by
    side (newest decision time first)."""
    d, s = DecisionRow, ShadowDecisionRow
    rows = session.execute(
        select(
            s.decision_id,
            s.run_id,
            s.borrower_id,
            s.as_of,
            d.tier,
            d.rule_id,
            d.auto_debit,
            d.early_repayment,
            d.manual,
            d.manual_channels,
            d.reasons,
            s.rule_id,
            s.auto_debit,
            s.early_repayment,
            s.manual,
            s.manual_channels,
            s.reasons,
        )
        .join(d, d.decision_id == s.decision_id)
        .where(s.challenger_hash == challenger_hash, s.differs)
        .order_by(s.as_of.desc(), s.decision_id)
        .limit(limit)
        .offset(offset)
    ).all()
    out = []
    for r in rows:
        out.append(
            {
                "decision_id": r[0],
                "run_id": r[1],
                "borrower_id": r[2],
                "as_of": r[3],
                "tier": int(r[4]),
                "champion": _outcome(r[5:11]),
                "challenger": _outcome(r[11:17]),
            }
        )
    return out


def shadow_latest_pairs(session: Session, challenger_hash: str) -> list[tuple[str, bool, bool]]:
    """Each borrower's latest shadowed decision: (borrower, champion restricted, challenger
    restricted) — what the fairness comparison reads."""
    d, s = DecisionRow, ShadowDecisionRow
    latest = (
        select(s.borrower_id, func.max(s.as_of).label("as_of"))
        .where(s.challenger_hash == challenger_hash)
        .group_by(s.borrower_id)
        .subquery()
    )
    rows = session.execute(
        select(
            s.borrower_id,
            d.auto_debit,
            d.early_repayment,
            d.manual,
            s.auto_debit,
            s.early_repayment,
            s.manual,
        )
        .join(d, d.decision_id == s.decision_id)
        .join(latest, and_(latest.c.borrower_id == s.borrower_id, latest.c.as_of == s.as_of))
        .where(s.challenger_hash == challenger_hash)
    ).all()
    seen: dict[str, tuple[str, bool, bool]] = {}
    for r in rows:
        seen[r[0]] = (r[0], _restricted(r[1], r[2], r[3]), _restricted(r[4], r[5], r[6]))
    return list(seen.values())


def _restricted(auto_debit: str, early: str, manual: str) -> bool:
    return auto_debit != "optional" or early != "allowed" or manual != "allowed"


def _outcome(values: Any) -> dict[str, Any]:
    rule_id, auto_debit, early, manual, channels, reasons = values
    return {
        "rule_id": rule_id,
        "states": {
            "auto_debit": auto_debit,
            "early_repayment": early,
            "manual": manual,
            "manual_channels": list(channels),
        },
        "reasons": list(reasons),
    }


def runs_between(session: Session, start: Any, end: Any) -> list[tuple[str, Any]]:
    """Recorded decision runs with an as-of time in [start, end]: (run_id, as_of), in order."""
    rows = session.execute(
        select(DecisionRunRow.run_id, DecisionRunRow.as_of)
        .where(DecisionRunRow.as_of >= start, DecisionRunRow.as_of <= end)
        .order_by(DecisionRunRow.as_of, DecisionRunRow.started_at)
    ).all()
    return [(r[0], r[1]) for r in rows]


def logged_states(session: Session, run_id: str) -> list[tuple[str, str, str, str, str]]:
    """What run ``run_id`` decided: (borrower, rule, auto_debit, early_repayment, manual)."""
    d = DecisionRow
    rows = session.execute(
        select(d.borrower_id, d.rule_id, d.auto_debit, d.early_repayment, d.manual)
        .where(d.run_id == run_id)
        .order_by(d.borrower_id)
    ).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
