"""The FastAPI application: routers, the one error mapping, health and readiness."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from repayguard import __version__, console, decisions, keys, policies
from repayguard.api import openapi
from repayguard.api.fastpath import AuthorizeFastPath
from repayguard.api.idempotency import IdempotencyMiddleware, IdempotencyStore
from repayguard.api.limits import BodySizeLimit
from repayguard.api.metrics_endpoint import MetricsAccess
from repayguard.api.metrics_endpoint import router as metrics_router
from repayguard.api.ratelimit import RateLimitHeaders, build_limiter
from repayguard.api.readiness import readiness
from repayguard.api.requestid import RequestContext
from repayguard.api.security import attribute, guard
from repayguard.approvals.endpoints import router as approvals_router
from repayguard.bootstrap import Container
from repayguard.borrowers.endpoints import router as borrowers_router
from repayguard.complaints.endpoints import router as complaints_router
from repayguard.console.headers import SecurityHeaders
from repayguard.decisions.endpoints import router as decisions_router
from repayguard.entitlements.endpoints import router as entitlements_router
from repayguard.errors import DatabaseUnavailable, InvalidInput, NotFound, NotReady, RepayguardError
from repayguard.hardship.endpoints import router as hardship_router
from repayguard.identity import TokenUsage
from repayguard.identity.endpoints import router as identity_router
from repayguard.identity.errors import TokenInvalid
from repayguard.ingestion.endpoints import router as ingestion_router
from repayguard.monitoring.endpoints import router as monitoring_router
from repayguard.monitoring.incident_endpoints import router as incidents_router
from repayguard.notices.endpoints import router as notices_router
from repayguard.overlays.endpoints import router as overlays_router
from repayguard.policies.endpoints import router as policies_router
from repayguard.remedies.endpoints import router as remedies_router
from repayguard.risk.endpoints import router as models_router
from repayguard.shadow.endpoints import router as shadow_router

PROBLEM = "application/problem+json"
LOOPBACK = "127.0.0.1"
log = structlog.get_logger(__name__)


def create_server(container: Container, *, bind_host: str = LOOPBACK) -> AuthorizeFastPath:
    """What ``repayguard serve`` runs: the API (:func:`create_app`) behind the authorize fast
    path, which answers ordinary authorize calls before the framework and hands it the rest."""
    app = create_app(container, bind_host=bind_host)
    return AuthorizeFastPath(
        app,
        view=container.view,
        clock=container.clock,
        tokens=container.tokens,
        usage=app.state.token_usage,
        meter=container.telemetry.fast_authorize,
        limiter=app.state.rate_limiter,
        access_log=container.settings.access_log == "all",
    )


class _Api(FastAPI):
    """FastAPI with the request-id middleware outside its whole stack (the server-error
    middleware included), so a failed request's 500 carries its id and gets its access line,
    and the console's security headers just inside it."""

    access_log: bool = True

    def build_middleware_stack(self) -> Any:
        inner = SecurityHeaders(super().build_middleware_stack())
        return RequestContext(inner, access=self.access_log)


