"""Evaluation reports: a JSON document and an HTML page with plotly charts that opens offline."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Final

from repayguard.core.scoring import CrossValidation, Evaluation, TrainedModel
from repayguard.risk.registry import json_safe

FORMAT: Final = "repayguard.model-report/1"
_COLOURS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


@dataclass(frozen=True, slots=True)
class ReportEntry:
    """One model in a report: how it did on the report's data, and what it is."""

    model: TrainedModel
    evaluation: Evaluation
    role: str = "model"
    cross_validation: CrossValidation | None = None
    training: Evaluation | None = None


def build_report(
    *,
    title: str,
    generated_at: datetime,
    target: str,
    dataset: str,
    entries: Sequence[ReportEntry],
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The report as a JSON-ready document (NaN becomes null)."""
    models = []
    for entry in entries:
        section: dict[str, Any] = {
            "version": entry.model.version,
            "kind": entry.model.kind,
            "role": entry.role,
            "card": entry.model.card(),
            "evaluation": entry.evaluation.as_dict(),
            "cross_validation": entry.cross_validation.as_dict()
            if entry.cross_validation
            else None,
            "training": entry.training.headline() if entry.training else None,
            "details": _details(entry.model),
        }
        models.append(section)
    report: dict[str, Any] = {
        "format": FORMAT,
        "title": title,
        "generated_at": generated_at.isoformat(),
        "target": target,
        "dataset": {
            "name": dataset,
            "rows": entries[0].evaluation.rows if entries else 0,
            "events": entries[0].evaluation.events if entries else 0,
            "event_rate": entries[0].evaluation.event_rate if entries else None,
        },
        "models": models,
        "notes": list(notes),
    }
    if len(entries) > 1:
        base = entries[0]
        report["comparison"] = [
            {
                "version": other.model.version,
                "against": base.model.version,
                "auc_difference": other.evaluation.auc - base.evaluation.auc,
                "ks_difference": other.evaluation.ks - base.evaluation.ks,
            }
            for other in entries[1:]
        ]
    finite: dict[str, Any] = json_safe(report)
    return finite


def _details(model: TrainedModel) -> dict[str, Any]:
    """Kind-specific detail: a scorecard's points table, a booster's importance."""
    features = getattr(model, "features", None)
    if features is None:
        return {"importance": dict(getattr(model, "importance", {}))}
    table = []
    for feature in features:
        bins = [*feature.bins, feature.missing]
        for number, b in enumerate(bins):
            if number == len(bins) - 1:
                label = "missing / unseen"
            elif feature.input.categorical:
                label = ", ".join(b.categories)
            else:
                lower = bins[number - 1].upper if number else None
                label = f"[{_num(lower)}, {_num(b.upper)})"
            table.append(
                {
                    "input": feature.name,
                    "bin": label,
                    "points": b.points,
                    "woe": b.woe,
                    "count": b.count,
                    "event_rate": b.event_rate,
                }
            )
    return {
        "information_value": {f.name: f.iv for f in features},
        "points_table": table,
        "intercept": getattr(model, "intercept", None),
        "scale": getattr(model, "scale", None),
    }


def _num(value: float | None) -> str:
    if value is None:
        return "∞"
    return f"{value:,.4g}"


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page (plotly's JavaScript embedded)."""
    import jinja2
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files(__package__).joinpath("report.html.j2").read_text(encoding="utf-8")
    )
    return template.render(report=report, charts=_charts(report), plotly_js=get_plotlyjs())


def _charts(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(title, HTML div) per chart; the page loads plotly once for all of them."""
    import plotly.graph_objects as go  # type: ignore[import-untyped]

    models = report["models"]
    charts = []

    roc = go.Figure()
    for n, m in enumerate(models):
        ev = m["evaluation"]
        roc.add_trace(
            go.Scatter(
                x=ev["roc"]["fpr"], y=ev["roc"]["tpr"], mode="lines",
                name=f"{m['version']} (AUC {_fmt(ev['auc'])})", line={"color": _COLOURS[n % 5]},
            )
        )  # fmt: skip
    roc.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                             line={"dash": "dot", "color": "#999"}))  # fmt: skip
    roc.update_layout(xaxis_title="false positive rate", yaxis_title="true positive rate")
    charts.append(("ROC curve", roc))

    calibration = go.Figure()
    top = 0.0
    for n, m in enumerate(models):
        rows = m["evaluation"]["calibration"]
        xs = [r["mean_pd"] for r in rows]
        ys = [r["observed_rate"] for r in rows]
        top = max([top, *xs, *ys])
        calibration.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines+markers", name=m["version"],
                       line={"color": _COLOURS[n % 5]})
        )  # fmt: skip
    calibration.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name="perfect",
                                     line={"dash": "dot", "color": "#999"}))  # fmt: skip
    calibration.update_layout(
        xaxis_title="mean predicted PD (per tenth of rows)", yaxis_title="observed rate"
    )
    charts.append(("Calibration", calibration))

    for m in models:
        hist = m["evaluation"]["histogram"]
        edges = hist["edges"]
        mids = [math.sqrt(a * b) for a, b in itertools.pairwise(edges)]
        figure = go.Figure()
        figure.add_trace(go.Bar(x=mids, y=hist["non_events"], name="no 30+ DPD",
                                marker={"color": "#9ecae1"}))  # fmt: skip
        figure.add_trace(go.Bar(x=mids, y=hist["events"], name="30+ DPD",
                                marker={"color": "#d62728"}))  # fmt: skip
        figure.update_layout(barmode="stack", xaxis_type="log", xaxis_title="PD",
                             yaxis_title="rows")  # fmt: skip
        charts.append((f"PD distribution: {m['version']}", figure))

    if any(m["evaluation"]["psi_inputs"] for m in models):
        psi = go.Figure()
        for n, m in enumerate(models):
            values = m["evaluation"]["psi_inputs"]
            psi.add_trace(go.Bar(x=list(values), y=list(values.values()), name=m["version"],
                                 marker={"color": _COLOURS[n % 5]}))  # fmt: skip
        psi.add_hline(y=0.1, line_dash="dot", annotation_text="0.1 watch")
        psi.add_hline(y=0.25, line_dash="dash", annotation_text="0.25 shift")
        psi.update_layout(barmode="group", yaxis_title="PSI vs training")
        charts.append(("Stability (PSI) per input", psi))

    for m in models:
        details = m["details"]
        strength = details.get("information_value") or details.get("importance") or {}
        if strength:
            ranked = sorted(strength.items(), key=lambda kv: kv[1])
            bars = go.Figure(go.Bar(x=[v for _, v in ranked], y=[k for k, _ in ranked],
                                    orientation="h"))  # fmt: skip
            what = "information value" if "information_value" in details else "gain"
            bars.update_layout(xaxis_title=what, height=max(300, 24 * len(ranked)))
            charts.append((f"Inputs by {what}: {m['version']}", bars))

    return [
        (title, fig.to_html(include_plotlyjs=False, full_html=False, div_id=f"chart-{n}"))
        for n, (title, fig) in enumerate(charts)
    ]


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
