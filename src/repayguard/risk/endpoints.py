"""HTTP endpoints of the model registry: read-only model cards and evaluation reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from repayguard.platform.web import UnitsOfWork
from repayguard.risk.lifecycle import list_models, read_report, show_model
from repayguard.risk.registry import ModelRegistry, default_registry
from repayguard.risk.repository import STATES
from repayguard.risk.schemas import ModelCardRead, ModelPage, ModelVersionRead

router = APIRouter(tags=["models"])


def _registry(request: Request) -> ModelRegistry:
    registry: ModelRegistry | None = getattr(request.app.state, "model_registry", None)
    if registry is None:
        registry = default_registry(request.app.state.container.settings.data_dir)
    return registry


@router.get("/v1/models", response_model=ModelPage)
def get_models(
    request: Request,
    work: UnitsOfWork,
    state: Annotated[str | None, Query(pattern=f"^({'|'.join(STATES)})$")] = None,
) -> ModelPage:
    """Registered model versions, newest first."""
    items = list_models(state, uow=work())
    return ModelPage(items=[ModelVersionRead.of(m) for m in items])


@router.get("/v1/models/{version}", response_model=ModelCardRead)
def get_model(version: str, request: Request, work: UnitsOfWork) -> ModelCardRead:
    """A version's model card, verified against its pinned sha256, and its state history."""
    return ModelCardRead.of(show_model(version, uow=work(), registry=_registry(request)))


@router.get("/v1/models/{version}/report", response_class=Response)
def get_report(version: str, request: Request, work: UnitsOfWork) -> Response:
    """The version's evaluation report (JSON), verified against the model card."""
    text = read_report(version, uow=work(), registry=_registry(request))
    return Response(text, media_type="application/json")


@router.get("/v1/models/{version}/report.html", response_class=HTMLResponse)
def get_report_html(version: str, request: Request, work: UnitsOfWork) -> HTMLResponse:
    """The version's evaluation report as a self-contained HTML page with charts."""
    text = read_report(version, uow=work(), registry=_registry(request), html=True)
    return HTMLResponse(text)
