"""What a reviewer sees of a case: the borrower's statement (the reading is audited), the
contested decision's lineage — policy version and hash, model version, rule, inputs, reasons
with their texts — its explanation (how the policy decided, what would change the outcome)
and the methods in force now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from repayguard import decisions, entitlements, policies
from repayguard.complaints.messages import (
    ComplaintViewed,
)
from repayguard.complaints.service import ComplaintInfo, ComplaintSetup, existing, info, told
from repayguard.complaints.statements import unseal
from repayguard.core.policy import CompiledPolicy
from repayguard.core.policy.explain import explain
from repayguard.core.policy.inputs import InputsInvalid, coerce_inputs
from repayguard.core.reasons import CATALOG, LOCALES
from repayguard.decisions import UNPUBLISHED, LoggedDecision
from repayguard.entitlements import Entitlement
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork
from repayguard.policies.errors import PolicyVersionNotFound, PolicyVersionTampered


@dataclass(frozen=True, slots=True)
class GetComplaint:
    """Read one case for review; ``reveal`` decrypts the statement (recorded on the audit
    trail with ``purpose``)."""

    complaint_id: str
    reveal: bool = True
    purpose: str = "complaint_review"


@dataclass(frozen=True, slots=True)
class ReasonText:
    code: str
    texts: dict[str, str]
    """locale → text (the code itself for a code outside the catalog)."""


@dataclass(frozen=True, slots=True)
class DecisionLineage:
    """The contested decision as logged, its reasons in words, and its explanation: the
    trace of the policy it was taken under (None, with ``note`` saying why, when that policy
    is neither in force nor published here)."""

    decision: LoggedDecision
    reasons: tuple[ReasonText, ...]
    explanation: dict[str, Any] | None
    explained_with: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class ComplaintCase:
    complaint: ComplaintInfo
    lineage: DecisionLineage | None
    """None only if the decision log lost the decision (it is append-only)."""
    current: Entitlement | None
    """The borrower's methods now (an approved reversal shows here as a manual override)."""


def get_complaint(cmd: GetComplaint, *, uow: UnitOfWork, setup: ComplaintSetup) -> ComplaintCase:
    """One case with everything a reviewer needs to decide it."""
    with uow:
        session = uow.session
        now = uow.clock.now()
        row = existing(session, cmd.complaint_id)
        statement = (
            unseal(setup.keyring, row.complaint_id, row.statement_enc) if cmd.reveal else None
        )
        found = decisions.find_decision(session, row.decision_id)
        lineage = lineage_of(found, session=session, setup=setup) if found is not None else None
        current = entitlements.load(session, [row.borrower_id]).get(row.borrower_id)
        case = ComplaintCase(
            info(row, now=now, told=told(uow, row), statement=statement),
            lineage,
            current,
        )
        if cmd.reveal:
            uow.emit(Message(ComplaintViewed.of(row, purpose=cmd.purpose[:100])))
            uow.commit()
    return case


def reason_texts(codes: tuple[str, ...]) -> tuple[ReasonText, ...]:
    return tuple(
        ReasonText(code, {locale: CATALOG.get(code, {}).get(locale, code) for locale in LOCALES})
        for code in codes
    )


def lineage_of(
    decision: LoggedDecision, *, session: Session, setup: ComplaintSetup
) -> DecisionLineage:
    """The decision's lineage and explanation under the policy it was taken with."""
    compiled, source = _policy_of(decision, session=session, setup=setup)
    reasons = reason_texts(decision.reasons)
    if compiled is None:
        note = source or (
            f"decided under policy version {decision.policy_version} "
            f"(content hash {decision.policy_hash[:12]}…), which is neither in force nor "
            "published in this database, so it cannot be traced again"
            if decision.policy_version != UNPUBLISHED
            else "decided under an unpublished policy file (a development override, sha256 "
            f"{decision.policy_hash[:12]}…) that is not in force now, so it cannot be traced "
            "again"
        )
        return DecisionLineage(decision, reasons, None, None, note)
    try:
        inputs = coerce_inputs(compiled.policy, decision.inputs)
    except InputsInvalid as invalid:
        return DecisionLineage(
            decision, reasons, None, source, f"the logged inputs do not fit the policy: {invalid}"
        )
    trace = explain(compiled, inputs, current=decision.states.as_dict())
    return DecisionLineage(decision, reasons, trace.as_dict(), source, None)


def _policy_of(
    decision: LoggedDecision, *, session: Session, setup: ComplaintSetup
) -> tuple[CompiledPolicy | None, str | None]:
    """The compiled policy with the decision's content hash: the one in force, or a published
    version of the same name and number; else None and, if there is more to say, why."""
    engine = setup.engine()
    if engine.compiled.content_hash == decision.policy_hash:
        return engine.compiled, "the policy in force"
    if not decision.policy_version.isdigit():  # 'unpublished': only a file held it
        return None, None
    ref = policies.VersionRef(engine.policy.name, int(decision.policy_version))
    try:
        policy = policies.resolve(ref, session=session, profiles=setup.approvals.profiles)
    except PolicyVersionNotFound:
        return None, None
    except PolicyVersionTampered as tampered:
        return None, f"the published policy version cannot be trusted: {tampered.message}"
    compiled = policies.compile_checked(policy, profiles=setup.approvals.profiles)
    if compiled.content_hash != decision.policy_hash:
        return None, None
    return compiled, f"published version {ref.name} v{ref.version}"
