"""The hash chain on its own: canonical JSON, sealing, and 100% detection of random tampering."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.audit import GENESIS_HASH, ChainRecord, ChainVerifier, CheckpointSigner
from repayguard.audit.chain import canonical_json, seal
from repayguard.audit.checkpoints import Checkpoint, TrustedKeys

from support.tampering import EDITS, KINDS, reseal, tamper

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f == 0 or abs(f) >= 1e-4)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_what_the_standard_library_writes_with_sorted_keys(value: Any) -> None:
    standard = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == standard.encode("utf-8")


def test_only_floats_below_1e_4_are_written_differently_from_the_standard_library() -> None:
    # Documented in docs/audit-and-privacy.md: such floats are written without an exponent.
    assert canonical_json([1e-05, 1e16, 0.5]) == b"[0.00001,1e+16,0.5]"


def make_chain(n: int) -> list[ChainRecord]:
    records: list[ChainRecord] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        record = seal(
            seq=seq,
            prev_hash=prev,
            message_id=f"m{seq:04d}",
            occurred_at=T0 + timedelta(seconds=seq),
            actor="system",
            action="repayguard.entitlements.changed",
            subject=f"run:r{seq}",
            payload={"run_id": f"r{seq}", "n": seq, "states": ["optional", "allowed"]},
            payload_sha256="ab" * 32,
        )
        records.append(record)
        prev = record.hash
    return records


def checkpoints_of(records: list[ChainRecord], every: int) -> dict[int, str]:
    """What the signed checkpoint files vouch for: every ``every`` records and the last one."""
    vouched = {r.seq: r.hash for r in records if r.seq % every == 0}
    vouched[records[-1].seq] = records[-1].hash
    return vouched


def walk(records: list[ChainRecord], vouched: dict[int, str], head: tuple[int, str]) -> Any:
    verifier = ChainVerifier(vouched)
    for record in sorted(records, key=lambda r: r.seq):
        problem = verifier.feed(record)
        if problem is not None:
            return problem
    return verifier.finish(head)


def test_an_untouched_chain_verifies() -> None:
    records = make_chain(40)
    assert walk(records, checkpoints_of(records, 7), (40, records[-1].hash)) is None


@settings(max_examples=800, deadline=None)
@given(
    n=st.integers(2, 40),
    every=st.integers(1, 12),
    kind=st.sampled_from(KINDS),
    rng=st.randoms(use_true_random=False),
)
def test_every_random_tampering_is_detected_where_it_happened(
    n: int, every: int, kind: str, rng: random.Random
) -> None:
    records = make_chain(n)
    vouched = checkpoints_of(records, every)

    tampered, head, touched = tamper(kind, records, rng)
    problem = walk(tampered, vouched, head)

    assert problem is not None, f"{kind} went unnoticed"
    reported = range(problem.since_seq, problem.seq + 1)
    assert set(reported) & set(touched), (kind, problem, touched)


def test_the_first_bad_record_is_named_precisely() -> None:
    records = make_chain(30)
    records[11] = dataclasses.replace(records[11], actor="operator:mallory")

    problem = walk(records, checkpoints_of(records, 10), (30, records[-1].hash))

    assert (problem.kind, problem.seq, problem.since_seq) == ("altered", 12, 12)


def test_a_rewritten_and_rehashed_chain_is_caught_by_the_signed_checkpoints() -> None:
    records = make_chain(30)
    rewritten = reseal([*records[:5], EDITS["actor"](records[5]), *records[6:]], 5)

    assert walk(rewritten, {}, (30, rewritten[-1].hash)) is None, "consistent with itself"
    problem = walk(rewritten, checkpoints_of(records, 10), (30, rewritten[-1].hash))
    assert problem.kind == "rewritten"
    assert (problem.since_seq, problem.seq) == (1, 10)


def test_checkpoint_signatures_bind_every_field_to_the_signing_key() -> None:
    signer = CheckpointSigner.generate()
    checkpoint = signer.sign(chain_id="c" * 32, seq=10, hash_="a" * 64, created_at="t")
    trusted = signer.trusted()

    assert trusted.verifies(checkpoint)
    assert trusted.verifies(Checkpoint.from_json(checkpoint.to_json()))
    for change in ({"seq": 11}, {"hash": "b" * 64}, {"chain_id": "d" * 32}):
        assert not trusted.verifies(dataclasses.replace(checkpoint, **change))  # type: ignore[arg-type]
    other = CheckpointSigner.generate()
    assert not trusted.verifies(
        other.sign(chain_id="c" * 32, seq=10, hash_="a" * 64, created_at="t")
    )
    assert not TrustedKeys({}).verifies(checkpoint)


@pytest.mark.parametrize("start", [0, 10])
def test_an_export_from_the_middle_links_to_the_checkpoint_before_it(start: int) -> None:
    records = make_chain(20)
    vouched = {10: records[9].hash}
    verifier = ChainVerifier(vouched, start_seq=start, start_hash=None if start else GENESIS_HASH)
    assert all(verifier.feed(r) is None for r in records[start:])

    forged = [dataclasses.replace(records[10], prev_hash="f" * 64)]
    forged[0] = dataclasses.replace(forged[0], hash=forged[0].computed_hash())
    problem = ChainVerifier(vouched, start_seq=10, start_hash=None).feed(forged[0])
    assert problem is not None
    assert problem.kind == "link_broken"
