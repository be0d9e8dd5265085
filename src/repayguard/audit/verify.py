"""Verify the stored chain: every hash and link, against the signed checkpoint files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repayguard.audit import repository
from repayguard.audit.chain import ChainProblem, ChainVerifier
from repayguard.audit.checkpoints import TrustedKeys, read_checkpoints
from repayguard.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class VerifyChain:
    """Walk the stored chain; check it against the signed checkpoints in ``checkpoint_dir``."""

    checkpoint_dir: Path | None
    trusted: TrustedKeys | None


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

    @property
    def ok(self) -> bool:
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
        session = uow.session
        first = repository.read_head(session)
        if first is None:
            problem = ChainProblem("head_missing", 1, 1, "the chain's head row is missing")
            return VerifyReport(None, 0, 0, 0, 0, problem)
        vouched, problem = load_vouched(cmd.checkpoint_dir, cmd.trusted, chain_id=first.chain_id)
        head = repository.read_head(session) or first
        latest = max(vouched, default=0)
        if problem is None and head.checkpoint_seq > latest:
            problem = ChainProblem(
                "checkpoint_missing",
                head.checkpoint_seq,
                1,
                f"the chain recorded a checkpoint of record {head.checkpoint_seq}, but no such "
                f"signed file is in {cmd.checkpoint_dir}: checkpoint files were removed",
            )
        verifier = ChainVerifier(vouched)
        if problem is None:
            for record in repository.stream(session, upto_seq=head.seq):
                problem = verifier.feed(record)
                if problem is not None:
                    break
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
    elif problem is None and head.seq > latest:
        warnings.append(
            f"records {latest + 1}..{head.seq} are not yet covered by a signed checkpoint "
            "(run 'repayguard audit checkpoint')"
        )
    return VerifyReport(
        head.chain_id,
        verifier.records,
        verifier.last_seq,
        len(vouched),
        latest,
        problem,
        tuple(warnings),
    )
