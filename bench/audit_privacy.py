"""Benchmark: the audit trail (append cost per message, verify and export speed), field
encryption and key rotation, Idempotency-Key bookkeeping. Prints one JSON object.

References, measured in the same run: the same units of work committed without the audit
observer (append), reading the same records without checking them (verify), bare AES-GCM
(encryption). ``--database-url`` runs on an empty database of your choice (e.g. PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from repayguard.api.idempotency import IdempotencyStore
from repayguard.audit import (
    CheckpointPolicy,
    CheckpointSigner,
    ExportAudit,
    VerifyChain,
    export_audit,
    make_audit_observer,
    verify_chain,
)
from repayguard.audit import repository as audit_repository
from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers import RotateKeys, SaveProfile, rotate_keys, save_profile
from repayguard.config import Settings
from repayguard.platform.clock import FixedClock
from repayguard.platform.crypto import Keyring, Pseudonymizer
from repayguard.platform.messages import Fact, JSONValue, Message, omitted_when_none
from repayguard.platform.uow import CommitObserver, UnitOfWork

from _common import AS_OF, median, timed


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchIngested(Fact):
    """A small message, shaped like ``repayguard.events.ingested``."""

    NAME = "bench.ingested"

    batch_id: str
    accepted: int | None = omitted_when_none()
    borrower_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchChanged(Fact):
    """A large message, shaped like a run's ``repayguard.entitlements.changed``."""

    NAME = "bench.changed"

    run_id: str
    entitlements: tuple[dict[str, JSONValue], ...]


def _container(data_dir: Path, url: str | None) -> Container:
    settings = Settings(
        data_dir=data_dir,
        database={"url": url},
        bus={"relay": "inline"},
        decisions={"online": False},
    )
    return bootstrap(settings, clock=FixedClock(AS_OF), migrate=True)


def _entitlement(n: int) -> dict[str, Any]:
    return {
        "borrower_id": f"B{n:08d}",
        "states": {
            "auto_debit": "disabled",
            "early_repayment": "allowed",
            "manual": "allowed",
            "manual_channels": ["app_balance", "bank_card"],
        },
        "interim": None,
        "effective_at": "2026-01-01T00:00:00+00:00",
        "expires_at": "2026-04-01T00:00:00+00:00",
        "review_at": "2026-02-01T00:00:00+00:00",
        "reasons": ["REPEATED_FAILED_DEBITS", "DPD_NOW"],
        "decision_id": secrets.token_hex(16),
        "rule_id": "R3",
        "tier": 4,
        "tier_since": "2026-01-01T00:00:00+00:00",
    }


def _commit(
    container: Container, observers: list[CommitObserver], messages: list[Message]
) -> float:
    started = time.perf_counter()
    with UnitOfWork(container.session_factory, clock=container.clock, observers=observers) as uow:
        for message in messages:
            uow.emit(message)
        uow.commit()
    return time.perf_counter() - started


def _overhead(
    container: Container, trail: CommitObserver, messages: Callable[[int], list[Message]], n: int
) -> tuple[float, float]:
    """Median commit time without and with the audit observer, interleaved so that load from
    elsewhere on the machine hits both alike."""
    bare, audited = [], []
    for i in range(n):
        bare.append(_commit(container, [], messages(2 * i)))
        audited.append(_commit(container, [trail], messages(2 * i + 1)))
    return median(bare), median(audited)


