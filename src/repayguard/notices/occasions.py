"""Notices about occasions other than a change of methods — a complaint received, a complaint
resolved: written inside the caller's transaction, one per borrower, occasion and kind, and
delivered like every notice (inbox at once, external channels with retries and backoff)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from repayguard import borrowers
from repayguard.notices import repository
from repayguard.notices.messages import NoticeRef, NoticesCreated
from repayguard.notices.planning import OCCASION_KINDS, NoticeKind
from repayguard.notices.service import (
    NoticeInfo,
    NoticeSetup,
    delivery_rows,
    notice_infos,
    notice_locale,
)
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class RecordNotice:
    """Tell borrower ``borrower_id`` about ``occasion_id`` (what the notice is about, e.g. a
    complaint's id) with the notice of ``kind``, rendered from ``<locale>/<kind>.txt.j2`` with
    ``facts``. ``decision_id``: the decision the occasion concerns, if any.

    ``facts`` are what the template states — ids, dates, method names, outcomes — and never
    personal data or free text a person wrote: the notice leaves through external channels."""

    borrower_id: str
    kind: NoticeKind
    occasion_id: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    decision_id: str | None = None


def record_notice(cmd: RecordNotice, *, uow: UnitOfWork, setup: NoticeSetup) -> NoticeRef:
    """Write the notice of an occasion in the caller's open unit of work (it neither opens nor
    commits one, so the notice exists if and only if the caller's use-case commits).

    The notice is in the borrower's language (their profile locale, else
    ``setup.default_locale``), in their inbox at once and pending on every external channel;
    ``repayguard.notices.created`` in the same transaction has the dispatcher send it after
    the commit. A borrower gets one notice per occasion and kind: asked again, this returns
    the notice written before and writes nothing (the database refuses a second one, so of
    two concurrent callers one rolls back).
    """
    if cmd.kind not in OCCASION_KINDS:
        raise ValueError(
            f"{cmd.kind.value!r} notices are written for changes of methods; "
            f"record_notice writes {', '.join(sorted(OCCASION_KINDS))}"
        )
    session = uow.session
    kind = cmd.kind.value
    written = repository.occasion_notice(session, cmd.borrower_id, cmd.occasion_id, kind)
    if written is not None:
        return NoticeRef(
            written.notice_id, cmd.borrower_id, kind, written.decision_id, cmd.occasion_id
        )
    now = uow.clock.now()
    profile = borrowers.locales(session, [cmd.borrower_id]).get(cmd.borrower_id)
    locale = notice_locale(profile, setup)
    rendered = setup.composer.render_occasion(cmd.kind, locale, cmd.facts)
    notice_id = uuid.uuid4().hex
    repository.add(
        session,
        [
            {
                "notice_id": notice_id,
                "borrower_id": cmd.borrower_id,
                "kind": kind,
                "decision_id": cmd.decision_id,
                "rule_id": None,
                "occasion_id": cmd.occasion_id,
                "locale": locale,
                "subject": rendered.subject[:300],
                "body": rendered.body,
                "reasons": [],
                "changes": [],
                "what_would_change": [],
                "effective_at": None,
                "created_at": now,
            }
        ],
        delivery_rows(notice_id, setup, now=now),
    )
    ref = NoticeRef(notice_id, cmd.borrower_id, kind, cmd.decision_id, cmd.occasion_id)
    uow.emit(Message(NoticesCreated(notices=(ref,))))
    return ref


def occasion_notices(
    borrower_id: str, occasion_ids: Sequence[str], *, uow: UnitOfWork
) -> dict[str, tuple[NoticeInfo, ...]]:
    """What the borrower was told about each of these occasions, oldest first, with each
    notice's delivery per channel; read in the caller's open unit of work. Occasions without
    a notice are absent."""
    rows = repository.about_occasions(uow.session, borrower_id, list(occasion_ids))
    found: dict[str, list[NoticeInfo]] = {}
    for notice in notice_infos(uow.session, rows):
        assert notice.occasion_id is not None  # about_occasions reads occasion notices only
        found.setdefault(notice.occasion_id, []).append(notice)
    return {occasion: tuple(listed) for occasion, listed in found.items()}
