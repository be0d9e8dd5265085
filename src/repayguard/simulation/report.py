"""A comparison as an offline HTML page: the figures table and monthly curves per arm with
their 95 % bands (plotly's JavaScript embedded, so the file opens without a network)."""

from __future__ import annotations

import html
from typing import Any

from repayguard.simulation.compare import METRICS, Comparison
from repayguard.simulation.groups import MEASURES

_CURVES = (
    ("dpd30_rate", "30+ DPD rate"),
    ("auto_debit_adoption", "Auto-debit adoption"),
    ("restricted_auto_debit", "Auto-debit restricted"),
    ("restricted_early_repayment", "Early repayment restricted"),
    ("failed_debit_fees", "Failed-debit fees in the month"),
    ("missed_payments", "Missed instalments in the month"),
    ("notices", "Notices sent in the month"),
    ("complaints_expected", "Expected complaints in the month"),
)
_COLOURS = {"A": "31, 119, 180", "B": "214, 39, 40"}


def _fmt(cell: dict[str, float | None]) -> str:
    mean, low, high = cell["mean"], cell["low"], cell["high"]
    if low is None or high is None:
        return f"{mean:.4g}"
    return f"{mean:.4g} <small>[{low:.4g}, {high:.4g}]</small>"


def html_report(comparison: Comparison) -> str:
    """The self-contained page."""
    import plotly.graph_objects as go  # type: ignore[import-untyped]
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    doc = comparison.as_json()
    arms = doc["arms"]
    rows = "".join(
        f"<tr><td>{html.escape(meaning)}</td><td>{_fmt(doc['metrics'][name]['A'])}</td>"
        f"<td>{_fmt(doc['metrics'][name]['B'])}</td>"
        f"<td>{_fmt(doc['metrics'][name]['difference'])}</td></tr>"
        for name, meaning in METRICS
    )
    charts = []
    months = list(range(1, comparison.spec.months + 1))
    for n, (series, title) in enumerate(_CURVES):
        fig = go.Figure()
        for label in ("A", "B"):
            band: dict[str, Any] = doc["monthly"][series][label]
            rgb, name = _COLOURS[label], f"{label}: {arms[label]['label']}"
            fig.add_trace(go.Scatter(x=months, y=band["high"], line={"width": 0},
                                     showlegend=False, hoverinfo="skip"))  # fmt: skip
            fig.add_trace(go.Scatter(x=months, y=band["low"], fill="tonexty", line={"width": 0},
                                     fillcolor=f"rgba({rgb}, 0.2)", showlegend=False,
                                     hoverinfo="skip"))  # fmt: skip
            fig.add_trace(go.Scatter(x=months, y=band["mean"], name=name,
                                     line={"color": f"rgb({rgb})"}))  # fmt: skip
        fig.update_layout(title=title, xaxis_title="month", height=340,
                          margin={"l": 40, "r": 10, "t": 40, "b": 40})  # fmt: skip
        charts.append(fig.to_html(include_plotlyjs=False, full_html=False, div_id=f"chart-{n}"))
    charts.extend(_group_charts(doc, arms))
    fairness = doc["fairness"]
    warned = "".join(f"<li>{html.escape(w['text'])}</li>" for w in fairness["warnings"])
    warned_block = (
        f'<ul class="warn">{warned}</ul>'
        if warned
        else "<p>No group is restricted past the threshold beyond chance.</p>"
    )
    params = doc["parameters"]
    assumptions = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in doc["assumptions"].items()
    )
    lineage = " · ".join(
        f"{k}: {html.escape(v['label'])} ({html.escape(v['policy_name'])} "
        f"v{html.escape(v['policy_version'])}, {v['policy_hash'][:12]})"
        for k, v in arms.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>repayguard simulation</title>
<script>{get_plotlyjs()}</script>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:4px 10px;
text-align:left}}small{{color:#666}}.grid{{display:grid;grid-template-columns:1fr 1fr}}
.warn{{color:#a15c00}}</style>
</head><body>
<h1>Policy simulation: A vs B</h1>
<p>{lineage}</p>
<p>{params["borrowers"]:,} borrowers × {params["months"]} months, seeds {params["seeds"]};
{html.escape(params["interval"])}. Synthetic borrowers, documented assumptions
(docs/simulation.md): a what-if, not a forecast.</p>
<table><tr><th>figure</th><th>A</th><th>B</th><th>B − A</th></tr>{rows}</table>
<div class="grid">{"".join(charts[: len(_CURVES)])}</div>
<h2>By group</h2>
<p>Rates per group of {html.escape(", ".join(fairness["attributes"]) or "no attribute")}, seeds
pooled; a restriction ratio (over the least restricted group) above
{fairness["threshold"]:g} that chance does not explain is warned about.</p>
{warned_block}
<div class="grid">{"".join(charts[len(_CURVES) :])}</div>
<h2>Assumptions</h2><table>{assumptions}</table>
</body></html>
"""


def _group_charts(doc: dict[str, Any], arms: dict[str, Any]) -> list[str]:
    """One grouped bar chart per measure: each group's rate, arm A beside arm B."""
    import plotly.graph_objects as go

    charts = []
    for n, (measure, meaning, _warned) in enumerate(MEASURES):
        fig = go.Figure()
        for label in ("A", "B"):
            rows = doc["fairness"]["by_group"][label][measure]
            fig.add_trace(
                go.Bar(
                    x=[f"{r['attribute']}={r['group']}" for r in rows],
                    y=[r["rate"] for r in rows],
                    name=f"{label}: {arms[label]['label']}",
                    marker_color=f"rgb({_COLOURS[label]})",
                )
            )
        fig.update_layout(title=meaning.capitalize(), barmode="group", height=340,
                          yaxis_tickformat=".1%",
                          margin={"l": 40, "r": 10, "t": 40, "b": 90})  # fmt: skip
        charts.append(fig.to_html(include_plotlyjs=False, full_html=False, div_id=f"group-{n}"))
    return charts
