"""Timed jobs and their registry: what 'repayguard worker' runs, how often, and how a feature
adds its own (it implements :class:`Job` with these types only, and never imports the runner).

A feature adds a job by registering it (bootstrap does it when it wires the feature); the
worker runs whatever the registry holds, so the runner never changes for a new job:

    registry.register(job("complaints.escalate", timedelta(minutes=10), escalate_overdue))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from repayguard.platform.clock import Clock
from repayguard.platform.uow import UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What a run did: one line a person reads, the counts behind it, and whether work is left
    (then the job is due again at once instead of after its interval)."""

    summary: str
    counts: Mapping[str, int] = field(default_factory=dict)
    more: bool = False


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a running job gets. ``heartbeat()`` renews the job's lease (call it between
    chunks of work); it raises ``JobLeaseLost`` when another worker has taken the job over."""

    uow: UnitOfWorkFactory
    clock: Clock
    holder: str
    heartbeat: Callable[[], None]


class Job(Protocol):
    """A timed, idempotent piece of work: running it twice, or after a crash half-way, has the
    effect of running it once."""

    @property
    def name(self) -> str:
        """Stable name: the lease is keyed by it (e.g. ``entitlements.activate``)."""
        ...

    @property
    def every(self) -> timedelta:
        """How long after a run the job is due again."""
        ...

    def run(self, context: JobContext) -> JobOutcome: ...


@dataclass(frozen=True, slots=True)
class FunctionJob:
    """A job made from a plain function (see :func:`job`)."""

    name: str
    every: timedelta
    work: Callable[[JobContext], JobOutcome]

    def run(self, context: JobContext) -> JobOutcome:
        return self.work(context)


def job(name: str, every: timedelta, work: Callable[[JobContext], JobOutcome]) -> FunctionJob:
    """A job that calls ``work`` every ``every``."""
    return FunctionJob(name, every, work)


class JobRegistry:
    """The jobs a worker runs, in registration order; names are unique."""

    def __init__(self, jobs: Iterable[Job] = ()) -> None:
        self._jobs: dict[str, Job] = {}
        for item in jobs:
            self.register(item)

    def register(self, item: Job) -> None:
        if not item.name or len(item.name) > 80:
            raise ValueError(f"a job name must have 1 to 80 characters, not {item.name!r}")
        if item.name in self._jobs:
            raise ValueError(f"a job called {item.name!r} is already registered")
        if item.every <= timedelta(0):
            raise ValueError(f"job {item.name!r} must have a positive interval")
        self._jobs[item.name] = item

    def names(self) -> list[str]:
        return list(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)