def bench_audit(container: Container, root: Path, *, records: int) -> dict[str, Any]:
    pseudonymizer = Pseudonymizer(secrets.token_bytes(32))
    signer = CheckpointSigner.generate()
    policy = CheckpointPolicy(root / "checkpoints", signer, every=10_000)
    trail = make_audit_observer(
        pseudonymizer=pseudonymizer, clock=container.clock, checkpoints=policy
    )

    def small(i: int) -> list[Message]:
        return [
            Message(
                BenchIngested(
                    batch_id=f"b{i}", accepted=10, borrower_ids=tuple(f"B{k}" for k in range(10))
                )
            )
        ]

    def large(i: int) -> list[Message]:
        return [
            Message(
                BenchChanged(
                    run_id=f"r{i}", entitlements=tuple(_entitlement(k) for k in range(2_000))
                )
            )
        ]

    bare_small, audited_small = _overhead(container, trail, small, 300)
    bare_large, audited_large = _overhead(container, trail, large, 9)

    per_commit = 1_000
    batches = max(records // per_commit, 1)
    for i in range(batches):
        _commit(
            container,
            [trail],
            [
                Message(BenchIngested(batch_id=f"v{i}-{k}", borrower_ids=(f"B{k}",)))
                for k in range(per_commit)
            ],
        )
    with container.session_factory() as session:
        total = audit_repository.max_seq(session)
    verify_s, report = timed(
        lambda: verify_chain(VerifyChain(policy.directory, signer.trusted()), uow=container.uow())
    )
    assert report.ok, report.problem

    def read_only() -> int:
        with container.session_factory() as session:
            return sum(1 for _ in audit_repository.stream(session))

    read_s, _ = timed(read_only)
    export_s, exported = timed(
        lambda: export_audit(ExportAudit(root / "audit.jsonl", signer), uow=container.uow())
    )
    return {
        "append_small_message_us": round((audited_small - bare_small) * 1e6),
        "commit_without_audit_us": round(bare_small * 1e6),
        "append_2000_entitlements_message_ms": round((audited_large - bare_large) * 1e3, 2),
        "commit_2000_entitlements_without_audit_ms": round(bare_large * 1e3, 2),
        "records_verified": total,
        "verify_seconds": round(verify_s, 2),
        "verify_seconds_per_100k": round(verify_s / total * 100_000, 2),
        "reference_read_seconds_per_100k": round(read_s / total * 100_000, 2),
        "export_seconds_per_100k": round(export_s / exported.records * 100_000, 2),
    }


def bench_crypto(container: Container) -> dict[str, Any]:
    keyring = Keyring.generate()
    n = 20_000
    plain = "13812345678"
    encrypt_s, tokens = timed(
        lambda: [keyring.encrypt(plain, context=f"p/{i}/phone") for i in range(n)]
    )
    decrypt_s, _ = timed(
        lambda: [keyring.decrypt(t, context=f"p/{i}/phone") for i, t in enumerate(tokens)]
    )
    aes = AESGCM(AESGCM.generate_key(bit_length=256))
    bare_s, _ = timed(
        lambda: [aes.encrypt(secrets.token_bytes(12), plain.encode(), None) for _ in range(n)]
    )
    profiles = 5_000
    for i in range(profiles):
        save_profile(
            SaveProfile(
                borrower_id=f"B{i:06d}",
                name="王小明",
                phone=plain,
                national_id="11010519491231002X",
            ),
            uow=container.uow(),
            keyring=keyring,
        )
    rotate_s, report = timed(
        lambda: rotate_keys(
            RotateKeys(batch_size=500), uow=container.uow, keyring=keyring.with_new_active_key()
        )
    )
    assert report.rotated == profiles
    return {
        "encrypt_field_us": round(encrypt_s / n * 1e6, 2),
        "decrypt_field_us": round(decrypt_s / n * 1e6, 2),
        "reference_bare_aesgcm_us": round(bare_s / n * 1e6, 2),
        "rotate_profiles_per_second": round(profiles / rotate_s),
    }


def bench_idempotency(container: Container) -> dict[str, Any]:
    store = IdempotencyStore(
        container.session_factory, clock=container.clock, ttl=timedelta(hours=1)
    )
    n = 500
    started = time.perf_counter()
    for i in range(n):
        key = f"k{i}"
        store.claim("bench", key, "f" * 64)
        store.complete(
            "bench", key, "f" * 64, status=200, content_type="application/json", body=b"{}"
        )
    first = (time.perf_counter() - started) / n
    replay_s, _ = timed(lambda: [store.claim("bench", f"k{i}", "f" * 64) for i in range(n)])
    return {
        "first_request_overhead_ms": round(first * 1e3, 2),
        "replay_ms": round(replay_s / n * 1e3, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000, help="audit records to verify")
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with _container(root, args.database_url) as container:
            result = {
                "benchmark": "audit_privacy",
                "database": container.engine.dialect.name,
                **bench_audit(container, root, records=args.records),
                **bench_crypto(container),
                **bench_idempotency(container),
            }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
