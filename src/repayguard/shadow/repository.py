"""Every query of the challenger setting (one row); nothing here commits."""

from __future__ import annotations

from sqlalchemy.orm import Session

from repayguard.shadow.models import ChallengerRow

SLOT = "challenger"


def get_challenger(session: Session) -> ChallengerRow | None:
    return session.get(ChallengerRow, SLOT)


def put_challenger(session: Session, row: ChallengerRow) -> None:
    session.merge(row)


def delete_challenger(session: Session) -> bool:
    row = session.get(ChallengerRow, SLOT)
    if row is None:
        return False
    session.delete(row)
    return True
