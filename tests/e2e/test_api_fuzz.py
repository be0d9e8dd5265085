"""Schemathesis over the whole API: every operation of the application's OpenAPI document (the
API; the console's pages are not in it) fuzzed as an admin operator answers without a server
error (0 × 5xx), on SQLite and on PostgreSQL.

The database holds borrowers, a policy draft, held decisions and a complaint, and generated path
and query values are mixed with their ids, so cases reach the handlers' work and not only their
404s. The console's forms are read by their handlers, not described in the document: a second
test posts generated forms (and bytes that are no form) to each of them. The run's figure —
operations, requests, answers by status class, server errors — is printed at the end of the
session (a ``summary:`` property, see tests/conftest.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from starlette.types import ASGIApp, Receive, Scope, Send

from repayguard import approvals, policies
from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import ROUTES, CreateToken, create_token
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import APPROVAL_POLICY, make_team, submit_draft
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, fresh_database, make_settings
from support.complaints import file

ADMIN: Final = "amy"
"""The caller: an admin holds every operator permission, so every handler runs."""

ENDS_OWN_SESSION: Final = {("DELETE", "/v1/sessions/current"), ("POST", "/console/logout")}
"""Operations that revoke the token calling them: each of their cases brings a token of its own,
so the admin's token keeps working for every later case. Nothing else the application offers
revokes or disables its caller (tokens, operators and keys are managed from the CLI), so no
operation is excluded from the run."""

CONSOLE_FORMS: Final = sorted(p for m, p in ROUTES if m == "POST" and p.startswith("/console/"))
"""Every console route that reads a form (the permission map names every route of the app)."""

FORM_FIELDS: Final = (
    *("csrf", "username", "password", "next", "comment", "seen_at", "limit", "category"),
    *("outcome", "auto_debit", "early_repayment", "manual", "days", "reasons"),
    *("channel.app_balance", "channel.bank_card", "channel.counter", "channel.sms"),
)
"""The fields the console's forms send (and a channel no policy offers)."""

FORM_VALUES: Final = (
    *("", "0", "-1", "1", "5", "1000", "1001", str(2**63), "1e9", "nan", "on", "true"),
    *("2026-03-01T12:00:00+00:00", "2026-03-01T12:00:00", "0001-01-01T00:00:00+05:00"),
    *("uphold", "reverse", "optional", "disabled", "allowed", "restricted", "forced"),
    *("REPEATED_FAILED_DEBITS", "NOT_A_REASON", "needs-approval", ADMIN, "/console/", "//x"),
    "a\x00b",  # PostgreSQL holds no NUL character
)


@dataclass
class Tally:
    """One test's answers by operation and status class ("raised": the app raised, which a
    client sees as a 500), published as the test's ``summary:`` property (tests/conftest.py)."""

    node: pytest.Item
    answers: dict[str, Counter[str]] = field(default_factory=dict)

    def record(self, title: str, label: str, answer: str) -> None:
        """Count one answer and replace the summary with the counts so far."""
        self.answers.setdefault(label, Counter())[answer] += 1
        total: Counter[str] = sum(self.answers.values(), Counter())
        classes = ", ".join(f"{k}: {v}" for k, v in sorted(total.items()))
        line = (
            f"{len(self.answers)} operations, {total.total()} requests ({classes}); "
            f"server errors: {total['5xx'] + total['raised']}"
        )
        name = f"summary:{title}"
        self.node.user_properties[:] = [p for p in self.node.user_properties if p[0] != name]
        self.node.user_properties.append((name, [line]))


@dataclass(frozen=True)
class Fuzzed:
    """The app under test, its admin's token and the ids of the data it holds."""

    kind: str
    container: Container
    app: ASGIApp
    token: str
    known: Mapping[str, tuple[str, ...]]
    """Real values by parameter name, mixed into generated path and query parameters."""

    def token_for(self, method: str, path: str) -> str:
        if (method, path) in ENDS_OWN_SESSION:
            return create_token(CreateToken("operator", ADMIN), uow=self.container.uow()).secret
        return self.token


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def fuzzed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fuzzed]:
    """One app per database with access control on and data behind its ids: a borrower whose
    tightening waits for a checker, a healthy one with a complaint, a policy draft."""
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    policy = tmp / "policy.yaml"
    policy.write_text(APPROVAL_POLICY)
    with fresh_database(request.param, tmp) as url:
        settings_ = make_settings(url, tmp, auth="required", policy_path=policy)
        with bootstrap(
            settings_, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
        ) as container:
            make_team(container)
            held, healthy = "B-HELD", "B-HEALTHY"
            events = failing_debits_history(held, NOW) + healthy_history(healthy, NOW)
            ingest_events(
                IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest
            )
            draft = submit_draft(container)
            complaint = file(container, healthy).complaint_id
            queue = approvals.list_requests(approvals.QueueFilter(), uow=container.uow())
            versions = policies.list_versions(policies.ListPolicyVersions(), uow=container.uow())
            known = {
                "borrower_id": (held, healthy),
                "borrower": (held, healthy),
                "subject": (held, healthy),
                "draft_id": (draft,),
                "request_id": tuple(r.request_id for r in queue.items),
                "complaint_id": (complaint,),
                "name": tuple(sorted({v.name for v in versions.items})),
                "version": (
                    *sorted({str(v.version) for v in versions.items}),
                    container.decision_engine.model.version,
                ),
            }
            token = create_token(CreateToken("operator", ADMIN), uow=container.uow()).secret
            app = _without_lifespan(create_app(container))
            yield Fuzzed(request.param, container, app, token, known)


