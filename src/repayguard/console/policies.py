"""Policy pages: the published versions (and which one decides now), one version as a readable
decision table, and the difference between two versions with what the newer one would change
over today's portfolio — through the same use-cases as ``repayguard policy`` and the API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from repayguard import policies
from repayguard.console.web import PREFIX, render
from repayguard.core.policy import CompiledPolicy, JurisdictionProfile, Outputs, Policy, Row
from repayguard.core.policy.diff import FieldChange, PolicyDiff
from repayguard.core.policy.impact import ImpactReport
from repayguard.core.policy.outcome import METHODS, OPEN
from repayguard.core.reasons import UnknownReasonCode, explain
from repayguard.platform.dto import SQL_INTEGER_MAX, SQL_INTEGER_MIN
from repayguard.platform.uow import UnitOfWorkFactory
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)
VERSIONS: Final = 500
"""Versions the list reads at once (every name's history; far more than any lender keeps)."""
LABELS: Final = {
    "auto_debit": "Auto-debit",
    "early_repayment": "Early repayment",
    "manual": "Manual repayment",
    "manual_channels": "Manual channels",
}


@router.get(f"{PREFIX}/policies")
def versions(request: Request, work: UnitsOfWork) -> Response:
    """Published versions grouped by policy name, newest first, the one in force marked."""
    page = policies.list_versions(policies.ListPolicyVersions(limit=VERSIONS), uow=work())
    groups: dict[str, list[policies.VersionInfo]] = {}
    for info in page.items:
        groups.setdefault(info.name, []).append(info)
    compiled = _compiled(request)
    return render(
        request,
        "policies.html",
        groups=groups,
        total=page.total,
        shown=len(page.items),
        engine=_engine_view(compiled),
        in_force=_in_force(compiled, page.items),
        now=request.app.state.clock.now(),
    )


@router.get(f"{PREFIX}/policies/diff")
def compare(
    request: Request,
    uow: UnitsOfWork,
    name: str = "",
    before: Annotated[int | None, Query(alias="from", ge=1, le=SQL_INTEGER_MAX)] = None,
    after: Annotated[int | None, Query(alias="to", ge=1, le=SQL_INTEGER_MAX)] = None,
) -> Response:
    """What changes from version ``from`` to ``to`` (the two latest when not given; the only
    policy when no name is), and what ``to`` would change for today's borrowers if it went
    live now."""
    name = name.strip()
    listed = policies.list_versions(policies.ListPolicyVersions(limit=VERSIONS), uow=uow())
    names = sorted({v.name for v in listed.items})
    if not name and len(names) == 1:
        name = names[0]
    numbers = [v.version for v in listed.items if v.name == name]
    if before is None and after is None and len(numbers) >= 2:
        after, before = numbers[0], numbers[1]
    context: dict[str, Any] = {"name": name, "names": names, "numbers": numbers}
    if not name or before is None or after is None or before == after:
        return render(
            request,
            "policy_diff.html",
            **context,
            before=before,
            after=after,
            found=None,
            why=_why_no_diff(name, names, numbers, before, after),
        )
    profiles = _profiles(request)
    found = policies.diff(
        policies.DiffPolicies(policies.VersionRef(name, before), policies.VersionRef(name, after)),
        uow=uow(),
        profiles=profiles,
    )
    old = policies.get_version(policies.GetPolicyVersion(name, before), uow=uow())
    new = policies.get_version(policies.GetPolicyVersion(name, after), uow=uow())
    # The headings name both numbers: the version field's own change says nothing more.
    changed = (c for c in (*found.document, *found.inputs, *found.channels) if c.field != "version")
    fields = [_change_view(c) for c in changed]
    rows = _row_changes(found, old.policy, new.policy)
    impact = _impact(request, uow, policies.VersionRef(name, after), profiles)
    compiled = _compiled(request)
    return render(
        request,
        "policy_diff.html",
        **context,
        before=before,
        after=after,
        found=found,
        old=old,
        new=new,
        counts=found.counts(),
        fields=fields,
        rows=rows,
        same=not fields and not rows,
        impact=_impact_view(impact) if impact is not None else None,
        engine=_engine_view(compiled),
        in_force=_in_force(compiled, [old, new]),
        now=request.app.state.clock.now(),
    )


@router.get(f"{PREFIX}/policies/{{name}}/{{version}}")
def version(
    request: Request,
    uow: UnitsOfWork,
    name: str,
    version: Annotated[int, Path(ge=SQL_INTEGER_MIN, le=SQL_INTEGER_MAX)],
) -> Response:
    """One published version as a decision table: inputs, rows, reasons in plain words, terms,
    and the jurisdiction profile it was checked against."""
    info = policies.get_version(policies.GetPolicyVersion(name, version), uow=uow())
    policy = info.policy
    assert policy is not None  # a single version is read with its policy
    others = policies.list_versions(policies.ListPolicyVersions(name, limit=VERSIONS), uow=uow())
    compiled = _compiled(request)
    return render(
        request,
        "policy.html",
        info=info,
        policy=policy,
        inputs=_inputs_view(policy),
        channels=policy.channels,
        rows=[_row_view(policy, row, n) for n, row in enumerate(policy.rows, start=1)],
        profile=_profiles(request).get(policy.jurisdiction),
        forbidden=_forbidden(_profiles(request).get(policy.jurisdiction)),
        others=[v.version for v in others.items if v.version != version],
        in_force=_in_force(compiled, [info]),
        engine=_engine_view(compiled),
        labels=LABELS,
        now=request.app.state.clock.now(),
    )


def _compiled(request: Request) -> CompiledPolicy | None:
    """The policy the decision engine decides with right now (None while none is in force)."""
    engine = request.app.state.container.engines.loaded
    return None if engine is None else engine.compiled


def _profiles(request: Request) -> dict[str, JurisdictionProfile]:
    found: dict[str, JurisdictionProfile] | None = getattr(
        request.app.state, "policy_profiles", None
    )
    return found if found is not None else policies.profiles()


def _engine_view(compiled: CompiledPolicy | None) -> dict[str, str] | None:
    if compiled is None:
        return None
    return {
        "name": compiled.policy.name,
        "version": compiled.version,
        "hash": compiled.content_hash,
    }


def _in_force(
    compiled: CompiledPolicy | None, infos: Sequence[policies.VersionInfo]
) -> tuple[str, int] | None:
    """The published version the engine decides with (same name and content hash), if it is
    among ``infos``; None under a development override or while nothing is in force."""
    if compiled is None:
        return None
    for info in infos:
        if info.name == compiled.policy.name and info.content_hash == compiled.content_hash:
            return info.name, info.version
    return None


def _why_no_diff(
    name: str, names: list[str], numbers: list[int], before: int | None, after: int | None
) -> str:
    if not names:
        return "No policy has been published yet, so there is nothing to compare."
    if not name:
        return "Pick a policy and two of its versions to compare."
    if not numbers:
        return f"No version of {name} has been published."
    if len(numbers) < 2:
        return f"{name} has only version {numbers[0]}: publish another version to compare."
    if before is not None and before == after:
        return "Pick two different versions: a version does not differ from itself."
    return "Pick both versions to compare."


def _impact(
    request: Request,
    work: UnitOfWorkFactory,
    candidate: policies.VersionRef,
    profiles: dict[str, JurisdictionProfile],
) -> ImpactReport | None:
    """The impact preview of ``candidate`` (None where the app has no portfolio reader)."""
    reader: policies.PortfolioReader | None = getattr(request.app.state, "portfolio_reader", None)
    if reader is None:
        return None
    return policies.preview_impact(
        policies.PreviewImpact(candidate, samples=0),
        uow=work(),
        profiles=profiles,
        portfolio=reader,
    )


def _impact_view(report: ImpactReport) -> dict[str, Any]:
    """Counts per method and direction, the state transitions, and a plotly figure."""
    names = [LABELS[m] for m in METHODS]
    figure = {
        "data": [
            {
                "type": "bar",
                "name": "Would tighten",
                "x": names,
                "y": [report.by_method[m]["tighten"] for m in METHODS],
                "marker": {"color": "#c0392b"},
            },
            {
                "type": "bar",
                "name": "Would loosen",
                "x": names,
                "y": [report.by_method[m]["loosen"] for m in METHODS],
                "marker": {"color": "#1e7b4d"},
            },
        ],
        "layout": {
            "barmode": "group",
            "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
            "height": 260,
            "legend": {"orientation": "h", "y": -0.22},
            "yaxis": {"title": {"text": "borrowers"}, "rangemode": "tozero"},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }
    return {
        "report": report,
        "methods": [(LABELS[m], report.by_method[m]) for m in METHODS],
        "transitions": [{**t, "label": LABELS[t["method"]]} for t in report.transitions],
        "chart": figure if report.changed else None,
    }


def _shown(value: Any) -> str:
    """A field's value as a person reads it ("—" when absent on that side)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _change_view(change: FieldChange) -> dict[str, str]:
    return {
        "field": change.field,
        "before": _shown(change.before),
        "after": _shown(change.after),
    }


def _row_changes(
    found: PolicyDiff, before: Policy | None, after: Policy | None
) -> list[dict[str, Any]]:
    """Each changed row with its field changes; an added or removed row with its content."""
    assert before is not None  # single versions are read in full
    assert after is not None
    old = {row.id: (n, row) for n, row in enumerate(before.rows, start=1)}
    new = {row.id: (n, row) for n, row in enumerate(after.rows, start=1)}
    views = []
    for change in found.rows:
        whole = None
        if change.kind == "added":
            whole = _row_view(after, new[change.row_id][1], new[change.row_id][0])
        elif change.kind == "removed":
            whole = _row_view(before, old[change.row_id][1], old[change.row_id][0])
        views.append(
            {
                "row_id": change.row_id,
                "kind": change.kind,
                "before": None if change.before_position is None else change.before_position + 1,
                "after": None if change.after_position is None else change.after_position + 1,
                "changes": [_change_view(c) for c in change.changes],
                "row": whole,
            }
        )
    return views


def _inputs_view(policy: Policy) -> list[dict[str, str]]:
    views = []
    for name, spec in policy.inputs.items():
        if spec.enum:
            values = ", ".join(spec.enum)
        elif spec.minimum is not None or spec.maximum is not None:
            low = "…" if spec.minimum is None else f"{spec.minimum:g}"
            high = "…" if spec.maximum is None else f"{spec.maximum:g}"
            values = f"{low} to {high}"
        else:
            values = "any"
        views.append(
            {
                "name": name,
                "type": spec.type,
                "allowed": values + ("" if spec.nullable else " (always present)"),
                "description": spec.description,
            }
        )
    return views


def _row_view(policy: Policy, row: Row, position: int) -> dict[str, Any]:
    """A row as people read it: conditions, the effective method states (marking the ones
    it inherits from the default row), reasons in plain words, and its terms."""
    own = row.then if isinstance(row.then, Outputs) else None
    methods = policy.methods(row)
    states = []
    if own is not None:
        for method in METHODS:
            state = getattr(methods, method)
            states.append(
                {
                    "method": method,
                    "label": LABELS[method],
                    "state": state,
                    "open": state == OPEN[method],
                    "stated": getattr(own, method) is not None,
                }
            )
    channels = list(methods.manual_channels)
    return {
        "position": position,
        "id": row.id,
        "description": row.description,
        "default": not row.when,
        "when": [(name, _cell(text)) for name, text in row.when.items()],
        "keep": own is None,
        "states": states,
        "channels": channels,
        "channels_stated": own is not None and own.manual_channels is not None,
        "paid_channels": [c for c in channels if c not in policy.free_channels],
        "reasons": [_reason(code) for code in row.reasons],
        "requires_approval": row.requires_approval,
        "notice_days": row.notice_days,
        "max_days": row.max_days,
        "review_after_days": row.review_after_days,
        "restricts": any(not s["open"] for s in states),
    }


def _cell(text: str) -> str:
    return "any value" if text.strip() in ("", "-") else text


def _reason(code: str) -> dict[str, str]:
    """A reason code with what the borrower reads, in English and Chinese."""
    try:
        [en] = explain([code], "en")
        [zh] = explain([code], "zh-CN")
    except UnknownReasonCode:
        return {"code": code, "en": "No plain-language text in the reason catalog.", "zh": ""}
    return {"code": code, "en": en.text, "zh": zh.text}


def _forbidden(profile: JurisdictionProfile | None) -> list[dict[str, str]]:
    if profile is None:
        return []
    return [
        {"method": LABELS[rule.method], "states": ", ".join(rule.forbidden), "why": rule.why}
        for rule in profile.rules
    ]
