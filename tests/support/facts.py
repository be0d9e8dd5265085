"""Facts the platform tests emit: small messages under test names, each key optional (left out
of the payload when not given), so a test says only what it needs. Importable in the
subprocess a crash test runs, which declares its facts the same way the package does."""

from __future__ import annotations

from dataclasses import dataclass

from repayguard.platform.messages import Fact, JSONValue, omitted_when_none


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe(Fact):
    """The keys the platform tests set: a counter, a run, a borrower, an audit subject."""

    n: int | str | None = omitted_when_none()
    run_id: str | None = omitted_when_none()
    borrower_id: str | None = omitted_when_none()
    subject: str | None = omitted_when_none()
    phone: str | None = omitted_when_none()
    policy_version: str | None = omitted_when_none()


@dataclass(frozen=True, slots=True, kw_only=True)
class Happened(Probe):
    NAME = "test.happened"


@dataclass(frozen=True, slots=True, kw_only=True)
class Flaky(Probe):
    NAME = "test.flaky"


@dataclass(frozen=True, slots=True, kw_only=True)
class Batched(Probe):
    NAME = "test.batched"


@dataclass(frozen=True, slots=True, kw_only=True)
class Other(Probe):
    NAME = "test.other"


@dataclass(frozen=True, slots=True, kw_only=True)
class Many(Probe):
    NAME = "test.many"


@dataclass(frozen=True, slots=True, kw_only=True)
class Bulk(Probe):
    NAME = "test.bulk"


@dataclass(frozen=True, slots=True, kw_only=True)
class Created(Probe):
    NAME = "test.created"


@dataclass(frozen=True, slots=True, kw_only=True)
class Later(Probe):
    NAME = "test.later"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepA(Probe):
    NAME = "test.a"


@dataclass(frozen=True, slots=True, kw_only=True)
class StepB(Probe):
    NAME = "test.b"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileTouched(Probe):
    NAME = "test.profile"


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyTouched(Probe):
    NAME = "test.policy"


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintTouched(Probe):
    NAME = "test.complaint_filed"


@dataclass(frozen=True, slots=True, kw_only=True)
class CrashHappened(Probe):
    NAME = "crash.happened"


@dataclass(frozen=True, slots=True, kw_only=True)
class Effect(Probe):
    """An effect on the shared bus (its name is under the stream's root)."""

    NAME = "repayguard.test.effect"


@dataclass(frozen=True, slots=True, kw_only=True)
class Followed(Probe):
    NAME = "repayguard.test.followed"


@dataclass(frozen=True, slots=True, kw_only=True)
class OtherOnBus(Probe):
    NAME = "repayguard.test.other"


@dataclass(frozen=True, slots=True, kw_only=True)
class Stuck(Probe):
    NAME = "repayguard.test.stuck"


@dataclass(frozen=True, slots=True, kw_only=True)
class Everything(Probe):
    """A wildcard as a name: the shared bus must refuse to follow it."""

    NAME = "repayguard.*"


@dataclass(frozen=True, slots=True, kw_only=True)
class Carried(Fact):
    """Any JSON payload, under one key: what crosses the wire must come back whole."""

    NAME = "repayguard.test.carried"

    body: dict[str, JSONValue]


@dataclass(frozen=True, slots=True, kw_only=True)
class Counted(Probe):
    NAME = "test.count"


@dataclass(frozen=True, slots=True, kw_only=True)
class Retried(Probe):
    NAME = "test.retry"


@dataclass(frozen=True, slots=True, kw_only=True)
class Quiet(Probe):
    NAME = "test.quiet"


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalEffect(Probe):
    NAME = "test.effect"


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowedUp(Probe):
    NAME = "test.followed_up"