def _without_lifespan(app: ASGIApp) -> ASGIApp:
    """The app without its lifespan. Schemathesis starts an app's lifespan on the first call
    and ends it at interpreter exit, when this module's database is gone; ending it closes the
    container, which the fixture does in its own time. (Declining the lifespan scope without
    reading a message is how an app says it has none.)"""

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)

    return served


@pytest.fixture(scope="module")
def api(fuzzed: Fuzzed) -> schemathesis.BaseSchema:
    """The application's own OpenAPI document, as it serves it."""
    loaded = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app)

    def mixed(generated: dict[str, Any] | None) -> st.SearchStrategy[dict[str, Any] | None]:
        if not generated:  # the operation has no such parameters
            return st.just(generated)
        return st.fixed_dictionaries(
            {
                name: st.sampled_from([value, *fuzzed.known.get(name, ())])
                for name, value in generated.items()
            }
        )

    @loaded.hook
    def flatmap_path_parameters(
        context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
    ) -> st.SearchStrategy[dict[str, Any] | None]:
        return mixed(path_parameters)

    @loaded.hook
    def flatmap_query(
        context: schemathesis.HookContext, query: dict[str, Any] | None
    ) -> st.SearchStrategy[dict[str, Any] | None]:
        return mixed(query)

    return loaded


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Tally:
    """The test's tally: schemathesis runs every operation's cases inside one test item."""
    return Tally(request.node)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's lazy loader (``from_fixture``) names each operation's subtest by
    rewriting ``Node._nodeid``, an attribute pytest 9.2 no longer has: give it one to read."""
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api")

EXAMPLES: Final = 25
"""Generated cases per operation (and per console form)."""

FUZZING: Final = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The app (one per database) and the tally outlive a case on purpose; some operations'
    # inputs are mostly filtered or slow to generate. None of these is a defect of the API.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


@schema.parametrize()
@FUZZING
def test_no_operation_answers_with_a_server_error(
    case: schemathesis.Case, fuzzed: Fuzzed, tally: Tally
) -> None:
    """Schemathesis' examples, coverage (boundary and invalid values) and fuzzing phases."""
    title = f"schemathesis over the whole API ({fuzzed.kind})"
    token = fuzzed.token_for(case.method.upper(), case.operation.path)
    try:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
    except Exception:
        tally.record(title, case.operation.label, "raised")
        raise
    tally.record(title, case.operation.label, f"{response.status_code // 100}xx")
    case.validate_response(response, checks=[not_a_server_error])


def _forms() -> st.SearchStrategy[bytes]:
    fields = st.dictionaries(
        st.one_of(st.sampled_from(FORM_FIELDS), st.text(max_size=8)),
        st.one_of(st.sampled_from(FORM_VALUES), st.text(max_size=40)),
        max_size=8,
    )
    return st.one_of(fields.map(lambda form: urlencode(form).encode()), st.binary(max_size=64))


def test_no_console_form_answers_with_a_server_error(fuzzed: Fuzzed, tally: Tally) -> None:
    """Generated fields and values (and bytes that are no form) to each form the console
    reads, with real and made-up ids in its path."""
    for path in CONSOLE_FORMS:
        _fuzz_form(fuzzed, tally, path)
    assert len(tally.answers) == len(CONSOLE_FORMS)


def _fuzz_form(fuzzed: Fuzzed, tally: Tally, path: str) -> None:
    title = f"the console's forms, fuzzed ({fuzzed.kind})"
    http = TestClient(fuzzed.app, follow_redirects=False)  # no ``with``: no lifespan

    @FUZZING
    @given(form=_forms(), ids=st.data())
    def post(form: bytes, ids: st.DataObject) -> None:
        url = path
        for name in ("request_id", "complaint_id"):
            if f"{{{name}}}" in url:
                known = st.sampled_from(fuzzed.known[name])
                value = ids.draw(st.one_of(known, st.text(min_size=1)), label=name)
                url = url.replace(f"{{{name}}}", quote(value, safe=""))
        headers = {
            "Authorization": f"Bearer {fuzzed.token_for('POST', path)}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        try:
            response = http.post(url, content=form, headers=headers)
        except Exception:
            tally.record(title, f"POST {path}", "raised")
            raise
        tally.record(title, f"POST {path}", f"{response.status_code // 100}xx")
        assert response.status_code < 500, f"{url} {form!r} → {response.status_code}"

    post()
