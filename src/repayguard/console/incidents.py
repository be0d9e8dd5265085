"""Incidents pages: the monitoring incidents (unresolved first by default) and one incident
with what moved and its evidence chart — the metric against its baseline, and the detector's
statistic against its control limits, the out-of-control days marked."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from repayguard import monitoring
from repayguard.console.web import PREFIX, render
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)
STATES: Final = ("unresolved", "open", "acknowledged", "resolved", "all")
_PAGE: Final = 50


@router.get(f"{PREFIX}/incidents")
def incidents_page(request: Request, work: UnitsOfWork, state: str = "unresolved") -> Response:
    """Incidents of one state (unresolved unless asked), newest first."""
    state = state if state in STATES else "unresolved"
    page = monitoring.list_incidents(
        uow=work(), state=None if state == "all" else state, limit=_PAGE
    )
    return render(
        request,
        "incidents.html",
        page=page,
        state=state,
        states=STATES,
        now=request.app.state.clock.now(),
    )


@router.get(f"{PREFIX}/incidents/{{incident_id}}")
def incident_page(request: Request, work: UnitsOfWork, incident_id: str) -> Response:
    """One incident: the facts, its alerts and the evidence chart."""
    found = monitoring.get_incident(incident_id, uow=work())
    return render(
        request,
        "incident.html",
        i=found,
        chart=evidence_chart(found),
        now=request.app.state.clock.now(),
    )


def evidence_chart(found: monitoring.IncidentInfo) -> dict[str, Any]:
    """A plotly figure (as data) of the incident's chart: the metric's daily value with its
    in-control baseline above, the detector's statistic between its limits below."""
    points = found.evidence
    days = [p["day"] for p in points]
    flagged = [p for p in points if p["alarm"]]
    cusum = found.detector == monitoring.CUSUM
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines+markers", "name": found.metric, "x": days,
         "y": [p["value"] for p in points], "line": {"color": "#34495e"},
         "marker": {"size": 4}},
        {"type": "scatter", "mode": "lines", "name": "baseline", "x": [days[0], days[-1]],
         "y": [found.baseline, found.baseline], "line": {"color": "#7f8c8d", "dash": "dot"}},
        {"type": "scatter", "mode": "markers", "name": "out of control",
         "x": [p["day"] for p in flagged], "y": [p["value"] for p in flagged],
         "marker": {"color": "#c0392b", "size": 8, "symbol": "circle-open"}},
        {"type": "scatter", "mode": "lines", "name": "C⁺" if cusum else "EWMA", "x": days,
         "y": [p["up"] for p in points], "yaxis": "y2", "line": {"color": "#d9822b"}},
        {"type": "scatter", "mode": "lines", "name": "upper limit", "x": days,
         "y": [p["upper"] for p in points], "yaxis": "y2",
         "line": {"color": "#c0392b", "dash": "dash"}},
        {"type": "scatter", "mode": "lines", "name": "lower limit", "x": days,
         "y": [p["lower"] for p in points], "yaxis": "y2",
         "line": {"color": "#c0392b", "dash": "dash"}},
    ]  # fmt: skip
    if cusum:
        traces.insert(
            4,
            {"type": "scatter", "mode": "lines", "name": "−C⁻", "x": days,
             "y": [p["down"] for p in points], "yaxis": "y2", "line": {"color": "#8e44ad"}},
        )  # fmt: skip
    layout = {
        "height": 460,
        "margin": {"l": 56, "r": 16, "t": 16, "b": 40},
        "legend": {"orientation": "h", "y": -0.12},
        "yaxis": {"domain": [0.55, 1], "title": {"text": "value"}},
        "yaxis2": {"domain": [0, 0.45], "title": {"text": found.detector}, "anchor": "x"},
        "shapes": [
            {"type": "rect", "xref": "x", "yref": "paper", "x0": found.since_day.isoformat(),
             "x1": found.last_day.isoformat(), "y0": 0, "y1": 1,
             "fillcolor": "rgba(192, 57, 43, 0.08)", "line": {"width": 0}},
        ],
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }  # fmt: skip
    return {"data": traces, "layout": layout}
