"""The audit viewer: the chain's head, its records newest first (by action family, subject,
actor or borrower), and ``verify`` run from the page — the same walk as ``repayguard audit
verify``, against the signed checkpoints the settings name.

Borrowers are in the trail only as keyed pseudonyms. An auditor looking for one types the
borrower's id; the page pseudonymises it with the service's key and searches for that, and
shows the pair only for the id typed — never the other way round for what the table lists.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from repayguard import keys
from repayguard.audit import (
    AuditEntry,
    AuditQuery,
    VerifyChain,
    VerifyReport,
    chain_head,
    recent_records,
    verify_chain,
)
from repayguard.bootstrap import Container
from repayguard.console.web import PREFIX, form_of, render
from repayguard.platform.crypto import Pseudonymizer
from repayguard.platform.dto import SQL_BIGINT_MAX
from repayguard.platform.uow import UnitOfWorkFactory
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)
PAGE: Final = 50
PAYLOAD_CHARS: Final = 20_000
"""A run's record lists thousands of changes: the page shows the start, the export has all."""

# Action families offered as filters: key -> (label, action prefixes).
FAMILIES: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "events": ("Events", ("repayguard.events.",)),
    "decisions": ("Decisions", ("repayguard.decisions.", "repayguard.guardrail.")),
    "entitlements": ("Entitlements", ("repayguard.entitlements.",)),
    "policy": ("Policies", ("repayguard.policy.",)),
    "model": ("Models", ("repayguard.model.",)),
    "approval": ("Approvals", ("repayguard.approval.", "repayguard.emergency.")),
    "notices": ("Notices", ("repayguard.notices.",)),
    "complaint": ("Complaints", ("repayguard.complaint.",)),
    "borrowers": ("Borrower profiles", ("repayguard.borrowers.",)),
    "access": (
        "Sign-in and tokens",
        ("repayguard.login.", "repayguard.session.", "repayguard.token.", "repayguard.operator."),
    ),
}

# What each kind of break means, for someone who has not read the chain's code.
PROBLEMS: Final = {
    "altered": "A record was changed after it was written",
    "link_broken": "A record no longer follows the one before it",
    "missing": "Records were deleted",
    "out_of_order": "Records are out of order or repeated",
    "rewritten": "Records were rewritten after a checkpoint signed them",
    "truncated": "Records were removed from the end",
    "head_mismatch": "The chain's end does not match its head",
    "head_missing": "The chain's head is missing",
    "unsealed": "Records were added outside the audit trail",
    "checkpoint_unreadable": "A checkpoint file cannot be read",
    "checkpoint_forged": "A checkpoint's signature does not verify",
    "checkpoint_foreign": "A checkpoint belongs to another chain",
    "checkpoint_conflict": "Two signed checkpoints disagree",
    "checkpoint_missing": "Signed checkpoint files were removed",
}


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters as typed (what the form and the links carry)."""

    action: str = ""
    subject: str = ""
    actor: str = ""
    borrower: str = ""

    def href(self, **changes: str | int | None) -> str:
        """The audit page with these filters and ``changes`` (empty values left out); absolute,
        since the page is also the answer to the verify form's POST."""
        values: dict[str, Any] = {
            "action": self.action,
            "subject": self.subject,
            "actor": self.actor,
            "borrower": self.borrower,
            **changes,
        }
        query = urlencode({k: v for k, v in values.items() if v not in (None, "")})
        return f"{PREFIX}/audit?{query}" if query else f"{PREFIX}/audit"

    @property
    def any(self) -> bool:
        return bool(self.action or self.subject or self.actor or self.borrower)


@router.get(f"{PREFIX}/audit")
def audit_page(
    request: Request,
    work: UnitsOfWork,
    action: str = "",
    subject: str = "",
    actor: str = "",
    borrower: str = "",
    before_seq: Annotated[int | None, Query(le=SQL_BIGINT_MAX)] = None,
) -> Response:
    filters = Filters(action.strip(), subject.strip(), actor.strip(), borrower.strip())
    return _page(request, work, filters, before_seq=before_seq)


@router.post(f"{PREFIX}/audit/verify")
async def verify(request: Request, work: UnitsOfWork) -> Response:
    """Walk the whole chain now (in a worker thread: a long chain takes a while)."""
    await form_of(request)
    container: Container = request.app.state.container
    report, seconds = await run_in_threadpool(_verify, container)
    verified = _report_view(report, seconds)
    return await run_in_threadpool(
        _page, request, work, Filters(), before_seq=None, verified=verified
    )


