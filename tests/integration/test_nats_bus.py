"""The shared bus on a real NATS JetStream server: effects once across processes, following in
order everywhere, redelivery after a failure, the catch-up rule, and reloads on a gap.

Each NatsBus here stands for one process; each test has its own stream and subject prefix.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.js import api
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from repayguard.errors import BusMisconfigured
from repayguard.platform.clock import SystemClock
from repayguard.platform.consumers import idempotent
from repayguard.platform.messages import Message
from repayguard.platform.nats_bus import NatsBus
from repayguard.platform.outbox import ProcessedMessage
from repayguard.platform.uow import UnitOfWork

from support.facts import Effect, Everything, Followed, Happened, OtherOnBus
from support.nats import NATS_URL, Names, jetstream_call, wait_until


class Processes:
    """The buses a test opened (its "processes"), closed at the end whatever happens."""

    def __init__(self, names: Names) -> None:
        self._names = names
        self.buses: list[NatsBus] = []

    def open(self, **options: Any) -> NatsBus:
        bus = self._names.bus(**{"ack_wait_seconds": 2.0, "poll_seconds": 0.25, **options})
        self.buses.append(bus)
        bus.open()
        return bus

    def close(self) -> None:
        # Together, as separate processes would stop: each waits for its pull in flight.
        closing = [threading.Thread(target=bus.close) for bus in self.buses]
        for thread in closing:
            thread.start()
        for thread in closing:
            thread.join()


@pytest.fixture
def processes(names: Names) -> Iterator[Processes]:
    made = Processes(names)
    try:
        yield made
    finally:
        made.close()


def _effects_of(sessions: sessionmaker[Session], consumer: str) -> int:
    with sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(ProcessedMessage)
            .where(ProcessedMessage.consumer == consumer)
        )
        return int(count or 0)


def _uow(sessions: sessionmaker[Session]) -> Any:
    return lambda: UnitOfWork(sessions, clock=SystemClock())


def test_each_effect_is_handled_once_across_processes_that_consume_it(
    processes: Processes, sessions: sessionmaker[Session]
) -> None:
    handled: list[tuple[int, str]] = []
    lock = threading.Lock()

    def effect(process: int) -> Any:
        def handle(message: Message, uow: UnitOfWork) -> None:
            with uow:
                uow.commit()
            with lock:
                handled.append((process, message.message_id))

        return idempotent("test.effect", handle, uow=_uow(sessions))

    for process in (1, 2):
        bus = processes.open()
        bus.subscribe(Effect, effect(process), consumer="test.effect")
        bus.start(effects=True)
    publisher = processes.open()
    publisher.start(effects=False)
    sent = [Message(Effect(n=n)) for n in range(40)]
    for message in sent:
        publisher.publish(message)

    wait_until(lambda: len(handled) >= 40, what="40 effects")
    wait_until(lambda: _effects_of(sessions, "test.effect") == 40, what="40 committed effects")
    ids = [message_id for _, message_id in handled]
    assert sorted(ids) == sorted(m.message_id for m in sent)
    assert len(set(ids)) == len(ids), "no message had its effect twice"


def test_every_process_follows_every_message_in_order(processes: Processes) -> None:
    seen: dict[int, list[int]] = {1: [], 2: []}
    for process in (1, 2):
        bus = processes.open()
        bus.follow(Followed, lambda m, p=process: seen[p].append(m.payload["n"]))
        bus.start(effects=False)
    publisher = processes.open()
    for n in range(60):
        publisher.publish(Message(Followed(n=n)))
        if n % 3 == 0:  # names nobody follows share the stream and are skipped in order
            publisher.publish(Message(OtherOnBus(n=n)))

    wait_until(lambda: len(seen[1]) == 60 and len(seen[2]) == 60, what="both followers")
    assert seen[1] == seen[2] == list(range(60))
    for bus in processes.buses[:2]:
        wait_until(lambda b=bus: b.staleness() < 1.0, what="caught up")
        assert bus.health().connected


def test_a_failed_effect_comes_back_and_lands_once_before_later_messages(
    processes: Processes, sessions: sessionmaker[Session]
) -> None:
    attempts: list[int] = []
    landed: list[int] = []

    def flaky(message: Message, uow: UnitOfWork) -> None:
        n = message.payload["n"]
        attempts.append(n)
        if n == 0 and attempts.count(0) < 3:
            raise ConnectionError("a downstream service is down")
        with uow:
            uow.commit()
        landed.append(n)

    bus = processes.open()
    bus.subscribe(Effect, idempotent("test.flaky", flaky, uow=_uow(sessions)), consumer="t.f")
    bus.start(effects=True)
    for n in range(3):
        bus.publish(Message(Effect(n=n)))

    wait_until(lambda: len(landed) == 3, what="three effects after two failures")
    assert attempts[:3] == [0, 0, 0], "later messages waited behind the failing one"
    assert landed == [0, 1, 2]
    assert _effects_of(sessions, "test.flaky") == 3


def test_messages_published_while_a_process_loads_its_state_are_followed(
    processes: Processes,
) -> None:
    publisher = processes.open()
    publisher.publish(Message(Followed(n=-1)))  # in the state the process will load
    late = processes.open()  # records the position, then "loads its state"
    for n in range(5):  # committed after the position was recorded, during the load
        publisher.publish(Message(Followed(n=n)))
    seen: list[int] = []
    late.follow(Followed, lambda m: seen.append(m.payload["n"]))
    late.start(effects=False)
    publisher.publish(Message(Followed(n=5)))

    wait_until(lambda: len(seen) == 6, what="every message after the recorded position")
    assert seen == [0, 1, 2, 3, 4, 5]


def test_a_recreated_stream_makes_a_follower_reload_its_state(
    processes: Processes, names: Names
) -> None:
    reloads: list[str] = []
    seen: list[int] = []
    follower = processes.open()
    follower.follow(Followed, lambda m: seen.append(m.payload["n"]))
    follower.on_gap(lambda: reloads.append("view"))
    follower.on_gap(lambda: reloads.append("tokens"))
    follower.start(effects=False)
    publisher = processes.open()
    for n in range(3):
        publisher.publish(Message(Followed(n=n)))
    wait_until(lambda: len(seen) == 3, what="the first messages")

    async def recreate(js: Any) -> None:
        info = await js.stream_info(names.stream)
        await js.delete_stream(names.stream)
        await js.add_stream(info.config)

    jetstream_call(NATS_URL, recreate)
    for n in range(3, 6):
        publisher.publish(Message(Followed(n=n)))

    wait_until(lambda: reloads == ["view", "tokens"], what="the reloads")
    publisher.publish(Message(Followed(n=6)))
    wait_until(lambda: 6 in seen, what="following after the reload")
    assert seen[:3] == [0, 1, 2]
    wait_until(lambda: follower.staleness() < 1.0, what="fresh again after the reload")


def test_messages_gone_from_the_stream_make_a_follower_reload(
    processes: Processes, names: Names
) -> None:
    reloads: list[int] = []
    seen: list[int] = []
    release = threading.Event()

    def slow(message: Message) -> None:
        release.wait(10)
        seen.append(message.payload["n"])

    follower = processes.open()
    follower.follow(Followed, slow)
    follower.on_gap(lambda: reloads.append(len(seen)))
    follower.start(effects=False)
    publisher = processes.open()
    publisher.publish(Message(Followed(n=0)))  # the follower is stuck applying this one
    for n in range(1, 6):
        publisher.publish(Message(Followed(n=n)))
    wait_until(lambda: follower.staleness() > 0.5, what="the follower falling behind")

    async def purge(js: Any) -> None:  # retention removes what the follower has not read
        await js.purge_stream(names.stream)

    jetstream_call(NATS_URL, purge)
    release.set()

    wait_until(lambda: len(reloads) == 1, what="a reload after the gap")
    assert follower.health().problem is None
    publisher.publish(Message(Followed(n=9)))
    wait_until(lambda: 9 in seen, what="following after the reload")
    assert not set(seen) & {1, 2, 3, 4, 5}, "purged messages are never applied"


def test_a_follow_handler_that_fails_reloads_the_state(processes: Processes) -> None:
    reloads: list[bool] = []
    seen: list[int] = []

    def fragile(message: Message) -> None:
        if message.payload["n"] == 1:
            raise ValueError("cannot apply")
        seen.append(message.payload["n"])

    follower = processes.open()
    follower.follow(Followed, fragile)
    follower.on_gap(lambda: reloads.append(True))
    follower.start(effects=False)
    publisher = processes.open()
    for n in range(3):
        publisher.publish(Message(Followed(n=n)))

    wait_until(lambda: reloads == [True], what="a reload after the failed handler")
    publisher.publish(Message(Followed(n=3)))
    wait_until(lambda: 3 in seen, what="following after the reload")


def test_only_names_of_the_stream_go_on_the_shared_bus(processes: Processes) -> None:
    bus = processes.open()
    with pytest.raises(BusMisconfigured, match="cannot go on the shared bus"):
        bus.publish(Message(Happened()))
    with pytest.raises(BusMisconfigured):
        bus.follow(Everything, lambda m: None)
    bus.subscribe(Effect, lambda m: None, consumer="one")
    with pytest.raises(BusMisconfigured, match="already handles"):
        bus.subscribe(Effect, lambda m: None, consumer="one")


def test_a_stream_of_another_deployment_is_refused(names: Names, tmp_path: Path) -> None:
    first = names.bus()
    first.open()
    first.close()
    other = NatsBus(url=NATS_URL, stream=names.stream, subject_prefix="elsewhere.")
    try:
        with pytest.raises(BusMisconfigured, match="holds"):
            other.open()
    finally:
        other.close()

    def config(js: Any) -> Any:
        return js.stream_info(names.stream)

    info = jetstream_call(NATS_URL, config)
    assert info.config.storage == api.StorageType.FILE
    assert info.config.subjects == [f"{names.prefix}repayguard.>"]


def test_a_name_this_process_does_not_follow_is_passed_over_without_a_reload(
    processes: Processes,
) -> None:
    """A message no fact of this release declares (a newer release's) is not read at all by
    a follower: no reload, and the followed messages after it still arrive."""
    reloads: list[bool] = []
    seen: list[int] = []
    follower = processes.open()
    follower.follow(Followed, lambda m: seen.append(m.payload["n"]))
    follower.on_gap(lambda: reloads.append(True))
    follower.start(effects=False)
    subject = follower.subject("repayguard.test.not_declared")
    body = (
        b'{"name": "repayguard.test.not_declared", "version": 1, "message_id": "x", "payload": {}}'
    )
    jetstream_call(NATS_URL, lambda js: js.publish(subject, body))
    processes.open().publish(Message(Followed(n=1)))

    wait_until(lambda: seen == [1], what="the followed message after the undeclared one")
    assert reloads == []
