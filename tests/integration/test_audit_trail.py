"""The audit trail on a real database (SQLite and PostgreSQL): every committed message is
chained with its change, appends serialize, and random tampering is always caught."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from repayguard.audit import (
    ExportAudit,
    VerifyChain,
    VerifyReport,
    acting_as,
    export_audit,
    set_actor,
    verify_chain,
    verify_export,
    write_checkpoint_now,
)
from repayguard.audit.checkpoints import Checkpoint
from repayguard.audit.errors import AuditChainUnavailable
from repayguard.audit.models import AuditHeadRow, AuditRecordRow
from repayguard.bootstrap import Container
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock
from repayguard.platform.db import table_of
from repayguard.platform.messages import Message

from support.builders import healthy_history
from support.common import NOW
from support.facts import (
    Bulk,
    ComplaintTouched,
    Created,
    Happened,
    Later,
    PolicyTouched,
    ProfileTouched,
    StepA,
    StepB,
)
from support.privacy import (
    Privacy,
    drop_append_only_triggers,
    make_privacy,
    store_chain,
    stored_chain,
    untrailed_container,
)
from support.tampering import KINDS, tamper

RECORDS = table_of(AuditRecordRow)
HEAD = table_of(AuditHeadRow)


@pytest.fixture
def container(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    with untrailed_container(database_url, tmp_path, clock) as built:
        yield built


@pytest.fixture
def privacy(container: Container, tmp_path: Path) -> Privacy:
    return make_privacy(container, tmp_path, every=5)


def commit(privacy: Privacy, *messages: Message) -> None:
    with privacy.uow() as uow:
        for message in messages:
            uow.emit(message)
        uow.commit()


def verify(privacy: Privacy, folder: Path | None = None) -> VerifyReport:
    return verify_chain(
        VerifyChain(checkpoint_dir=folder or privacy.checkpoint_dir, trusted=privacy.trusted),
        uow=privacy.uow(),
    )


def test_a_use_case_and_its_audit_record_commit_together(privacy: Privacy) -> None:
    events = healthy_history("B-AUD", NOW)

    report = ingest_events(
        IngestEvents(events, source="test"), uow=privacy.uow(), setup=privacy.container.ingest
    )

    record = stored_chain(privacy)[0]  # the online decision it triggers is recorded after it
    assert record.seq == 1
    assert record.action == "repayguard.events.ingested"
    assert record.subject == f"batch:{report.batch_id}"
    assert record.actor == "test"
    assert record.payload["borrower_ids"] == [privacy.pseudonymizer.pseudonym("B-AUD")]
    assert "B-AUD" not in str(record.payload)
    assert verify(privacy).ok


def test_a_rolled_back_use_case_leaves_no_record(privacy: Privacy) -> None:
    with privacy.uow() as uow:
        uow.emit(Message(Happened(n=1)))
        # leaving without commit rolls back

    assert stored_chain(privacy) == []


def test_records_name_the_actor_subject_and_redact_personal_fields(privacy: Privacy) -> None:
    with acting_as("operator:alice"):
        commit(privacy, Message(ProfileTouched(borrower_id="B1", phone="13812345678")))
    commit(privacy, Message(PolicyTouched(policy_version="v3", subject="policy:v3")))

    first, second = stored_chain(privacy)
    assert (first.actor, first.subject) == (
        "operator:alice",
        f"borrower:{privacy.pseudonymizer.pseudonym('B1')}",
    )
    assert first.payload["phone"] == "[redacted]"
    assert (second.actor, second.subject) == ("test", "policy:v3")
    assert first.payload_sha256 != second.payload_sha256


def test_a_borrower_acting_for_themselves_appears_as_a_pseudonym(privacy: Privacy) -> None:
    with acting_as("borrower:B7"):
        commit(privacy, Message(ComplaintTouched(borrower_id="B7")))

    [record] = stored_chain(privacy)
    assert record.actor == f"borrower:{privacy.pseudonymizer.pseudonym('B7')}"
    assert record.actor == record.subject


def test_an_async_dependency_attributes_a_request_to_its_caller(privacy: Privacy) -> None:
    def guard(request: Request) -> None:  # identity's check, run in a worker thread
        request.state.caller = "operator:alice"

    async def attribute(request: Request) -> None:
        set_actor(request.state.caller)

    app = FastAPI(dependencies=[Depends(guard), Depends(attribute)])

    @app.post("/things")
    def create() -> None:
        commit(privacy, Message(Created(run_id="r1")))

    with TestClient(app) as client:
        assert client.post("/things").status_code == 200
    commit(privacy, Message(Later(run_id="r2")))

    assert [r.actor for r in stored_chain(privacy)] == ["operator:alice", "test"]


def test_concurrent_use_cases_append_one_unbroken_chain(privacy: Privacy) -> None:
    threads, commits = 4, 12
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            start.wait()
            for n in range(commits):
                commit(
                    privacy,
                    Message(StepA(run_id=f"{worker}-{n}")),
                    Message(StepB(run_id=f"{worker}-{n}")),
                )
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()

    assert failures == []
    records = stored_chain(privacy)
    assert [r.seq for r in records] == list(range(1, threads * commits * 2 + 1))
    report = verify(privacy)
    assert report.ok, report.problem
    assert report.checkpoints >= 1


def test_checkpoints_are_written_every_n_records_and_on_demand(privacy: Privacy) -> None:
    for n in range(12):
        commit(privacy, Message(Happened(run_id=str(n))))

    files = sorted(p.name for p in privacy.checkpoint_dir.iterdir())
    assert [int(name[:12]) for name in files] == [5, 10]
    unsealed = verify(privacy)
    assert (unsealed.ok, unsealed.unsealed) == (True, 2)
    assert "records 11..12" in unsealed.findings[0]

    written = write_checkpoint_now(privacy.policy(), uow=privacy.uow())
    assert written is not None
    assert written.seq == 12
    report = verify(privacy)
    assert (report.ok, report.checkpoints, report.latest_checkpoint) == (True, 3, 12)
    assert (report.warnings, report.unsealed, report.findings) == ((), 0, ())


def test_the_database_refuses_to_change_or_remove_records(privacy: Privacy) -> None:
    commit(privacy, Message(Happened(n=1)))

    for statement in (
        update(RECORDS).values(actor="mallory"),
        delete(RECORDS),
    ):
        with privacy.container.engine.connect() as connection, pytest.raises(DBAPIError):
            connection.execute(statement)


def test_a_missing_head_row_stops_every_audited_write(privacy: Privacy) -> None:
    with privacy.container.engine.begin() as connection:
        connection.execute(delete(HEAD))

    with pytest.raises(AuditChainUnavailable):
        commit(privacy, Message(Happened(n=1)))
    assert verify(privacy).problem.kind == "head_missing"  # type: ignore[union-attr]


def test_the_export_is_pseudonymised_and_verifiable_on_its_own(
    privacy: Privacy, tmp_path: Path
) -> None:
    for n in range(7):
        commit(privacy, Message(Happened(borrower_id=f"B-{n}", n=n)))
    write_checkpoint_now(privacy.policy(), uow=privacy.uow())
    out = tmp_path / "audit.jsonl"

    report = export_audit(ExportAudit(out=out, signer=privacy.signer), uow=privacy.uow())

    assert (report.records, report.first_seq, report.last_seq) == (7, 1, 7)
    text_ = out.read_text()
    assert "B-3" not in text_
    assert privacy.pseudonymizer.pseudonym("B-3") in text_
    checked = verify_export(out, checkpoint_dir=privacy.checkpoint_dir, trusted=privacy.trusted)
    assert checked.ok
    assert checked.checkpoints == 2
    lines = text_.splitlines()
    lines[3] = lines[3].replace('"n":3', '"n":4')
    out.write_text("\n".join(lines) + "\n")
    broken = verify_export(out, checkpoint_dir=privacy.checkpoint_dir, trusted=privacy.trusted)
    assert broken.problem is not None
    assert (broken.problem.kind, broken.problem.seq) == ("altered", 4)


TAMPERINGS = 120


def test_random_tampering_of_the_stored_chain_is_always_detected(
    privacy: Privacy, database_url: str
) -> None:
    for n in range(9):
        commit(
            privacy,
            *[Message(Happened(run_id=f"{n}-{k}", n=k)) for k in range(n % 4 + 1)],
        )
    write_checkpoint_now(privacy.policy(), uow=privacy.uow())
    assert verify(privacy).ok
    drop_append_only_triggers(privacy)
    original = stored_chain(privacy)
    head = (len(original), original[-1].hash)
    checkpoint_files = {p: p.read_bytes() for p in privacy.checkpoint_dir.iterdir()}
    rng = random.Random(f"audit-tampering-{database_url.split(':')[0]}")
    detected: dict[str, int] = {}

    for _ in range(TAMPERINGS):
        kind = rng.choice([*KINDS, "forge_checkpoint", "remove_checkpoints"])
        touched = range(0)
        if kind == "forge_checkpoint":
            path = rng.choice(sorted(checkpoint_files))
            checkpoint = Checkpoint.from_json(checkpoint_files[path])
            forged = Checkpoint(**{**_row_cp(checkpoint), "hash": "0" * 64})
            path.write_bytes(forged.to_json())
        elif kind == "remove_checkpoints":
            for path in checkpoint_files:
                path.unlink()
        else:
            records, moved, touched = tamper(kind, original, rng)
            store_chain(privacy, records, moved)

        report = verify(privacy)

        assert report.problem is not None, f"{kind} went unnoticed"
        reported = set(range(report.problem.since_seq, report.problem.seq + 1))
        if kind in KINDS:
            assert reported & set(touched), (kind, report.problem)
        detected[kind] = detected.get(kind, 0) + 1
        store_chain(privacy, original, head)
        for path, content in checkpoint_files.items():
            path.write_bytes(content)

    assert sum(detected.values()) == TAMPERINGS
    assert verify(privacy).ok, "restored between rounds"


def _row_cp(checkpoint: Checkpoint) -> dict[str, object]:
    return {name: getattr(checkpoint, name) for name in Checkpoint.__slots__}


def test_verify_reads_a_large_chain_in_pages(privacy: Privacy) -> None:
    with privacy.uow() as uow:
        for n in range(2_500):
            uow.emit(Message(Bulk(n=n)))
        uow.commit()

    report = verify(privacy)

    assert report.ok
    assert report.records == 2_500
    with privacy.container.session_factory() as session:
        assert session.scalar(select(func.max(RECORDS.c.seq))) == 2_500
