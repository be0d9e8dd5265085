"""Verify the stored chain: every hash and link, against the signed checkpoint files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from repayguard.audit import repository
from repayguard.audit.chain import ChainProblem, ChainVerifier
from repayguard.audit.checkpoints import TrustedKeys, read_checkpoints
from repayguard.platform.uow import UnitOfWork

SEAL_GRACE: Final = timedelta(minutes=1)
"""Slack over the seal interval before an unsealed tail counts as a finding (a timer that
ran a moment late is not a finding)."""


@dataclass(frozen=True, slots=True)
class VerifyChain:
    """Walk the stored chain; check it against the signed checkpoints in ``checkpoint_dir``.

    ``seal_within`` is how long a record may stay unsealed (the seal timer's interval); an
    unsealed tail older than that, or any unsealed tail when there is no timer (None), is a
    finding: nothing signed vouches for those records, so a forger with database rights
    could rewrite and re-hash them unseen.
    """

    checkpoint_dir: Path | None
    trusted: TrustedKeys | None
    seal_within: timedelta | None = None


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of a walk: ``problem`` is the first break found (None: the chain holds)."""

    chain_id: str | None
    records: int
    last_seq: int
    checkpoints: int
    latest_checkpoint: int
    problem: ChainProblem | None
    warnings: tuple[str, ...] = field(default=())
    unsealed: int = 0
    """Records after the latest signed checkpoint: nothing signed vouches for them yet."""
    unsealed_since: datetime | None = None
    """When the first of them was appended."""
    findings: tuple[str, ...] = field(default=())
    """What is intact but not safe, such as a stale unsealed tail (``verify`` exits 1)."""

    @property
    def ok(self) -> bool:
        """The chain holds: no record, link or checkpoint is broken."""
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data (``audit verify --json``, the console)."""
        problem = self.problem
        return {
            "ok": self.ok,
            "chain_id": self.chain_id,
            "records": self.records,
            "last_seq": self.last_seq,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest_checkpoint,
            "problem": None
            if problem is None
            else {
                "kind": problem.kind,
                "seq": problem.seq,
                "since_seq": problem.since_seq,
                "detail": problem.detail,
            },
            "warnings": list(self.warnings),
            "unsealed": self.unsealed,
            "unsealed_since": None
            if self.unsealed_since is None
            else self.unsealed_since.isoformat(),
            "findings": list(self.findings),
        }


def load_vouched(
    directory: Path | None, trusted: TrustedKeys | None, *, chain_id: str | None
) -> tuple[dict[int, str], ChainProblem | None]:
    """The hashes the checkpoint files vouch for, by sequence, or the first bad file."""
    vouched: dict[int, str] = {}
    if directory is None:
        return vouched, None
    for found in read_checkpoints(directory):
        checkpoint = found.checkpoint
        if checkpoint is None:
            return vouched, ChainProblem(
                "checkpoint_unreadable", 0, 0, f"{found.path.name}: {found.error}"
            )
        seq = checkpoint.seq
        if trusted is None or not trusted.verifies(checkpoint):
            return vouched, ChainProblem(
                "checkpoint_forged",
                seq,
                seq,
                f"{found.path.name}: its signature does not verify with a trusted key "
                f"({checkpoint.key_id}): the file was altered or signed by someone else",
            )
        if chain_id is not None and checkpoint.chain_id != chain_id:
            return vouched, ChainProblem(
                "checkpoint_foreign",
                seq,
                seq,
                f"{found.path.name} belongs to chain {checkpoint.chain_id}, but this database "
                f"holds chain {chain_id}: the database was replaced, or the folder is shared",
            )
        if vouched.get(seq, checkpoint.hash) != checkpoint.hash:
            return vouched, ChainProblem(
                "checkpoint_conflict", seq, seq, f"two signed checkpoints disagree on record {seq}"
            )
        vouched[seq] = checkpoint.hash
    return vouched, None


def verify_chain(
    cmd: VerifyChain, *, uow: UnitOfWork, progress: Callable[[int], None] | None = None
) -> VerifyReport:
    """Walk every record, check every link, hash and checkpoint; report the first break.

    Reads the checkpoint files first and the head second, then only records up to that head,
    so appends that commit during the walk are neither missed nor misreported.
    """
    warnings: list[str] = []
    problem: ChainProblem | None
    with uow:
        now = uow.clock.now()
        session = uow.session
        first = repository.read_head(session)
        if first is None:
            problem = ChainProblem("head_missing", 1, 1, "the chain's head row is missing")
            return VerifyReport(None, 0, 0, 0, 0, problem)
        vouched, problem = load_vouched(cmd.checkpoint_dir, cmd.trusted, chain_id=first.chain_id)
        head = repository.read_head(session) or first
        latest = max(vouched, default=0)
        if problem is None and cmd.checkpoint_dir is not None and head.checkpoint_seq > latest:
            problem = ChainProblem(
                "checkpoint_missing",
                head.checkpoint_seq,
                1,
                f"the chain recorded a checkpoint of record {head.checkpoint_seq}, but no such "
                f"signed file is in {cmd.checkpoint_dir}: checkpoint files were removed",
            )
        verifier = ChainVerifier(vouched)
        unsealed_since: datetime | None = None
        if problem is None:
            for record in repository.stream(session, upto_seq=head.seq):
                problem = verifier.feed(record)
                if problem is not None:
                    break
                if record.seq == latest + 1:
                    unsealed_since = record.occurred_at
                if progress is not None and verifier.records % 10_000 == 0:
                    progress(verifier.records)
            else:
                problem = verifier.finish((head.seq, head.hash))
        if problem is None:
            beyond = repository.max_seq(session)
            now_head = repository.read_head(session)
            if now_head is not None and beyond > now_head.seq:
                problem = ChainProblem(
                    "unsealed",
                    now_head.seq + 1,
                    now_head.seq + 1,
                    f"records {now_head.seq + 1}..{beyond} lie beyond the chain head: they were "
                    "inserted outside the audit trail",
                )
    if progress is not None:
        progress(verifier.records)
    if cmd.checkpoint_dir is None:
        warnings.append("no checkpoint folder: a rewrite of the whole chain would go unnoticed")
    unsealed = max(0, head.seq - latest) if problem is None else 0
    findings = _unsealed_findings(cmd, latest, head.seq, unsealed_since, now=now)
    return VerifyReport(
        head.chain_id,
        verifier.records,
        verifier.last_seq,
        len(vouched),
        latest,
        problem,
        tuple(warnings),
        unsealed=unsealed,
        unsealed_since=unsealed_since if unsealed else None,
        findings=findings,
    )


def _unsealed_findings(
    cmd: VerifyChain, latest: int, last: int, since: datetime | None, *, now: datetime
) -> tuple[str, ...]:
    """The unsealed tail as a finding once it is older than the seal interval allows."""
    if since is None or last <= latest:
        return ()
    age = now - since
    if cmd.seal_within is not None and age <= cmd.seal_within + SEAL_GRACE:
        return ()
    why = (
        "no seal timer is configured (audit.seal_every_seconds)"
        if cmd.seal_within is None
        else f"the seal timer ({cmd.seal_within}) should have signed them: is a worker running?"
    )
    return (
        f"records {latest + 1:,}..{last:,} ({last - latest:,}, the first appended "
        f"{since:%Y-%m-%d %H:%M:%S} UTC, {_age(age)} ago) are not covered by a signed "
        f"checkpoint, so a rewrite of them would pass unseen; {why} "
        "(seal them now: 'repayguard audit checkpoint')",
    )


def _age(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7_200:
        return f"{seconds // 60} min"
    return f"{seconds // 3_600} h"
