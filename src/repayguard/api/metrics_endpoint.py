"""``GET /metrics``: this process's Prometheus metrics in the text exposition format.

Who may scrape (docs/metrics.md): with ``telemetry.metrics_token`` set, a caller sending
``Authorization: Bearer <that token>`` (compared in constant time); without one, anybody — but
only while the server is bound to a loopback address, where only this machine reaches it. A
server reachable from other machines without a token refuses every scrape (403
``metrics_closed``) rather than publish its borrowers' decision counts and policy version to the
network. The route is left out of the OpenAPI document: it is for Prometheus, not for the
lender's applications, and API tokens do not open it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from repayguard.errors import MetricsClosed, MetricsTokenInvalid
from repayguard.platform.net import is_loopback
from repayguard.platform.telemetry import Telemetry

PATH = "/metrics"
router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class MetricsAccess:
    """Who may read ``/metrics``: the holder of ``token``, or (no token) anyone while the
    server listens on a loopback address only (``bind_host``)."""

    token: str | None
    bind_host: str

    def check(self, authorization: str | None) -> None:
        """Refuse a scrape this server must not answer (MetricsTokenInvalid, MetricsClosed)."""
        if self.token is None:
            if is_loopback(self.bind_host):
                return
            raise MetricsClosed(
                f"/metrics is closed: the server listens on {self.bind_host}, reachable from "
                "other machines, and no metrics token is set",
                hint="set REPAYGUARD_TELEMETRY__METRICS_TOKEN and give Prometheus the same "
                "token (authorization: credentials in its scrape config)",
            )
        scheme, _, secret = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            secret.strip().encode(), self.token.encode()
        ):
            raise MetricsTokenInvalid(
                "/metrics needs the metrics token (Authorization: Bearer …)",
                hint="send the value of REPAYGUARD_TELEMETRY__METRICS_TOKEN",
            )


@router.get(PATH)
async def metrics(request: Request) -> Response:
    """Every metric of this process; scrape-time gauges read the database, off the loop."""
    access: MetricsAccess = request.app.state.metrics_access
    access.check(request.headers.get("authorization"))
    telemetry: Telemetry = request.app.state.telemetry
    body = await run_in_threadpool(generate_latest, telemetry.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
