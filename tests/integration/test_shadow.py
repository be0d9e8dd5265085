"""Shadow mode and replay on a real database: the challenger never changes entitlements, is
stored beside every decision, its disagreements are counted right; replay under the policy in
force matches what ``decide`` logged."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from sqlalchemy import func, select

from repayguard import entitlements, policies, resources, shadow
from repayguard.bootstrap import Container
from repayguard.decisions import DEFAULT_POLICY, DecideBorrowers, decide_borrowers, triggers
from repayguard.decisions.models import DecisionRow, ShadowDecisionRow
from repayguard.ingestion import IngestEvents, ingest_events

from support.builders import failing_debits_history, healthy_history, policy_text
from support.common import NOW

STRICT = policy_text(
    "strict",
    """\
inputs:
  failed_debits_30d: {type: number}
hit_policy: first
rows:
  - id: any-failure
    when: {failed_debits_30d: ">= 1"}
    then: {auto_debit: disabled, early_repayment: restricted}
    reasons: [REPEATED_FAILED_DEBITS]
    notice_days: 3
    max_days: 30
    review_after_days: 14
""",
)


def _set_strict_challenger(container: Container) -> shadow.ChallengerInfo:
    draft = policies.submit_policy(
        policies.SubmitPolicy(STRICT, submitted_by="analyst"),
        uow=container.uow(),
        profiles=policies.profiles(),
    )
    return shadow.set_challenger(
        shadow.SetChallenger(policies.DraftRef(draft.draft_id), actor="admin"),
        uow=container.uow(),
        profiles=policies.profiles(),
    )


def _decide(container: Container) -> None:
    decide_borrowers(
        DecideBorrowers(trigger=triggers.CLI),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )


def _states(container: Container) -> dict[str, dict[str, object]]:
    with container.session_factory() as session:
        return {b: e.states.as_dict() for b, e in entitlements.load(session).items()}


def _ingest(container: Container) -> None:
    events = (
        failing_debits_history("B1", NOW)
        + failing_debits_history("B2", NOW)
        + healthy_history("B3", NOW)
    )
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)


def test_the_challenger_is_stored_beside_every_decision_and_changes_no_entitlement(
    container: Container,
) -> None:
    _ingest(container)
    _decide(container)
    before = _states(container)

    info = _set_strict_challenger(container)
    assert container.decision_engine.challenger is not None, "the process follows the setting"
    _decide(container)

    assert _states(container) == before, "a challenger never moves an entitlement"
    with container.session_factory() as session:
        shadowed = session.scalars(select(ShadowDecisionRow)).all()
        decided = session.scalar(select(func.count()).select_from(DecisionRow))
        logged = {d.decision_id for d in session.scalars(select(DecisionRow)).all()}
    assert len(shadowed) == 3, "one shadow row per decision of the run with a challenger"
    assert decided == 9, "ingest (online) + two batch runs, three borrowers each"
    assert {s.decision_id for s in shadowed} <= logged
    assert {s.challenger_hash for s in shadowed} == {info.content_hash}
    assert info.version.startswith("draft:")


def test_disagreements_are_counted_with_the_borrowers_behind_them(container: Container) -> None:
    _ingest(container)
    # The shipped policy with auto-debit stopped only after four failures: B1 and B2 (three
    # each) keep it under the challenger; healthy B3 is decided alike.
    lenient = (
        resources.read_text(DEFAULT_POLICY)
        .replace("name: cn-consumer-credit-line", "name: lenient")
        .replace('failed_debits_30d: ">= 3"', 'failed_debits_30d: ">= 4"')
    )
    draft = policies.submit_policy(
        policies.SubmitPolicy(lenient, submitted_by="analyst"),
        uow=container.uow(),
        profiles=policies.profiles(),
    )
    shadow.set_challenger(
        shadow.SetChallenger(policies.DraftRef(draft.draft_id), actor="admin"),
        uow=container.uow(),
        profiles=policies.profiles(),
    )
    _decide(container)

    report = shadow.summary(uow=container.uow())
    listed = shadow.list_disagreements(uow=container.uow())

    assert (report.compared, report.differing, report.borrowers) == (3, 2, 2)
    assert sorted(x["borrower_id"] for x in listed) == ["B1", "B2"]
    assert all(x["champion"]["states"]["auto_debit"] == "disabled" for x in listed)
    assert all(x["challenger"]["states"]["auto_debit"] != "disabled" for x in listed)
    # The failed-debits row stops auto-debit and forces the manual flow: both are disagreements.
    assert {(method, champion, count) for method, champion, _, count in report.transitions} == {
        ("auto_debit", "disabled", 2),
        ("manual", "forced", 2),
    }


def test_clearing_the_challenger_stops_shadowing(container: Container) -> None:
    _ingest(container)
    _set_strict_challenger(container)
    assert shadow.clear_challenger("admin", uow=container.uow())
    _decide(container)

    assert container.decision_engine.challenger is None
    assert shadow.summary(uow=container.uow()).challenger is None
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ShadowDecisionRow)) == 0


def test_replay_under_the_policy_in_force_matches_the_logged_decisions(
    container: Container,
) -> None:
    _ingest(container)  # the online driver decides all three as of NOW
    engine = container.decision_engine
    report = shadow.replay(
        shadow.ReplayPolicy(
            policies.VersionRef(engine.policy.name),
            NOW - timedelta(days=1),
            NOW + timedelta(days=1),
        ),
        uow=container.uow(),
        engine=engine,
        profiles=policies.profiles(),
        history_days=container.settings.decisions.history_days,
    )

    assert len(report.runs) == 1
    assert report.changes == [], "the same policy over the same history decides the same"
    assert report.runs[0]["differ"] == 0
    assert report.runs[0]["borrowers"] == 3


def test_replay_under_a_stricter_candidate_names_who_would_have_been_restricted(
    container: Container,
) -> None:
    _ingest(container)
    before = _states(container)
    report = shadow.replay(
        shadow.ReplayPolicy(
            policies.SourceRef(STRICT), NOW - timedelta(days=1), NOW + timedelta(days=1)
        ),
        uow=container.uow(),
        engine=container.decision_engine,
        profiles=policies.profiles(),
        history_days=container.settings.decisions.history_days,
    )

    assert _states(container) == before, "replay writes nothing"
    assert report.label == "replay: changes decisions, not outcomes"
    assert report.runs[0]["candidate_auto_debit"] == 2
    assert {c["borrower_id"] for c in report.changes} <= {"B1", "B2"}
    last = report.last.sort("borrower_id")
    assert last["candidate"].to_list() == [True, True, False]
    assert isinstance(report.last, pl.DataFrame)
