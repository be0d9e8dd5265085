"""The audit chain is sealed by time as well as by count (SQLite and PostgreSQL): the
``audit.seal`` timer and a process's shutdown sign an unsealed head, verify reports a stale
unsealed tail as a finding, and an export is closed by a signed end line, so one cut short
fails verification."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from repayguard.audit import (
    ExportAudit,
    VerifyChain,
    VerifyReport,
    export_audit,
    seal_job,
    verify_chain,
    verify_export,
)
from repayguard.bootstrap import bootstrap
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.jobs import JobContext
from repayguard.platform.messages import Message

from support.common import make_settings
from support.facts import Happened
from support.privacy import (
    Privacy,
    drop_append_only_triggers,
    make_privacy,
    store_chain,
    stored_chain,
    untrailed_container,
)
from support.tampering import reseal

SEAL_EVERY = timedelta(minutes=5)


@pytest.fixture
def privacy(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Privacy]:
    """A chain holding only what these tests commit, checkpointed by count every 1,000
    records only: a small lender's whole chain."""
    with untrailed_container(database_url, tmp_path, clock) as container:
        yield make_privacy(container, tmp_path, every=1_000)


def commit_records(privacy: Privacy, count: int) -> None:
    for n in range(count):
        with privacy.uow() as uow:
            uow.emit(Message(Happened(run_id=str(n), n=n)))
            uow.commit()


def verify(privacy: Privacy, *, seal_within: timedelta | None = SEAL_EVERY) -> VerifyReport:
    return verify_chain(
        VerifyChain(
            checkpoint_dir=privacy.checkpoint_dir,
            trusted=privacy.trusted,
            seal_within=seal_within,
        ),
        uow=privacy.uow(),
    )


def run_seal_job(privacy: Privacy, clock: FixedClock) -> str:
    context = JobContext(uow=privacy.uow, clock=clock, holder="test", heartbeat=lambda: None)
    return seal_job(privacy.policy(), SEAL_EVERY).run(context).summary


def rewrite_and_rehash(privacy: Privacy, from_position: int) -> None:
    """What a forger with database rights does: edit a record, re-hash everything after it
    and move the head to match."""
    drop_append_only_triggers(privacy)
    records = stored_chain(privacy)
    edited = dataclasses.replace(
        records[from_position], payload={**records[from_position].payload, "n": 999}
    )
    forged = reseal([*records[:from_position], edited, *records[from_position + 1 :]], 0)
    store_chain(privacy, forged, (forged[-1].seq, forged[-1].hash))


def test_a_rehashed_tail_passes_while_unsealed_but_is_caught_once_the_timer_sealed_it(
    privacy: Privacy, clock: FixedClock
) -> None:
    commit_records(privacy, 6)
    assert verify(privacy).ok
    assert privacy.checkpoint_dir.exists() is False or not any(privacy.checkpoint_dir.iterdir())

    summary = run_seal_job(privacy, clock)

    assert "through record 6" in summary
    assert run_seal_job(privacy, clock) == "every audit record is sealed"
    rewrite_and_rehash(privacy, 2)
    report = verify(privacy)
    assert report.problem is not None
    assert report.problem.kind == "rewritten"


def test_without_a_seal_the_same_rewrite_is_reported_as_an_unsealed_finding(
    privacy: Privacy, clock: FixedClock
) -> None:
    commit_records(privacy, 6)
    rewrite_and_rehash(privacy, 2)

    fresh = verify(privacy)
    clock.advance(SEAL_EVERY + timedelta(minutes=2))
    stale = verify(privacy)

    # Nothing signed vouches for the records, so the rewrite itself cannot be proven ...
    assert fresh.ok
    assert stale.ok
    assert (fresh.unsealed, fresh.findings) == (6, ())
    # ... but a tail the timer should have sealed is a finding, with what to do about it.
    assert stale.unsealed == 6
    assert len(stale.findings) == 1
    assert "records 1..6" in stale.findings[0]
    assert "repayguard audit checkpoint" in stale.findings[0]
    no_timer = verify(privacy, seal_within=None)
    assert no_timer.findings
    assert "no seal timer" in no_timer.findings[0]


def test_a_process_that_appended_seals_the_head_at_shutdown(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    settings = make_settings(database_url, tmp_path)
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as built:
        trail = built.audit_trail
        assert trail is not None
        assert trail.checkpoints is not None
        with built.uow() as uow:
            uow.emit(Message(Happened(run_id="last")))
            uow.commit()
        directory = trail.checkpoints.directory
        before = set(directory.iterdir()) if directory.exists() else set()
    written = set(directory.iterdir()) - before
    assert len(written) == 1
    sealed = orjson.loads(next(iter(written)).read_bytes())
    with bootstrap(settings, clock=clock, bus=RecordingBus()) as again:
        report = verify_chain(
            VerifyChain(checkpoint_dir=directory, trusted=trail.checkpoints.signer.trusted()),
            uow=again.uow(),
        )
    assert report.ok
    assert (report.unsealed, report.latest_checkpoint) == (0, sealed["seq"])


def export(privacy: Privacy, out: Path) -> list[bytes]:
    export_audit(ExportAudit(out=out, signer=privacy.signer), uow=privacy.uow())
    return out.read_bytes().splitlines(keepends=True)


def check(privacy: Privacy, path: Path) -> VerifyReport:
    return verify_export(path, checkpoint_dir=privacy.checkpoint_dir, trusted=privacy.trusted)


def test_an_export_cut_short_fails_verification(
    privacy: Privacy, clock: FixedClock, tmp_path: Path
) -> None:
    commit_records(privacy, 9)
    run_seal_job(privacy, clock)
    out = tmp_path / "audit.jsonl"
    lines = export(privacy, out)
    assert len(lines) == 10  # nine records and the signed end
    assert check(privacy, out).ok

    out.write_bytes(b"".join(lines[:3]))
    first_third = check(privacy, out)
    out.write_bytes(b"".join(lines[:-1]))
    without_end = check(privacy, out)
    out.write_bytes(b"".join([*lines[:3], lines[-1]]))
    end_kept = check(privacy, out)

    for report in (first_third, without_end, end_kept):
        assert report.problem is not None
        assert report.problem.kind == "truncated", report.problem


def test_an_export_end_signed_by_someone_else_fails(
    privacy: Privacy, clock: FixedClock, tmp_path: Path
) -> None:
    commit_records(privacy, 4)
    out = tmp_path / "audit.jsonl"
    lines = export(privacy, out)
    end = orjson.loads(lines[-1])
    end["seal"]["hash"] = "0" * 64
    out.write_bytes(b"".join([*lines[:-1], orjson.dumps(end) + b"\n"]))

    report = check(privacy, out)

    assert report.problem is not None
    assert report.problem.kind == "checkpoint_forged"


def test_an_empty_export_is_closed_by_its_signed_end(privacy: Privacy, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    lines = export(privacy, out)

    assert len(lines) == 1
    assert check(privacy, out).ok
