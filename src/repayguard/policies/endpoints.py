"""HTTP endpoints of policies: thin, they call the same use-cases as ``repayguard policy``.

Wiring read from ``app.state``: ``uow`` (unit-of-work factory), ``policy_profiles``
(jurisdiction profiles; the shipped ones when absent) and ``portfolio_reader`` (the decision
log's latest inputs, for impact previews). The acting operator is the authenticated principal
when there is one, else the ``submitted_by`` of the body. Publishing a draft goes through
maker-checker: its route is in ``repayguard.approvals.endpoints``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status

from repayguard.core.policy import Profiles, policy_json_schema
from repayguard.errors import ConfigurationInvalid
from repayguard.identity import Caller, Principal
from repayguard.platform.dto import SQL_BIGINT_MAX, SQL_INTEGER_MAX, SQL_INTEGER_MIN
from repayguard.platform.web import UnitsOfWork
from repayguard.policies import review, service
from repayguard.policies.schemas import (
    CheckRead,
    DiffIn,
    DiffRead,
    DraftRead,
    ExplainIn,
    ImpactIn,
    ImpactRead,
    PolicyRefIn,
    PolicySourceIn,
    ProblemRead,
    TraceRead,
    VersionDetail,
    VersionPage,
    VersionRead,
)
from repayguard.policies.sources import check_text, content_hash_of, profiles

router = APIRouter(tags=["policies"])


def _profiles(request: Request) -> Profiles:
    found: Profiles | None = getattr(request.app.state, "policy_profiles", None)
    return found if found is not None else profiles()


def _actor(caller: Principal | None, given: str | None) -> str:
    label = getattr(caller, "label", None)
    return str(label or given or "anonymous")


def _ref(body: PolicyRefIn) -> review.PolicyRef:
    if body.source is not None:
        return review.SourceRef(body.source)
    if body.draft_id is not None:
        return review.DraftRef(body.draft_id)
    assert body.name is not None
    return review.VersionRef(body.name, body.version)


def _version(info: service.VersionInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "version": info.version,
        "content_hash": info.content_hash,
        "jurisdiction": info.jurisdiction,
        "hit_policy": info.hit_policy,
        "rows": info.rows,
        "draft_id": info.draft_id,
        "published_by": info.published_by,
        "published_at": info.published_at,
    }


@router.get("/v1/policies/schema")
def policy_schema() -> dict[str, Any]:
    """The JSON Schema of the policy document (for editors)."""
    return policy_json_schema()


@router.post("/v1/policies/check", response_model=CheckRead)
def check(body: PolicySourceIn, request: Request) -> CheckRead:
    """Run every static check; always 200, with ``valid`` and every problem found."""
    result = check_text(body.source, profiles=_profiles(request))
    return CheckRead(
        valid=result.valid,
        name=result.policy.name if result.policy else None,
        content_hash=content_hash_of(result.policy) if result.policy else None,
        problems=[ProblemRead.model_validate(p.as_dict()) for p in result.problems],
    )


@router.post("/v1/policies/drafts", response_model=DraftRead, status_code=status.HTTP_201_CREATED)
def submit(body: PolicySourceIn, request: Request, work: UnitsOfWork, caller: Caller) -> DraftRead:
    """Store a draft that passes every check; 422 ``policy_rejected`` with every problem."""
    info = service.submit_policy(
        service.SubmitPolicy(body.source, _actor(caller, body.submitted_by)),
        uow=work(),
        profiles=_profiles(request),
    )
    return DraftRead.model_validate(info, from_attributes=True)


@router.get("/v1/policies/drafts/{draft_id}", response_model=DraftRead)
def draft(draft_id: str, request: Request, work: UnitsOfWork) -> DraftRead:
    info, _ = service.get_draft(draft_id, uow=work())
    return DraftRead.model_validate(info, from_attributes=True)


@router.get("/v1/policies/versions", response_model=VersionPage)
def versions(
    request: Request,
    work: UnitsOfWork,
    name: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_BIGINT_MAX)] = 0,
) -> VersionPage:
    """Published versions, newest first per policy name."""
    page = service.list_versions(service.ListPolicyVersions(name, limit, offset), uow=work())
    return VersionPage(
        items=[VersionRead.model_validate(_version(v)) for v in page.items],
        total=page.total,
        limit=limit,
        offset=offset,
    )


def _detail(info: service.VersionInfo) -> VersionDetail:
    assert info.policy is not None
    return VersionDetail.model_validate(
        {**_version(info), "source": info.source, "document": info.policy.model_dump(mode="json")}
    )


@router.get("/v1/policies/versions/{name}", response_model=VersionDetail)
def latest_version(name: str, request: Request, work: UnitsOfWork) -> VersionDetail:
    """The latest published version of a policy, with its source and canonical document."""
    return _detail(service.get_version(service.GetPolicyVersion(name), uow=work()))


@router.get("/v1/policies/versions/{name}/{version}", response_model=VersionDetail)
def one_version(
    name: str,
    version: Annotated[int, Path(ge=SQL_INTEGER_MIN, le=SQL_INTEGER_MAX)],
    request: Request,
    work: UnitsOfWork,
) -> VersionDetail:
    """One published version, with its source and canonical document."""
    info = service.get_version(service.GetPolicyVersion(name, version), uow=work())
    return _detail(info)


@router.post("/v1/policies/diff", response_model=DiffRead)
def diff(body: DiffIn, request: Request, work: UnitsOfWork) -> DiffRead:
    """Rows added, removed, changed and moved, and every changed field."""
    found = review.diff(
        review.DiffPolicies(_ref(body.before), _ref(body.after)),
        uow=work(),
        profiles=_profiles(request),
    )
    return DiffRead.model_validate(found.as_dict())


@router.post("/v1/policies/impact", response_model=ImpactRead)
def impact(body: ImpactIn, request: Request, work: UnitsOfWork) -> ImpactRead:
    """How many borrowers' methods the candidate would change, by tier and direction."""
    reader: review.PortfolioReader | None = getattr(request.app.state, "portfolio_reader", None)
    if reader is None:
        raise ConfigurationInvalid("impact previews need the decision log's portfolio reader")
    report = review.preview_impact(
        review.PreviewImpact(_ref(body.candidate), body.samples),
        uow=work(),
        profiles=_profiles(request),
        portfolio=reader,
    )
    return ImpactRead.model_validate(report.as_dict())


@router.post("/v1/policies/explain", response_model=TraceRead)
def explain(body: ExplainIn, request: Request, work: UnitsOfWork) -> TraceRead:
    """The trace of one decision: rows tested and why, outcome, guardrail, what would change."""
    trace = review.explain_inputs(
        review.ExplainInputs(
            _ref(body.policy),
            body.inputs,
            body.current.model_dump() if body.current is not None else None,
        ),
        uow=work(),
        profiles=_profiles(request),
    )
    return TraceRead.model_validate(trace.as_dict())
