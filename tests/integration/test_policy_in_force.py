"""The policy in force is the store's latest published version, on SQLite and PostgreSQL: the
seed on upgrade, decisions and their lineage, the swap on publication, runs in flight, the
development override, stated version numbers, and overrides checked against the store."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from repayguard import approvals, decisions, policies
from repayguard.api.app import create_app
from repayguard.approvals.errors import ApprovalPayloadInvalid
from repayguard.audit.models import AuditRecordRow
from repayguard.bootstrap import Container, bootstrap
from repayguard.cli.app import _published_since
from repayguard.config import Settings
from repayguard.decisions.models import DecisionRunRow
from repayguard.entitlements import AuthorizeRequest
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform import schema
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.db import make_engine
from repayguard.policies.errors import PolicyNotInForce, PolicyVersionConflict
from repayguard.resources import read_text

from support.approvals import context_of, make_team, override
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings

CN_NAME = "cn-consumer-credit-line"
SHIPPED = read_text("policies/cn-default.yaml")
PROFILES = policies.profiles()


def cn_variant(**then: Any) -> str:
    """The shipped policy with the default row's states changed (a new version's content)."""
    doc: dict[str, Any] = yaml.safe_load(SHIPPED)
    doc["rows"][-1]["then"].update(then)
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def through_approval(container: Container, team: dict[str, str], source: str) -> int:
    """Submit, ask (ann) and approve (pat): the only way a version is published."""
    draft = policies.submit_policy(
        policies.SubmitPolicy(source, "ann"), uow=container.uow(), profiles=PROFILES
    )
    asked = approvals.request_approval(
        approvals.RequestApproval("policy_publish", {"draft_id": draft.draft_id}, by=team["ann"]),
        uow=container.uow(),
        context=context_of(container),
    )
    done = approvals.approve(
        approvals.Approve(asked.request_id, team["pat"], "checked"),
        uow=container.uow(),
        context=context_of(container),
    )
    assert done.outcome is not None
    version: int = done.outcome["version"]
    return version


def decide(container: Container, engine: decisions.DecisionEngine | None = None) -> Any:
    return decisions.decide_borrowers(
        decisions.DecideBorrowers(trigger=decisions.triggers.CLI),
        uow=container.uow(),
        engine=engine or container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )


def logged(container: Container, borrower: str) -> decisions.LoggedDecision:
    with container.session_factory() as session:
        return decisions.recent_decisions(session, borrower, limit=1)[0]


@contextmanager
def opened(settings: Settings, clock: FixedClock, *, migrate: bool = True) -> Iterator[Container]:
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=migrate) as built:
        yield built


# -- the seed and the lineage ---------------------------------------------------------------------


def test_upgrade_publishes_the_shipped_policy_once_as_version_1_by_the_system(
    container: Container, clock: FixedClock
) -> None:
    seeded = policies.get_version(policies.GetPolicyVersion(CN_NAME), uow=container.uow())
    shipped = policies.load_policy_text(SHIPPED, profiles=PROFILES)
    assert (seeded.version, seeded.published_by, seeded.source) == (1, "system", SHIPPED)
    assert (
        seeded.content_hash
        == policies.compile_checked(
            shipped.model_copy(update={"version": "1"}), profiles=PROFILES
        ).content_hash
    )
    with container.session_factory() as session:
        audited = session.execute(
            select(AuditRecordRow.action, AuditRecordRow.actor).where(
                AuditRecordRow.action == policies.POLICY_PUBLISHED
            )
        ).all()
    assert [tuple(r) for r in audited] == [(policies.POLICY_PUBLISHED, "system")]
    with opened(container.settings, clock):  # a second start-up that migrates
        pass
    page = policies.list_versions(policies.ListPolicyVersions(CN_NAME), uow=container.uow())
    assert [v.version for v in page.items] == [1], "seeded once"


def test_the_published_version_decides_and_every_lineage_names_it(container: Container) -> None:
    seeded = policies.get_version(policies.GetPolicyVersion(CN_NAME), uow=container.uow())
    ingest_events(
        IngestEvents(failing_debits_history("B-FAIL", NOW), source="t"),
        uow=container.uow(),
        setup=container.ingest,
    )

    decision = logged(container, "B-FAIL")

    assert (decision.policy_version, decision.policy_hash) == ("1", seeded.content_hash)
    assert decision.rule_id == "failed-debits"
    with container.session_factory() as session:
        run = session.get(DecisionRunRow, decision.run_id)
    assert run is not None
    assert (run.policy_version, run.policy_hash) == ("1", seeded.content_hash)
    health = TestClient(create_app(container)).get("/healthz").json()
    assert health["policy"] == {"name": CN_NAME, "version": "1", "hash": seeded.content_hash}
    assert health["overrides"] == []


def test_a_store_without_the_configured_policy_refuses_to_decide_until_one_is_approved(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    settings = make_settings(database_url, tmp_path, policy_name="house-line")
    with opened(settings, clock) as container:
        team = make_team(container)
        with pytest.raises(PolicyNotInForce) as refused:
            decide(container)
        assert "no version of policy 'house-line' is published" in refused.value.message
        assert refused.value.hint is not None
        assert "db upgrade" in refused.value.hint
        assert "policy submit" in refused.value.hint

        house = SHIPPED.replace(f"name: {CN_NAME}", "name: house-line")
        assert through_approval(container, team, house) == 1
        ingest_events(
            IngestEvents(healthy_history("B1", NOW), source="t"),
            uow=container.uow(),
            setup=container.ingest,
        )
        assert logged(container, "B1").policy_version == "1"


# -- the development override --------------------------------------------------------------------


def test_a_policy_or_bands_file_decides_only_as_an_unpublished_override(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    policy_file = tmp_path / "draft.yaml"
    policy_file.write_text(SHIPPED.replace("name: cn-", "version: 2\nname: cn-"))
    bands_file = tmp_path / "bands.json"
    bands_file.write_text(
        read_text("tiers/bands-v1.json").replace('"margin": 0.1', '"margin": 0.2')
    )
    settings = make_settings(database_url, tmp_path, policy_path=policy_file, bands_path=bands_file)
    with opened(settings, clock) as container:
        ingest_events(
            IngestEvents(failing_debits_history("B-FAIL", NOW), source="t"),
            uow=container.uow(),
            setup=container.ingest,
        )
        decision = logged(container, "B-FAIL")
        bus = container.bus
        assert isinstance(bus, RecordingBus)
        [run] = [m for m in bus.published if m.name == decisions.RUN_COMPLETED]
        health = TestClient(create_app(container)).get("/healthz").json()

    file_sha = hashlib.sha256(policy_file.read_bytes()).hexdigest()
    assert (decision.policy_version, decision.policy_hash) == ("unpublished", file_sha)
    assert run.payload["lineage"]["policy_version"] == "unpublished"
    assert run.payload["lineage"]["bands_version"] == "unpublished"
    assert (
        run.payload["lineage"]["bands_hash"] == hashlib.sha256(bands_file.read_bytes()).hexdigest()
    )
    assert health["policy"]["version"] == "unpublished"
    assert health["overrides"] == [f"policy: {policy_file}", f"bands: {bands_file}"]


def test_production_refuses_a_policy_or_bands_file() -> None:
    secret = "x" * 40
    for setting in ("policy_path", "bands_path"):
        with pytest.raises(ValidationError, match="development override") as refused:
            Settings(
                env="production",
                security={"secret_key": secret},
                decisions={setting: "draft.yaml"},
            )
        assert "maker-checker" in str(refused.value)
    assert Settings(env="production", security={"secret_key": secret}).decisions.policy_path is None


# -- the swap on publication and runs in flight ---------------------------------------------------


def test_an_approved_version_decides_at_once_and_a_run_in_flight_keeps_its_own(
    container: Container,
) -> None:
    team = make_team(container)
    ingest_events(
        IngestEvents(healthy_history("B1", NOW), source="t"),
        uow=container.uow(),
        setup=container.ingest,
    )
    started = container.decision_engine  # a long run took the engine when it started
    assert container.view is not None
    assert container.view.defaults.manual_channels == (
        "app_balance",
        "bank_card",
        "counter",
        "bank_transfer",
    )

    assert through_approval(container, team, cn_variant(manual_channels=["app_balance"])) == 2

    now_in_force = container.decision_engine
    assert now_in_force.compiled.version == "2"
    assert container.view.defaults.manual_channels == ("app_balance",), "the view follows"
    never_decided = container.view.authorize(
        AuthorizeRequest("B-NEW", "manual", channel="counter"), now=NOW
    )
    assert not never_decided.allowed
    in_flight = decide(container, started)
    assert in_flight.lineage["policy_version"] == "1"
    assert logged(container, "B1").policy_version == "1"
    assert _published_since(container, in_flight.lineage) == 2, "the report says so"
    after = decide(container)
    assert after.lineage["policy_version"] == "2"
    assert _published_since(container, after.lineage) is None


# -- stated version numbers ---------------------------------------------------------------------


def test_a_stated_version_that_is_not_the_next_number_is_refused_at_submission(
    container: Container,
) -> None:
    for stated in ("1", "3"):
        with pytest.raises(PolicyVersionConflict, match="next version of") as refused:
            policies.submit_policy(
                policies.SubmitPolicy(
                    SHIPPED.replace("name: cn-", f"version: {stated}\nname: cn-"), "ann"
                ),
                uow=container.uow(),
                profiles=PROFILES,
            )
        assert refused.value.hint is not None
        assert "leave 'version' out" in refused.value.hint
    accepted = policies.submit_policy(
        policies.SubmitPolicy(
            cn_variant(manual="allowed").replace("name: cn-", "version: 2\nname: cn-"), "ann"
        ),
        uow=container.uow(),
        profiles=PROFILES,
    )
    assert accepted.stated_version == "2"


def test_a_stated_number_taken_since_submission_is_refused_when_approval_is_asked(
    container: Container,
) -> None:
    team = make_team(container)
    stated = policies.submit_policy(
        policies.SubmitPolicy(
            cn_variant(early_repayment="allowed", auto_debit="optional")
            .replace("reasons: [DEFAULT_TERMS]", "reasons: [DEFAULT_TERMS, MANUAL_OVERRIDE]")
            .replace("name: cn-", "version: 2\nname: cn-"),
            "ann",
        ),
        uow=container.uow(),
        profiles=PROFILES,
    )
    assert through_approval(container, team, cn_variant(manual_channels=["app_balance"])) == 2

    with pytest.raises(PolicyVersionConflict, match="states version 2"):
        approvals.request_approval(
            approvals.RequestApproval(
                "policy_publish", {"draft_id": stated.draft_id}, by=team["ann"]
            ),
            uow=container.uow(),
            context=context_of(container),
        )


def test_a_request_whose_number_was_taken_never_blocks_later_publications(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    settings = make_settings(database_url, tmp_path)
    engine = make_engine(settings.database_url)
    schema.upgrade(engine)  # a store upgraded before the seed existed: nothing published
    engine.dispose()
    with opened(settings, clock, migrate=False) as container:
        team = make_team(container)
        draft = policies.submit_policy(
            policies.SubmitPolicy(
                cn_variant(manual="allowed").replace("name: cn-", "version: 1\nname: cn-"), "ann"
            ),
            uow=container.uow(),
            profiles=PROFILES,
        )
        stale = approvals.request_approval(
            approvals.RequestApproval(
                "policy_publish", {"draft_id": draft.draft_id}, by=team["ann"]
            ),
            uow=container.uow(),
            context=context_of(container),
        )
    with opened(settings, clock) as container:  # 'db upgrade': the shipped policy takes 1
        withdrawn = approvals.get_request(stale.request_id, uow=container.uow())
        assert withdrawn.state == "withdrawn"
        assert withdrawn.comment is not None
        assert "states version 1" in withdrawn.comment
        assert through_approval(container, team, cn_variant(manual_channels=["app_balance"])) == 2


def test_a_request_made_impossible_by_another_publication_is_withdrawn_by_the_next_request(
    container: Container,
) -> None:
    team = make_team(container)
    stated = policies.submit_policy(
        policies.SubmitPolicy(
            cn_variant(manual="allowed").replace("name: cn-", "version: 2\nname: cn-"), "ann"
        ),
        uow=container.uow(),
        profiles=PROFILES,
    )
    stale = approvals.request_approval(
        approvals.RequestApproval("policy_publish", {"draft_id": stated.draft_id}, by=team["ann"]),
        uow=container.uow(),
        context=context_of(container),
    )
    other = policies.submit_policy(
        policies.SubmitPolicy(cn_variant(manual_channels=["app_balance"]), "amy"),
        uow=container.uow(),
        profiles=PROFILES,
    )
    policies.publish_policy(  # a library caller publishing directly takes number 2
        policies.PublishPolicy(other.draft_id, "amy"), uow=container.uow(), profiles=PROFILES
    )

    assert through_approval(container, team, cn_variant(manual_channels=["bank_card"])) == 3
    withdrawn = approvals.get_request(stale.request_id, uow=container.uow())
    assert withdrawn.state == "withdrawn"
    assert withdrawn.comment is not None
    assert "the next is 3" in withdrawn.comment


# -- overrides against the policy in force --------------------------------------------------------


def test_an_override_is_checked_against_the_store_not_the_callers_settings(
    container: Container, database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    """The lender's policy in force becomes an EU-profile version; a shell configured with no
    policy setting asks to restrict early repayment: refused with G2, as the API refuses it."""
    team = make_team(container)
    ingest_events(
        IngestEvents(healthy_history("BEU1", NOW), source="t"),
        uow=container.uow(),
        setup=container.ingest,
    )
    eu = read_text("policies/eu-example.yaml").replace(
        "name: eu-consumer-credit-example", f"name: {CN_NAME}"
    )
    early_restricted = override("BEU1", early_repayment="restricted", notice_days=30)
    asked_before = approvals.request_approval(  # accepted while the CN version was in force
        approvals.RequestApproval("override", early_restricted, by=team["cara"]),
        uow=container.uow(),
        context=context_of(container),
    )
    assert through_approval(container, team, eu) == 2

    shell_settings = make_settings(database_url, tmp_path / "shell")
    assert shell_settings.decisions.policy_path is None
    with opened(shell_settings, clock, migrate=False) as shell:
        assert shell.decision_engine.policy.jurisdiction == "EU"
        with pytest.raises(ApprovalPayloadInvalid, match="G2"):
            approvals.request_approval(
                approvals.RequestApproval("override", early_restricted, by=team["carl"]),
                uow=shell.uow(),
                context=context_of(shell),
            )
    with pytest.raises(ApprovalPayloadInvalid, match="G2"):  # and when it would be applied
        approvals.approve(
            approvals.Approve(asked_before.request_id, team["pat"], "ok"),
            uow=container.uow(),
            context=context_of(container),
        )
