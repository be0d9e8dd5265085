"""``repayguard worker``: the timed transitions under database leases, until Ctrl-C or one pass."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated

import structlog
import typer

from repayguard.audit import acting_as, set_actor
from repayguard.bootstrap import Container
from repayguard.cli.exits import FINDINGS
from repayguard.cli.output import console, warn_overrides
from repayguard.cli.shared import load_settings
from repayguard.scheduler import JobReport, Worker, worker_name

log = structlog.get_logger(__name__)

_STYLE = {
    "ran": "green",
    "failed": "bold red",
    "lease_lost": "yellow",
    "held": "cyan",
    "not_due": "dim",
}


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Run one pass over the jobs, print it, and exit.")
    ] = False,
    poll: Annotated[
        float | None,
        typer.Option(min=0.1, help="Seconds between passes (default: scheduler.poll_seconds)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="This worker's name in leases and run records (default: host:pid)."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Data folder (default: $REPAYGUARD_DATA_DIR or .repayguard)."
        ),
    ] = None,
) -> None:
    """Run the timed transitions: restrictions going live after their notice period, reviews
    and expiries, notice retries, and every job a feature registered. Any number of workers
    may run at once: a database lease gives each job to one of them at a time."""
    from repayguard.bootstrap import bootstrap

    settings = load_settings(data_dir)
    # Messages this worker commits are relayed before its job returns (its own consumers
    # write the notices), whatever relay mode the server uses.
    settings = settings.model_copy(
        update={"bus": settings.bus.model_copy(update={"relay": "inline"})}
    )
    holder = (name or worker_name())[:120]
    set_actor(f"worker:{holder}")
    # A worker handles effects from the shared bus as well as its timed jobs.
    with bootstrap(settings, consume=True) as container:
        warn_overrides(container.engines.overrides)
        runner = Worker(
            container.jobs,
            uow=container.uow,
            clock=container.clock,
            holder=holder,
            lease=timedelta(seconds=settings.scheduler.lease_seconds),
            before_pass=container.relay.drain,
            on_run=container.telemetry.job_run,
        )
        jobs = ", ".join(container.jobs.names())
        if once:
            console.print(f"Worker [bold]{holder}[/bold], one pass over: {jobs}")
            reports = runner.run_once()
            for report in reports:
                _print(report)
            if any(r.status == "failed" for r in reports):
                raise typer.Exit(code=FINDINGS)
            return
        # One line however many jobs features register (the terminal wraps it, not rich), so
        # a supervisor reading the first line sees the whole banner.
        console.print(
            f"Worker [bold]{holder}[/bold] runs {jobs} — Ctrl+C stops after the current job.",
            soft_wrap=True,
        )
        stop = threading.Event()
        _stop_on_signals(stop)
        port = settings.telemetry.worker_port
        stop_metrics = container.telemetry.serve(port) if port is not None else None
        if port is not None:
            console.print(f"Metrics on http://127.0.0.1:{port}/metrics", soft_wrap=True)
        try:
            runner.run_forever(
                stop=stop,
                poll=poll or settings.scheduler.poll_seconds,
                on_report=lambda report: _print(report) if report.did_something else None,
            )
        finally:
            if stop_metrics is not None:
                stop_metrics()
        console.print("Worker stopped.")


def _print(report: JobReport) -> None:
    style = _STYLE[report.status]
    console.print(
        f"{report.at:%Y-%m-%d %H:%M:%S}  [{style}]{report.status:<10}[/{style}] "
        f"[bold]{report.job:<22}[/bold] {report.summary}"
    )


def _stop_on_signals(stop: threading.Event) -> None:
    """The first Ctrl+C (or SIGTERM) lets the current job finish; a second one interrupts."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        console.print("Stopping after the current job (Ctrl+C again to interrupt)…")
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def run_in_background(container: Container) -> Callable[[], None]:
    """Run the container's jobs on a thread of this process (``repayguard serve`` does, so the
    changes they make reach its authorize view through the in-process bus); returns the
    function that stops it after the current job."""
    settings = container.settings.scheduler
    holder = worker_name()
    runner = Worker(
        container.jobs,
        uow=container.uow,
        clock=container.clock,
        holder=holder,
        lease=timedelta(seconds=settings.lease_seconds),
    )
    stop = threading.Event()

    def report(done: JobReport) -> None:
        if done.did_something:
            log.info("scheduler.job", job=done.job, status=done.status, summary=done.summary)

    def work() -> None:
        with acting_as(f"worker:{holder}"):
            runner.run_forever(stop=stop, poll=settings.poll_seconds, on_report=report)

    thread = threading.Thread(target=work, name="repayguard-worker", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=settings.lease_seconds)

    return halt
