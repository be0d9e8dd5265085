"""Policy drafts and versions on a real database: submit, publish, read, diff, impact, explain."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from sqlalchemy import update

from repayguard import decisions, policies
from repayguard.bootstrap import Container
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.policies.errors import (
    PolicyDraftNotFound,
    PolicyRejected,
    PolicyVersionConflict,
    PolicyVersionNotFound,
    PolicyVersionTampered,
)
from repayguard.policies.models import PolicyVersionRow
from repayguard.resources import read_text

from support.builders import failing_debits_history, healthy_history
from support.common import NOW

# A store starts with the shipped policy published as version 1 of its name (the seed), so
# these tests work on the same document under a name the store has no version of yet.
TRIAL = "cn-credit-line-trial"
CN = read_text("policies/cn-default.yaml").replace(
    "name: cn-consumer-credit-line", f"name: {TRIAL}"
)
PROFILES = policies.profiles()


def cn_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(CN)
    doc.pop("version", None)
    doc.update(changes)
    return doc


def as_yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def submit(container: Container, source: str, by: str = "analyst:ann") -> policies.DraftInfo:
    return policies.submit_policy(
        policies.SubmitPolicy(source, by), uow=container.uow(), profiles=PROFILES
    )


def publish(container: Container, draft_id: str, by: str = "operator:bob") -> policies.VersionInfo:
    return policies.publish_policy(
        policies.PublishPolicy(draft_id, by), uow=container.uow(), profiles=PROFILES
    )


def published(container: Container, name: str) -> list[dict[str, Any]]:
    assert isinstance(container.bus, RecordingBus)
    return [m.payload for m in container.bus.published if m.name == name]


def test_a_valid_policy_becomes_a_draft_then_version_1_with_its_hash(container: Container) -> None:
    draft = submit(container, CN)
    assert draft.name == TRIAL
    assert draft.stated_version is None  # the store assigns the number
    assert published(container, policies.POLICY_SUBMITTED)[-1]["draft_id"] == draft.draft_id

    version = publish(container, draft.draft_id)

    assert (version.name, version.version, version.published_by) == (
        TRIAL,
        1,
        "operator:bob",
    )
    assert len(version.content_hash) == 64
    [event] = [e for e in published(container, policies.POLICY_PUBLISHED) if e["name"] == TRIAL]
    assert event["version"] == 1
    assert event["content_hash"] == version.content_hash
    assert event["published_by"] == "operator:bob"
    read = policies.get_version(policies.GetPolicyVersion(version.name, 1), uow=container.uow())
    assert read.source == CN  # the author's YAML, comments included
    assert read.policy is not None
    assert read.policy.version == "1"


def test_an_invalid_policy_is_refused_with_every_problem_and_nothing_is_stored(
    container: Container,
) -> None:
    doc = cn_doc(jurisdiction="EU")  # the CN rows restrict early repayment: a G2 clash
    doc["rows"][0]["when"] = {"open_appeal": 'not("yes")'}
    seeded = published(container, policies.POLICY_SUBMITTED)
    with pytest.raises(PolicyRejected) as caught:
        submit(container, as_yaml(doc))
    problems = caught.value.detail["problems"]
    assert {p["row_id"] for p in problems} >= {"appeal-freeze", "severe-delinquency"}
    assert any("G2 (EU)" in p["message"] for p in problems)
    assert published(container, policies.POLICY_SUBMITTED) == seeded  # the seed's alone
    page = policies.list_versions(policies.ListPolicyVersions(name=TRIAL), uow=container.uow())
    assert page.total == 0


def test_versions_are_numbered_per_name_and_listed_newest_first(container: Container) -> None:
    first = publish(container, submit(container, as_yaml(cn_doc())).draft_id)
    changed = cn_doc(description="tighter cycling rule")
    changed["rows"][4]["when"]["redraws_after_early_30d"] = ">= 1"
    second = publish(container, submit(container, as_yaml(changed)).draft_id)

    assert (first.version, second.version) == (1, 2)
    assert first.content_hash != second.content_hash
    page = policies.list_versions(policies.ListPolicyVersions(name=TRIAL), uow=container.uow())
    assert [v.version for v in page.items] == [2, 1]
    latest = policies.get_version(policies.GetPolicyVersion(TRIAL), uow=container.uow())
    assert latest.version == 2


def test_publishing_is_refused_when_it_would_not_make_a_new_next_version(
    container: Container,
) -> None:
    draft = submit(container, as_yaml(cn_doc()))
    publish(container, draft.draft_id)
    with pytest.raises(PolicyVersionConflict, match="already published"):
        publish(container, draft.draft_id)
    with pytest.raises(PolicyVersionConflict, match="identical to version 1"):
        publish(container, submit(container, as_yaml(cn_doc())).draft_id)
    stale = cn_doc(version=1, description="changed")
    with pytest.raises(PolicyVersionConflict, match="next version of cn-credit-line-trial is 2"):
        submit(container, as_yaml(stale))  # refused at submission: it could never be published
    with pytest.raises(PolicyDraftNotFound):
        publish(container, "no-such-draft")


def test_a_tampered_version_is_refused_when_read(container: Container) -> None:
    version = publish(container, submit(container, CN).draft_id)
    doc = yaml.safe_load(CN)
    doc["rows"][2]["then"]["auto_debit"] = "mandatory"
    doc["version"] = "1"
    with container.session_factory() as session:
        session.execute(
            update(PolicyVersionRow)
            .where(PolicyVersionRow.name == version.name)
            .values(
                document=policies.resolve(
                    policies.SourceRef(as_yaml(doc)), session=session, profiles=PROFILES
                ).model_dump(mode="json")
            )
        )
        session.commit()
    with pytest.raises(PolicyVersionTampered):
        policies.get_version(policies.GetPolicyVersion(version.name, 1), uow=container.uow())
    with pytest.raises(PolicyVersionNotFound):
        policies.get_version(policies.GetPolicyVersion(version.name, 9), uow=container.uow())


def test_diff_between_published_versions_and_a_file(container: Container) -> None:
    publish(container, submit(container, CN).draft_id)
    changed = cn_doc()
    changed["rows"].insert(3, changed["rows"].pop(5))  # high-risk above severe: shadows it
    changed["rows"][-1]["then"]["manual_channels"] = ["app_balance", "bank_card", "counter"]
    found = policies.diff(
        policies.DiffPolicies(policies.VersionRef(TRIAL), policies.SourceRef(as_yaml(changed))),
        uow=container.uow(),
        profiles=PROFILES,
    )
    rows = {c.row_id: c for c in found.rows}
    moved = rows["high-risk"]  # moved, and it inherits the default's channels, which changed
    assert (moved.kind, moved.before_position, moved.after_position) == ("changed", 5, 3)
    assert [c.field for c in moved.changes] == ["position", "effective.manual_channels"]
    assert rows["default"].kind == "changed"
    assert "failed-debits" not in rows  # states its own channels: unaffected by the default
    assert [c.field for c in rows["loan-cycling"].changes] == ["effective.manual_channels"]


# -- impact over a real decided portfolio ----------------------------------------------------------


def test_impact_counts_borrowers_whose_methods_would_change_by_tier_and_direction(
    container: Container,
) -> None:
    events = failing_debits_history("B-FAIL", NOW) + healthy_history("B-GOOD", NOW)
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)
    candidate = cn_doc()
    candidate["rows"][2]["then"]["manual"] = "allowed"  # failed-debits: no longer forced
    low_risk = candidate["rows"][7]
    assert low_risk["id"] == "low-risk"
    low_risk["then"]["early_repayment"] = "restricted"  # a (strange) tightening for T1-T2
    low_risk.update(reasons=["ELEVATED_RISK_TIER"], max_days=30, review_after_days=30)
    report = policies.preview_impact(
        policies.PreviewImpact(policies.SourceRef(as_yaml(candidate)), samples=3),
        uow=container.uow(),
        profiles=PROFILES,
        portfolio=decisions.latest_inputs,
    )
    assert report.borrowers == 2
    assert report.changed == 2
    assert report.by_method["manual"] == {"tighten": 0, "loosen": 1}
    assert report.by_method["early_repayment"] == {"tighten": 1, "loosen": 0}
    sample = {s["borrower_id"]: s for s in report.samples}
    assert sample["B-FAIL"]["rule_id"] == "failed-debits"
    assert sample["B-FAIL"]["changes"] == [
        {"method": "manual", "direction": "loosen", "from": "forced", "to": "allowed"}
    ]
    assert sample["B-GOOD"]["reasons"] == ["ELEVATED_RISK_TIER"]
    assert sum(t["borrowers"] for t in report.by_tier) == 2
    assert {(t["method"], t["from"], t["to"]) for t in report.transitions} == {
        ("manual", "forced", "allowed"),
        ("early_repayment", "allowed", "restricted"),
    }


def test_explain_reads_a_published_version_and_refuses_bad_inputs(container: Container) -> None:
    publish(container, submit(container, CN).draft_id)
    ref = policies.VersionRef(TRIAL, 1)
    trace = policies.explain_inputs(
        policies.ExplainInputs(ref, {"tier": "T5", "dpd_now": 45}),
        uow=container.uow(),
        profiles=PROFILES,
    )
    assert trace.outcome["rule_id"] == "severe-delinquency"
    with pytest.raises(Exception, match="tier") as caught:
        policies.explain_inputs(
            policies.ExplainInputs(ref, {"tier": "T9"}), uow=container.uow(), profiles=PROFILES
        )
    assert caught.type.__name__ == "PolicyInputsInvalid"
