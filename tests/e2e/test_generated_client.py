"""A client generated from the live contract works: ``openapi-python-client`` reads the
served ``/openapi.json`` of a real uvicorn server, the generated package (in a temporary
folder, never committed) is imported, and a lender's round trip runs through it — ingest,
authorize, repayment methods, a complaint reversed through an approval — with refusals parsed
as the contract's problems."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import httpx
import pytest

from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import CreateToken, create_token
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import make_team, team_tokens
from support.browser import served
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.complaints import STATEMENT

PACKAGE: Final = "repayguard_generated_client"
GENERATOR: Final = Path(sys.executable).parent / "openapi-python-client"
CONFIG: Final = f"package_name_override: {PACKAGE}\npost_hooks: []\n"
"""No post-hooks: the generated code is imported, not formatted (and generation stays fast)."""
PATIENCE: Final = httpx.Timeout(120.0)
"""How long a call may take on a loaded test machine (the generated client's default is 5 s;
ingesting a batch decides its borrowers before it answers)."""


@pytest.fixture
def server(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[str, dict[str, str]]]:
    """repayguard on a loopback port with access control on, its team and tokens for a
    service and for two borrowers (the data arrives through the generated client)."""
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    container: Container
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        tokens = team_tokens(container, make_team(container))
        tokens["app"] = create_token(CreateToken("service", "app"), uow=container.uow()).secret
        for borrower in ("B1", "B2"):
            tokens[borrower] = create_token(
                CreateToken("borrower", borrower), uow=container.uow()
            ).secret
        with served(container) as base:
            yield base, tokens


def _generate(base: str, into: Path) -> ModuleType:
    """Generate the client from the served contract and import it."""
    contract = into / "openapi.json"
    contract.write_bytes(httpx.get(f"{base}/openapi.json").raise_for_status().content)
    config = into / "generator.yaml"
    config.write_text(CONFIG)
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            *("--path", str(contract)),
            *("--config", str(config)),
            *("--meta", "none"),
            *("--output-path", str(into / PACKAGE)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(into))
    return importlib.import_module(PACKAGE)


@pytest.fixture
def client_package(tmp_path: Path) -> Iterator[Any]:
    """Forget the generated package afterwards (another test generates it anew)."""
    yield tmp_path / "generated"
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]
    if str(tmp_path / "generated") in sys.path:
        sys.path.remove(str(tmp_path / "generated"))


def test_a_generated_client_runs_the_lenders_round_trip(
    server: tuple[str, dict[str, str]], client_package: Path
) -> None:
    base, tokens = server
    client_package.mkdir()
    generated = _generate(base, client_package)

    def api(name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.api.{name}")

    def model(name: str) -> Any:
        return getattr(importlib.import_module(f"{PACKAGE}.models"), name)

    with ExitStack() as clients:
        callers = {
            who: clients.enter_context(
                generated.AuthenticatedClient(base_url=base, token=token, timeout=PATIENCE)
            )
            for who, token in tokens.items()
        }
        _round_trip(api, model, callers.__getitem__)


def _round_trip(
    api: Callable[[str], ModuleType], model: Callable[[str], Any], as_: Callable[[str], Any]
) -> None:
    """Ingest, authorize, repayment methods, a complaint reversed through an approval."""

    problem = model("Problem")
    events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
    batch = model("EventBatch").from_dict({"events": events})
    assert {type(e).__name__ for e in batch.events} >= {"Repayment", "CreditReport"}

    ingested = api("ingestion.ingest_events").sync_detailed(client=as_("app"), body=batch)

    assert ingested.status_code == 200, ingested.content
    report = ingested.parsed
    assert (report.accepted, report.rejected) == (len(events), 0)
    again = api("ingestion.ingest_events").sync(client=as_("app"), body=batch)
    assert (again.accepted, again.duplicates) == (0, len(events))

    ask = model("AuthorizeIn").from_dict({"borrower_id": "B1", "method": "auto_debit"})
    answer = api("entitlements.authorize_repayment").sync(client=as_("app"), body=ask)
    assert answer.allowed is False
    assert "REPEATED_FAILED_DEBITS" in [r.code for r in answer.reasons]
    healthy = model("AuthorizeIn").from_dict({"borrower_id": "B2", "method": "auto_debit"})
    assert api("entitlements.authorize_repayment").sync(client=as_("app"), body=healthy).allowed

    methods = api("entitlements.list_repayment_methods")
    mine = methods.sync("B1", client=as_("B1"))
    assert mine.methods.auto_debit == "disabled"
    theirs = methods.sync_detailed("B2", client=as_("B1"))
    assert theirs.status_code == 403
    assert isinstance(theirs.parsed, problem)
    assert theirs.parsed.code == "permission_denied"
    unknown = methods.sync("B-NOBODY", client=as_("cara"))
    assert isinstance(unknown, problem)
    assert unknown.code == "borrower_not_found"

    complaint = model("ComplaintIn").from_dict(
        {"contested": ["auto_debit"], "statement": STATEMENT}
    )
    filed = api("complaints.file_complaint").sync("B1", client=as_("B1"), body=complaint)
    assert (filed.status, filed.decision_id) == ("open", mine.decision_id)
    twice = api("complaints.file_complaint").sync("B1", client=as_("B1"), body=complaint)
    assert isinstance(twice, problem)
    assert twice.code == "complaint_already_open"
    reverse = model("ComplaintsResolveIn").from_dict(
        {"outcome": "reverse", "comment": "the bank replaced the card"}
    )
    asked = api("complaints.resolve_complaint").sync(
        filed.complaint_id, client=as_("cara"), body=reverse, idempotency_key="resolve-1"
    )
    assert asked.status == "reversal_pending"

    queue = api("approvals.list_approvals").sync(client=as_("pat"), state="pending")
    assert asked.approval_id in [r.request_id for r in queue.items]
    approve = api("approvals.approve_request")
    body = model("ApproveIn").from_dict({"comment": "the card was replaced"})
    own = approve.sync(asked.approval_id, client=as_("cara"), body=body)
    assert isinstance(own, problem)
    assert own.code == "permission_denied"
    approved = approve.sync(asked.approval_id, client=as_("pat"), body=body)
    assert approved.state == "approved"

    case = api("complaints.get_complaint").sync(filed.complaint_id, client=as_("cara"))
    assert case.complaint.status == "reversed"
    assert methods.sync("B1", client=as_("B1")).methods.auto_debit == "optional"
