"""The seven kinds of approval: what each payload holds, how it is checked, how it is applied.

Submitting turns what the maker gave into the *pinned payload* — everything approval will
apply, plus the fingerprints of what it refers to (a draft's content hash, a model card's
sha256, the decision a held decision replaces). Applying uses only the pinned payload and calls
the owning capability's use-case inside the approval's unit of work, which re-checks those
fingerprints, so a checker approves exactly what the maker submitted or nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import polars as pl
from sqlalchemy.orm import Session

from repayguard import decisions, entitlements, identity, overlays, policies, remedies, risk
from repayguard.approvals.documents import (
    EmergencyReviewDocument,
    ModelPromoteDocument,
    OverrideDocument,
    PlaybookApproveDocument,
    PolicyPublishDocument,
    parse,
)
from repayguard.approvals.errors import ApprovalPayloadInvalid
from repayguard.approvals.messages import EmergencyReviewed
from repayguard.approvals.models import ApprovalRequestRow
from repayguard.approvals.remedy_requests import settle_remedy
from repayguard.borrowers.errors import BorrowerNotFound
from repayguard.core.policy import CompiledPolicy, Profiles, guardrails
from repayguard.core.policy.outcome import restricts
from repayguard.core.reasons import is_known
from repayguard.decisions import DecisionEngine
from repayguard.entitlements import HeldDecision, MethodStates
from repayguard.errors import ApprovalPayloadChanged, NotFound
from repayguard.identity import OperatorRead
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork
from repayguard.policies.errors import PolicyDraftNotFound, PolicyVersionConflict

DEFAULT_LIFETIMES: Final[Mapping[str, timedelta]] = {
    "policy_publish": timedelta(days=7),
    "model_promote": timedelta(days=7),
    "override": timedelta(days=3),
    "decision": timedelta(days=3),
    "emergency_review": timedelta(days=2),
    "remedy": timedelta(days=7),
    "playbook_approve": timedelta(days=7),
}
"""How long a request waits for a checker before it expires, by kind."""


@dataclass(frozen=True, slots=True)
class ApprovalContext:
    """What approvals needs from the capabilities whose changes it governs: jurisdiction
    profiles (policy checks, override guardrails), the model registry, the decision engine in
    force (the policy's channels and default states), and how long requests stay open."""

    profiles: Profiles
    registry: risk.ModelRegistry
    engine: Callable[[], DecisionEngine]
    lifetimes: Mapping[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_LIFETIMES))


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready to store: what it is about, how the queue shows it, the pinned payload."""

    subject: str
    category: str
    summary: str
    payload: dict[str, Any]


def prepare(
    kind: str,
    given: Mapping[str, Any],
    *,
    session: Session,
    context: ApprovalContext,
    maker: OperatorRead,
    now: datetime,
) -> Prepared:
    """Check what the maker gave and pin it (see the module docstring)."""
    if kind == "policy_publish":
        return _prepare_publish(parse(PolicyPublishDocument, given), session)
    if kind == "model_promote":
        return _prepare_promote(parse(ModelPromoteDocument, given), session, context)
    if kind == "override":
        return _prepare_override(parse(OverrideDocument, given), session, context)
    if kind == "emergency_review":
        return _prepare_review(parse(EmergencyReviewDocument, given), session, maker, now)
    if kind == "playbook_approve":
        return _prepare_playbook(parse(PlaybookApproveDocument, given), session)
    raise ApprovalPayloadInvalid(f"requests of kind {kind!r} cannot be submitted by hand")


def _prepare_publish(doc: PolicyPublishDocument, session: Session) -> Prepared:
    draft = policies.find_draft(session, doc.draft_id)
    if draft is None:
        raise PolicyDraftNotFound(
            f"no policy draft {doc.draft_id!r}",
            hint="submit the policy first ('repayguard policy submit')",
        )
    if draft.published_version is not None:
        raise PolicyVersionConflict(
            f"draft {draft.draft_id} was already published as version "
            f"{draft.published_version} of {draft.name}"
        )
    # Checked again now (it was at submission): a version published since may have taken it.
    policies.check_stated_version(session, draft.name, draft.stated_version)
    return Prepared(
        subject=draft.name,
        category=draft.name,
        summary=f"publish {draft.name} from draft {draft.draft_id} ({draft.rows} rows)",
        payload={
            "draft_id": draft.draft_id,
            "name": draft.name,
            "content_hash": draft.content_hash,
            "stated_version": draft.stated_version,
            "rows": draft.rows,
            "submitted_by": draft.submitted_by,
        },
    )


def _prepare_playbook(doc: PlaybookApproveDocument, session: Session) -> Prepared:
    found = overlays.find_playbook(session, doc.name, doc.version)
    if found.state != "draft":
        raise ApprovalPayloadInvalid(f"playbook {doc.name} v{doc.version} is {found.state} already")
    tighten = ", ".join(f"{m} {s}" for m, s in found.content["tighten"].items())
    tiers = "/".join(found.content["segment"]["tiers"])
    return Prepared(
        subject=f"{doc.name}:{doc.version}",
        category=doc.name,
        summary=f"approve playbook {doc.name} v{doc.version}: {tiers} -> {tighten}",
        payload={
            "name": doc.name,
            "version": doc.version,
            "content_hash": found.content_hash,
            "submitted_by": found.submitted_by,
        },
    )


def _prepare_promote(
    doc: ModelPromoteDocument, session: Session, context: ApprovalContext
) -> Prepared:
    model = risk.check_promotable(doc.version, session=session, registry=context.registry)
    return Prepared(
        subject=model.version,
        category=model.kind,
        summary=f"promote {model.kind} model {model.version} to production",
        payload={
            "version": model.version,
            "kind": model.kind,
            "card_sha256": model.card_sha256,
            "created_by": model.created_by,
            "note": doc.note,
        },
    )


def _states(doc: OverrideDocument) -> MethodStates:
    return MethodStates(
        doc.auto_debit, doc.early_repayment, doc.manual, tuple(dict.fromkeys(doc.manual_channels))
    )


def _check_override(doc: OverrideDocument, context: ApprovalContext) -> None:
    """The guardrails an override must keep, against the policy in force: declared channels,
    G1 (a usable free manual channel), G2 (the jurisdiction), G3 (the minimum notice for a
    restriction), reasons from the catalogue."""
    policy = context.engine().policy
    states = _states(doc)
    problems = [
        f"channel {c!r} is not offered by policy {policy.name}"
        for c in states.manual_channels
        if c not in policy.channels
    ]
    free = policy.free_channels
    if states.manual not in ("allowed", "forced") or not any(
        c in free for c in states.manual_channels
    ):
        problems.append(f"G1: keep at least one free manual channel ({', '.join(sorted(free))})")
    profile = context.profiles.get(policy.jurisdiction)
    if profile is not None:
        problems += [f"G2: {v}" for v in profile.violations(states.as_dict())]
        if (
            restricts(states.as_dict(), policy.channels)
            and doc.notice_days < profile.min_notice_days
        ):
            problems.append(
                f"G3 ({profile.code}): a restriction needs at least {profile.min_notice_days} "
                "days' notice"
            )
    problems += [
        f"reason {r!r} is not in the reason catalogue" for r in doc.reasons if not is_known(r)
    ]
    if problems:
        raise ApprovalPayloadInvalid(
            f"the override for {doc.borrower_id} breaks a rule: " + "; ".join(problems),
            findings=problems,
        )


def _runtime_guardrail(doc: OverrideDocument, compiled: CompiledPolicy) -> None:
    """The runtime guardrail every decision passes (G1, G2 with the profile of the policy in
    force), run over the override about to be applied; an override is applied exactly as
    approved or not at all, so where a decision would be replaced it is refused."""
    frame = pl.DataFrame(
        [_states(doc).as_dict()],
        schema={
            "auto_debit": pl.String,
            "early_repayment": pl.String,
            "manual": pl.String,
            "manual_channels": pl.List(pl.String),
        },
    )
    note = guardrails.enforce(frame, compiled)["guardrail"][0]
    if note is not None:
        raise ApprovalPayloadInvalid(
            f"the override for {doc.borrower_id} fails the runtime guardrail of policy "
            f"{compiled.policy.name} {compiled.version}: {note}",
            findings=[note],
        )


def _prepare_override(
    doc: OverrideDocument, session: Session, context: ApprovalContext
) -> Prepared:
    _check_override(doc, context)
    if not entitlements.load(session, [doc.borrower_id]):
        raise BorrowerNotFound(
            f"no decision has been made for borrower {doc.borrower_id!r} yet",
            hint="check the borrower id; overrides change existing entitlements",
        )
    states = _states(doc)
    return Prepared(
        subject=doc.borrower_id,
        category="override",
        summary=f"override {doc.borrower_id}: {describe(states)} for {doc.days} days",
        payload={
            "borrower_id": doc.borrower_id,
            "states": states.as_dict(),
            "reasons": list(dict.fromkeys(doc.reasons)),
            "days": doc.days,
            "notice_days": doc.notice_days,
            "note": doc.note,
        },
    )


def _prepare_review(
    doc: EmergencyReviewDocument, session: Session, maker: OperatorRead, now: datetime
) -> Prepared:
    if doc.taken_at > now:
        raise ApprovalPayloadInvalid("an emergency action is reviewed after it was taken")
    # Who took the action must be a real operator, pinned by id: the checker exclusion below
    # compares ids, so "PAT" or " pat" cannot slip the one who acted past his own review.
    taken_by = maker
    if doc.taken_by is not None and doc.taken_by.strip():
        try:
            taken_by = identity.operator_named(session, doc.taken_by)
        except NotFound:
            raise ApprovalPayloadInvalid(
                f"taken_by: no operator named {doc.taken_by.strip()!r} took this action",
                hint="name the operator who took it (see 'repayguard user list'), or leave "
                "taken_by out when you took it yourself",
            ) from None
    return Prepared(
        subject=doc.action_id,
        category=doc.action,
        summary=f"review {doc.action} {doc.action_id} taken by {taken_by.username}",
        payload={
            "action_id": doc.action_id,
            "action": doc.action,
            "taken_at": doc.taken_at.isoformat(),
            "taken_by": taken_by.username,
            "taken_by_id": taken_by.operator_id,
            "scope": doc.scope,
            "description": doc.description,
        },
    )


def held_decision(held: HeldDecision) -> Prepared:
    """The request repayguard itself makes for a decision held for approval."""
    return Prepared(
        subject=held.borrower_id,
        category=held.rule_id,
        summary=f"{held.borrower_id}: {describe(held.states)} ({held.rule_id})",
        payload=held.as_payload(),
    )


def also_excluded(row: ApprovalRequestRow, checker: OperatorRead) -> bool:
    """Besides the maker, whether ``checker`` may not decide this request: he took the
    emergency action under review. Compared by operator id; a request pinned before ids were
    (no ``taken_by_id``) compares the name without case or surrounding spaces."""
    if row.kind != "emergency_review":
        return False
    taken_by_id = row.payload.get("taken_by_id")
    if taken_by_id:
        return bool(taken_by_id == checker.operator_id)
    taken_by = str(row.payload.get("taken_by") or "").strip().lower()
    return bool(taken_by) and taken_by == checker.username.strip().lower()


def apply(
    row: ApprovalRequestRow, *, uow: UnitOfWork, context: ApprovalContext, checker: OperatorRead
) -> dict[str, Any]:
    """Apply an approved request's pinned payload through its capability; returns what it
    did. Raises when what the payload refers to changed (ApprovalPayloadChanged) or the
    capability refuses; the caller's transaction then rolls back."""
    payload = row.payload
    approved_by = f"{row.maker_name}, approved by {checker.username}"
    if row.kind == "policy_publish":
        version = policies.publish_policy_within(
            policies.PublishPolicy(
                payload["draft_id"], approved_by, content_hash=payload["content_hash"]
            ),
            uow=uow,
            profiles=context.profiles,
        )
        return {
            "name": version.name,
            "version": version.version,
            "content_hash": version.content_hash,
        }
    if row.kind == "model_promote":
        model = risk.promote_model_within(
            risk.PromoteModel(
                payload["version"], approved_by, payload["note"], card_sha256=payload["card_sha256"]
            ),
            uow=uow,
            registry=context.registry,
        )
        return {"version": model.version, "state": model.state}
    if row.kind == "override":
        doc = OverrideDocument.model_validate(
            {k: v for k, v in payload.items() if k != "states"} | payload["states"]
        )
        _check_override(doc, context)  # the policy in force may have changed since submission
        _runtime_guardrail(doc, context.engine().compiled)
        entitlement = entitlements.apply_override(
            entitlements.ApplyOverride(
                borrower_id=doc.borrower_id,
                states=_states(doc),
                reasons=tuple(doc.reasons),
                days=doc.days,
                notice_days=doc.notice_days,
                note=doc.note,
                requested_by=row.maker_name,
                approved_by=checker.username,
                approval_id=row.request_id,
            ),
            uow=uow,
            defaults=context.engine().defaults,
        )
        return _entitlement_outcome(entitlement)
    if row.kind == "decision":
        held = HeldDecision.from_payload(payload)
        _check_logged(held, uow.session)
        entitlement = entitlements.release_decision(
            entitlements.ReleaseDecision(held, row.request_id, checker.username), uow=uow
        )
        return _entitlement_outcome(entitlement)
    if row.kind == "playbook_approve":
        playbook = overlays.approve_playbook_within(
            overlays.ApprovePlaybook(
                payload["name"], payload["version"], payload["content_hash"], approved_by
            ),
            uow=uow,
            profiles=context.profiles,
        )
        return {"name": playbook.name, "version": playbook.version, "state": playbook.state}
    if row.kind == "remedy":
        settled = remedies.approve_remedy_within(settle_remedy(row, checker), uow=uow)
        return {"remedy_id": settled.remedy_id, "state": settled.state}
    _reviewed(row, uow=uow, checker=checker, endorsed=True)
    return {"endorsed": True}


