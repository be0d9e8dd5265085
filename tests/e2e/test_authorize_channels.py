"""Channels are the policy's data: under every shipped policy, authorize accepts each channel
the policy declares and every alternative a refusal offers, on the fast path and on the route;
a channel the policy in force does not declare is a 422 that names the declared ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repayguard.api.app import create_server
from repayguard.api.fastpath import AuthorizeFastPath
from repayguard.bootstrap import Container, bootstrap
from repayguard.core.policy import Policy
from repayguard.entitlements import Entitlement, MethodStates
from repayguard.identity import CreateToken, create_token
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.resources import read_text

from support.common import NOW, make_settings

SHIPPED = sorted(
    entry.name
    for entry in importlib_resources.files("repayguard.resources").joinpath("policies").iterdir()
    if entry.name.endswith(".yaml")
)

Served = tuple[Container, AuthorizeFastPath, dict[str, str], Policy]


@pytest.fixture(params=SHIPPED)
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """The API with a shipped policy in force and one borrower per policy row, holding the
    states that row gives (``B-<row id>``)."""
    shipped = tmp_path / request.param
    shipped.write_text(read_text(f"policies/{request.param}"), encoding="utf-8")
    settings = make_settings(
        f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required", policy_path=shipped
    )
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        policy = container.decision_engine.policy
        assert container.view is not None
        container.view.load(_row_entitlements(policy))
        secret = create_token(CreateToken("service", "app"), uow=container.uow()).secret
        yield container, create_server(container), {"authorization": f"Bearer {secret}"}, policy


def _row_entitlements(policy: Policy) -> list[Entitlement]:
    out = []
    for row in policy.rows:
        methods = policy.methods(row)
        auto_debit, early, manual = methods.auto_debit, methods.early_repayment, methods.manual
        assert auto_debit is not None
        assert early is not None
        assert manual is not None
        states = MethodStates(auto_debit, early, manual, methods.manual_channels)
        out.append(
            Entitlement(
                borrower_id=f"B-{row.id}",
                states=states,
                interim=None,
                effective_at=NOW - timedelta(days=1),
                expires_at=None,
                review_at=None,
                reasons=tuple(row.reasons),
                decision_id=f"D-{row.id}",
                rule_id=row.id,
                tier=5,
                tier_since=None,
            )
        )
    return out


def _both(server: AuthorizeFastPath, body: dict[str, Any], auth: dict[str, str]) -> Any:
    """The answer of the route and of the fast path (which must have answered it itself when
    the route answered 200), required equal."""
    route = TestClient(server.app).post("/v1/authorize", json=body, headers=auth)
    before = server.answered
    fast = TestClient(server).post("/v1/authorize", json=body, headers=auth)
    assert (fast.status_code, fast.json()) == (route.status_code, route.json())
    if route.status_code == 200:
        assert server.answered == before + 1, "an ordinary call takes the fast path"
    return route.status_code, route.json()


def test_every_offered_alternative_is_accepted_by_authorize(served: Served) -> None:
    _, server, auth, policy = served
    TestClient(server).post("/v1/authorize", json={}, headers=auth)  # the token cached
    offered: set[tuple[str, str | None]] = set()
    for row in policy.rows:
        asks = [{"method": "auto_debit"}, {"method": "early_repayment"}]
        asks += [{"method": "manual", "channel": channel} for channel in policy.channels]
        for ask in asks:
            status, answer = _both(server, {"borrower_id": f"B-{row.id}", **ask}, auth)
            assert status == 200, answer  # every declared channel is a channel authorize knows
            if not answer["allowed"]:
                offered |= {(a["method"], a["channel"]) for a in answer["alternatives"]}
                for alternative in answer["alternatives"]:
                    status, took = _both(
                        server, {"borrower_id": f"B-{row.id}", **alternative}, auth
                    )
                    assert (status, took["allowed"]) == (200, True), (row.id, alternative, took)
    assert offered, "the policy restricts someone, so some refusal offers alternatives"
    assert {channel for _, channel in offered} <= set(policy.channels)


def test_a_channel_the_policy_in_force_does_not_declare_is_refused_with_the_declared_ones(
    served: Served,
) -> None:
    _, server, auth, policy = served
    TestClient(server).post("/v1/authorize", json={}, headers=auth)  # the token cached
    ask = {"borrower_id": "B-default", "method": "manual", "channel": "carrier_pigeon"}
    status, problem = _both(server, ask, auth)
    assert (status, problem["code"]) == (422, "channel_not_declared")
    assert all(channel in problem["hint"] for channel in policy.channels)


def test_an_unknown_borrower_gets_the_default_terms_unless_the_lender_chose_deny(
    tmp_path: Path,
) -> None:
    answers = {}
    for choice in ("allow_defaults", "deny"):
        settings = make_settings(f"sqlite:///{tmp_path / choice}.db", tmp_path / choice)
        settings = settings.model_copy(
            update={
                "entitlements": settings.entitlements.model_copy(
                    update={"unknown_borrower": choice}
                )
            }
        )
        with bootstrap(
            settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
        ) as container:
            client = TestClient(create_server(container))
            body = {"borrower_id": "B-NEVER-SEEN", "method": "auto_debit"}
            answer = client.post("/v1/authorize", json=body).json()
            answers[choice] = (answer["allowed"], [r["code"] for r in answer["reasons"]])
    assert answers == {
        "allow_defaults": (True, []),
        "deny": (False, ["NOT_YET_ASSESSED"]),
    }