def _verify(container: Container) -> tuple[VerifyReport, float]:
    """``repayguard audit verify``: the configured checkpoint folder and trusted keys."""
    paths = keys.key_paths(container.settings)
    cmd = VerifyChain(
        checkpoint_dir=paths.checkpoint_dir,
        trusted=keys.open_trusted_keys(paths),
        seal_within=paths.seal_every,
    )
    started = time.perf_counter()
    report = verify_chain(cmd, uow=container.uow())
    return report, time.perf_counter() - started


def _page(
    request: Request,
    work: UnitOfWorkFactory,
    filters: Filters,
    *,
    before_seq: int | None,
    verified: dict[str, Any] | None = None,
) -> Response:
    container: Container = request.app.state.container
    pseudonym = _pseudonym_of(filters.borrower, container) if filters.borrower else None
    query = AuditQuery(
        action_prefixes=_prefixes(filters.action),
        subject=filters.subject or None,
        actor=filters.actor or None,
        borrower=pseudonym,
        before_seq=before_seq if before_seq is None or before_seq > 0 else None,
    )
    page = recent_records(query, uow=work(), limit=PAGE)
    checkpoint_dir = keys.key_paths(container.settings).checkpoint_dir
    return render(
        request,
        "audit.html",
        head=chain_head(uow=work(), checkpoint_dir=checkpoint_dir),
        entries=[_entry_view(e, filters) for e in page.items],
        filters=filters,
        pills=_pills(filters),
        family=FAMILIES.get(filters.action, (filters.action, ()))[0] if filters.action else "",
        pseudonym=pseudonym,
        paged=before_seq is not None,
        older=filters.href(before_seq=page.older) if page.older else None,
        newest=filters.href(),
        verified=verified,
        now=request.app.state.clock.now(),
    )


def _pseudonym_of(typed: str, container: Container) -> str:
    """The pseudonym a borrower id appears as (a pseudonym typed is taken as it is)."""
    if typed.startswith("bp_"):
        return typed
    pseudonymizer: Pseudonymizer = container.pseudonymizer or keys.open_pseudonymizer(
        container.settings
    )
    return pseudonymizer.pseudonym(typed)


def _prefixes(action: str) -> tuple[str, ...]:
    """A family's prefixes, or what was typed as one prefix (a link may name one action)."""
    if not action:
        return ()
    if action in FAMILIES:
        return FAMILIES[action][1]
    return (action,)


def _pills(filters: Filters) -> list[tuple[str, str, bool]]:
    pills = [("Everything", filters.href(action=None), not filters.action)]
    for key, (label, _) in FAMILIES.items():
        pills.append((label, filters.href(action=key), filters.action == key))
    return pills


def _family_of(action: str) -> str:
    for label, prefixes in FAMILIES.values():
        if action.startswith(prefixes):
            return label
    return ""


def _entry_view(entry: AuditEntry, filters: Filters) -> dict[str, Any]:
    """One table row: short action, a link that narrows the page to the record's subject."""
    subject = entry.subject
    kind, _, ident = subject.partition(":")
    narrowed = (
        Filters(filters.action, borrower=ident)
        if kind == "borrower" and ident.startswith("bp_")
        else Filters(filters.action, subject=subject)
    )
    text = json.dumps(entry.payload, indent=2, ensure_ascii=False, sort_keys=True)
    cut = len(text) - PAYLOAD_CHARS
    return {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at,
        "actor": entry.actor,
        "action": entry.action.removeprefix("repayguard."),
        "full_action": entry.action,
        "family": _family_of(entry.action),
        "subject": subject,
        "subject_href": narrowed.href() if subject and subject != "-" else None,
        "hash": entry.hash_prefix,
        "payload": text[:PAYLOAD_CHARS] if cut > 0 else text,
        "cut": max(cut, 0),
        "fields": len(entry.payload),
    }


def _report_view(report: VerifyReport, seconds: float) -> dict[str, Any]:
    """The outcome of a walk in plain words (the numbers ``repayguard audit verify`` prints)."""
    problem = report.problem
    view: dict[str, Any] = {**report.as_dict(), "seconds": seconds}
    view.pop("problem")
    if problem is not None:
        view.update(
            kind=problem.kind,
            title=PROBLEMS.get(problem.kind, problem.kind.replace("_", " ").capitalize()),
            seq=problem.seq,
            since_seq=problem.since_seq,
            detail=problem.detail,
            show=Filters().href(before_seq=problem.seq + 1) if problem.seq > 0 else None,
        )
    return view