def on_rejected(row: ApprovalRequestRow, *, uow: UnitOfWork, checker: OperatorRead) -> None:
    """What a rejection records besides the request's state (an emergency review's verdict, a
    remedy refused)."""
    if row.kind == "emergency_review":
        _reviewed(row, uow=uow, checker=checker, endorsed=False)
    if row.kind == "remedy":
        remedies.refuse_remedy_within(settle_remedy(row, checker), uow=uow)


def _reviewed(
    row: ApprovalRequestRow, *, uow: UnitOfWork, checker: OperatorRead, endorsed: bool
) -> None:
    uow.emit(
        Message(
            EmergencyReviewed(
                subject=f"emergency:{row.payload['action_id']}",
                action_id=row.payload["action_id"],
                action=row.payload["action"],
                taken_by=row.payload["taken_by"],
                endorsed=endorsed,
                reviewed_by=checker.username,
                request_id=row.request_id,
            )
        )
    )


def _check_logged(held: HeldDecision, session: Session) -> None:
    """The held decision must be the one the decision log holds, unchanged."""
    logged = decisions.logged_outcome(session, held.decision_id)
    if logged is None or (
        logged["borrower_id"],
        logged["rule_id"],
        logged["states"],
        logged["reasons"],
    ) != (held.borrower_id, held.rule_id, held.states.as_dict(), list(held.reasons)):
        raise ApprovalPayloadChanged(
            f"decision {held.decision_id} is not in the decision log as it was held",
            hint="reject this request; the decision log is append-only, so check for tampering",
        )


def _entitlement_outcome(entitlement: entitlements.Entitlement) -> dict[str, Any]:
    return {
        "borrower_id": entitlement.borrower_id,
        "decision_id": entitlement.decision_id,
        "states": entitlement.states.as_dict(),
        "effective_at": entitlement.effective_at.isoformat(),
        "expires_at": entitlement.expires_at.isoformat() if entitlement.expires_at else None,
    }


def describe(states: MethodStates) -> str:
    """The states that differ from the open ones, in a few words (``auto_debit mandatory``)."""
    moved = [f"{m} {getattr(states, m)}" for m in states.restricted()]
    channels = f"channels {'/'.join(states.manual_channels)}"
    return ", ".join([*moved, channels]) if moved else f"all methods open, {channels}"
