"""Simulations page: the outcome-simulation reports analysts saved with
``repayguard simulate … --save`` (``<data dir>/simulations``), one report's figures and
fairness warnings, and its offline HTML page.

The files are read through ``simulation.list_runs`` / ``load_run`` / ``run_file``, which
accept only run ids of the shape the CLI writes and only paths inside that folder: a page
never serves a file from anywhere else.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from repayguard import simulation
from repayguard.console.headers import CSP, policy, script_hashes
from repayguard.console.web import PREFIX, render
from repayguard.errors import NotFound
from repayguard.simulation import METRICS

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)


def _root(request: Request) -> Path:
    data_dir: Path = request.app.state.container.settings.data_dir
    return data_dir / "simulations"


def _missing(run_id: str) -> NotFound:
    return NotFound(
        f"no saved simulation {run_id!r}",
        hint="pick one from the Simulations page, or save one with 'repayguard simulate … --save'",
    )


@router.get(f"{PREFIX}/simulations")
def simulations_page(request: Request) -> Response:
    """Saved runs, newest first: arms, size, seeds, the headline difference, warnings."""
    return render(request, "simulations.html", runs=simulation.list_runs(_root(request)))


@router.get(f"{PREFIX}/simulations/{{run_id}}")
def simulation_page(request: Request, run_id: str) -> Response:
    """One saved run: its figures per arm with B − A and intervals, and fairness by group."""
    loaded = simulation.load_run(_root(request), run_id)
    if loaded is None:
        raise _missing(run_id)
    run, document = loaded
    fairness = document.get("fairness", {})
    by_group = fairness.get("by_group", {})
    groups = []
    if by_group:
        a, b = by_group["A"], by_group["B"]
        groups = list(zip(a["restricted"], b["restricted"], a["dpd30"], b["dpd30"], strict=True))
    return render(
        request,
        "simulation.html",
        run=run,
        doc=document,
        metrics=METRICS,
        groups=groups,
        threshold=fairness.get("threshold"),
        warnings=fairness.get("warnings", []),
    )


@router.get(f"{PREFIX}/simulations/{{run_id}}/report")
def simulation_report(request: Request, run_id: str) -> Response:
    """The run's offline HTML report (plotly inlined), as the CLI wrote it."""
    path = simulation.run_file(_root(request), run_id, "report.html")
    if path is None:
        raise _missing(run_id)
    html = path.read_text(encoding="utf-8")
    # Written earlier (by the CLI), so its inline scripts are allowed by their hashes.
    return HTMLResponse(html, headers={CSP.decode(): policy(script_hashes(html))})