def create_app(container: Container, *, bind_host: str = LOOPBACK) -> FastAPI:
    """The API over a built container; the container outlives no request it serves.
    ``bind_host`` is the address the server listens on: without a metrics token, ``/metrics``
    answers only on a loopback one (api/metrics_endpoint.py)."""

    usage = TokenUsage(clock=container.clock) if container.tokens is not None else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        every = container.settings.security.token_use_audit_seconds
        writer = (
            asyncio.create_task(_write_token_use(usage, container, every))
            if usage is not None
            else None
        )
        try:
            yield
        finally:
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            if usage is not None:
                usage.flush(uow=container.uow)  # what the last window counted
            container.close()

    app = _Api(
        title="repayguard",
        version=__version__,
        summary="Decide, enforce and explain which repayment methods each borrower may use.",
        lifespan=lifespan,
        docs_url=None,  # served from local assets by api/openapi.py
        redoc_url=None,
        dependencies=[Depends(guard), Depends(attribute)],
    )
    app.access_log = container.settings.access_log != "off"
    app.state.container = container
    app.state.uow = container.uow
    app.state.view = container.view
    app.state.clock = container.clock
    app.state.tokens = container.tokens
    app.state.token_usage = usage
    app.state.rate_limiter = build_limiter(
        container.settings, clock=container.clock, meter=container.telemetry
    )
    app.state.keyring = container.keyring
    app.state.telemetry = container.telemetry
    app.state.authorize_meter = container.telemetry.route_authorize
    app.state.ingest_meter = container.telemetry
    token = container.settings.telemetry.metrics_token
    app.state.metrics_access = MetricsAccess(
        token=token.get_secret_value() if token is not None else None, bind_host=bind_host
    )
    app.state.policy_profiles = policies.profiles()
    app.state.portfolio_reader = decisions.latest_inputs
    app.include_router(ingestion_router)
    app.include_router(entitlements_router)
    app.include_router(decisions_router)
    app.include_router(policies_router)
    app.include_router(models_router)
    app.include_router(borrowers_router)
    app.include_router(shadow_router)
    app.include_router(identity_router)
    app.include_router(approvals_router)
    app.include_router(notices_router)
    app.include_router(complaints_router)
    app.include_router(hardship_router)
    app.include_router(incidents_router)
    app.include_router(remedies_router)
    app.include_router(overlays_router)
    app.include_router(monitoring_router)
    app.include_router(console.router)
    app.include_router(metrics_router)
    app.state.console = console.Console.build(
        csrf_key=keys.derived_key(container.settings, "console-csrf"),
        session_hours=container.settings.security.session_hours,
    )
    app.add_middleware(
        IdempotencyMiddleware,
        store=IdempotencyStore(container.session_factory, clock=container.clock),
        fingerprint_key=keys.derived_key(container.settings, "idempotency"),
    )
    app.add_middleware(RateLimitHeaders)
    security = container.settings.security
    app.add_middleware(
        BodySizeLimit,
        default=security.max_body_bytes,
        by_path={"/v1/events": security.max_events_body_bytes},
    )

    @app.get("/livez", tags=["operations"])
    def live() -> dict[str, str]:
        """Whether the process answers at all (no database, bus or file touched): a failing
        liveness probe means restart it."""
        return {"status": "alive"}

    @app.get("/healthz", tags=["operations"])
    def health() -> dict[str, Any]:
        """The informational status page: what this process runs (policy, model, bands,
        overrides, the view's size) and the readiness checks as they stand. Always 200 while
        the process answers; probes use ``/livez`` and ``/readyz``."""
        engine = container.engines.loaded
        lineage = engine.lineage if engine is not None else {}
        checks = readiness(container)
        return {
            "status": "ok" if checks.ready else "degraded",
            "checks": checks.body(),
            # The policy in force: the store's published version (None until one is), or
            # 'unpublished' under a development override.
            "policy": {
                "name": container.engines.policy_name if engine is None else engine.policy.name,
                "version": lineage.get("policy_version"),
                "hash": lineage.get("policy_hash"),
            },
            "model": lineage.get("model_version"),
            "bands": lineage.get("bands_version"),
            "overrides": list(container.engines.overrides),
            "borrowers_in_view": len(container.view) if container.view is not None else 0,
        }

    @app.get(
        "/readyz",
        tags=["operations"],
        responses={503: {"description": "Not ready: the problem says why (code not_ready)."}},
    )
    def ready() -> dict[str, Any]:
        """Whether this process should get traffic, as named checks: ``database`` (it
        answers), ``migrations`` (its revision is the code's Alembic head), ``authorize_view``
        (loaded, in a process that serves one) and ``bus`` (the state it follows is no older
        than ``bus.max_view_age_seconds``). A process that lost the bus still answers
        authorize from its view; only this changes."""
        return _readiness(container)

    @app.exception_handler(RepayguardError)
    async def repayguard_error(request: Request, exc: RepayguardError) -> Response:
        if _on_console(request):
            if isinstance(exc, TokenInvalid):
                return console.login_redirect(request)
            return console.error_page(request, exc)
        body: dict[str, Any] = {
            "type": f"https://repayguard.dev/problems/{exc.code}",
            "title": exc.code.replace("_", " "),
            "status": exc.http_status,
            "detail": exc.message,
            "code": exc.code,
        }
        if exc.hint:
            body["hint"] = exc.hint
        if exc.detail:
            body["extra"] = exc.detail
        return JSONResponse(body, status_code=exc.http_status, media_type=PROBLEM)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        # The store failed under the request (not the request itself): a 503 the caller may
        # retry, never a 500. The transaction was rolled back, so nothing was half-written.
        log.warning("database.unavailable", error=type(exc.orig).__name__)
        return await repayguard_error(request, database_outage(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _on_console(request) and exc.status_code == 404:
            missing = NotFound(
                f"there is no console page at {request.url.path}",
                hint="use the navigation above",
            )
            return console.error_page(request, missing)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()
        ]
        if _on_console(request):
            reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
            return console.error_page(request, InvalidInput(f"the page cannot be shown: {reasons}"))
        body = {
            "type": "https://repayguard.dev/problems/invalid_request",
            "title": "invalid request",
            "status": 422,
            "detail": "the request body or parameters do not match the API schema",
            "code": "invalid_request",
            "errors": errors,
        }
        return JSONResponse(body, status_code=422, media_type=PROBLEM)

    openapi.install(app)
    return app


def database_outage(exc: OperationalError) -> DatabaseUnavailable:
    """The refusal for a database that failed under a request, saying which failure in words
    an operator acts on (the driver's own text may carry statement parameters, so not it)."""
    said = str(exc.orig).lower()
    if "readonly" in said or "read-only" in said:
        what = "the database is read-only"
    elif "disk is full" in said or "no space left" in said:
        what = "the database's disk is full"
    else:
        what = "the database does not answer"
    return DatabaseUnavailable(
        f"{what}; nothing of this request was saved",
        hint="send it again once the database is back (GET /readyz answers 200 then)",
        cause=type(exc.orig).__name__,
    )


def _readiness(container: Container) -> dict[str, Any]:
    checks = readiness(container)
    if not checks.ready:
        health = checks.bus
        raise NotReady(
            checks.summary(),
            hint="authorize keeps answering from memory; readiness returns once every check "
            "passes (run 'repayguard db upgrade' when the migrations are behind)",
            checks=checks.body(),
            bus_connected=health.connected if health is not None else False,
            staleness_seconds=round(health.staleness_seconds, 3) if health is not None else None,
        )
    health = checks.bus
    assert health is not None
    return {
        "status": "ready",
        "checks": checks.body(),
        "bus": container.settings.bus.kind,
        "bus_connected": health.connected,
        "staleness_seconds": round(health.staleness_seconds, 3),
        "max_view_age_seconds": container.settings.bus.max_view_age_seconds,
    }


async def _write_token_use(usage: TokenUsage, container: Container, every: float) -> None:
    """Write the API calls counted per token to the audit trail every ``every`` seconds; a
    failed write keeps its counts for the next attempt."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(usage.flush, uow=container.uow)
        except Exception:
            log.exception("token_use.write_failed", hint="counts kept for the next interval")


def _on_console(request: Request) -> bool:
    path = request.url.path
    return path == console.PREFIX or path.startswith(f"{console.PREFIX}/")
