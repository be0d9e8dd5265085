"""``repayguard demo`` and ``serve``: the whole loop on the embedded default, then the API."""

from __future__ import annotations

import gc
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from repayguard import entitlements
from repayguard.bootstrap import Container
from repayguard.cli.output import (
    console,
    ingest_table,
    lineage_line,
    progress_bar,
    summary_table,
    warn_overrides,
)
from repayguard.cli.shared import one_shot
from repayguard.cli.worker import run_in_background
from repayguard.config import Settings
from repayguard.entitlements import Entitlement
from repayguard.errors import InvalidInput

DEMO_DIR = Path(".repayguard") / "demo"


DEMO_OPERATOR = "demo-admin"


@dataclass(frozen=True)
class Listening:
    """How ``serve`` listens: behind which proxies, and with which certificate (uvicorn's)."""

    proxy_headers: bool = False
    """Trust ``X-Forwarded-Proto`` / ``X-Forwarded-For`` from ``forwarded_allow_ips``."""
    forwarded_allow_ips: str = "127.0.0.1"
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    def __post_init__(self) -> None:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise InvalidInput(
                "TLS needs both a certificate and its private key",
                hint="pass --ssl-certfile and --ssl-keyfile together (PEM files)",
            )
        for path in (self.ssl_certfile, self.ssl_keyfile):
            if path is not None and not path.is_file():
                raise InvalidInput(
                    f"{path} is not a file", hint="pass the path of a PEM certificate or key"
                )

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_certfile is not None else "http"


def serve_api(
    settings: Settings, *, host: str, port: int, listening: Listening | None = None
) -> None:
    """Build the container with the entitlement view and run uvicorn (one worker)."""
    import uvicorn

    from repayguard.api.app import create_server
    from repayguard.bootstrap import bootstrap
    from repayguard.platform.logging import configure_logging, log_format
    from repayguard.platform.net import is_loopback

    listening = listening or Listening()
    configure_logging(json=log_format(settings.env, settings.log_format) == "json", level="INFO")
    # A server handles effects (notices, online decisions, …) from the shared bus too.
    container = bootstrap(settings, migrate=True, serve_view=True, consume=True)
    warn_overrides(container.engines.overrides)
    view_size = len(container.view) if container.view is not None else 0
    url = f"{listening.scheme}://{host}:{port}"
    console.print(
        f"Serving repayguard on [bold]{url}[/bold] "
        f"({view_size:,} entitlements in memory). API docs: {url}/docs — "
        "Ctrl+C stops."
    )
    if settings.telemetry.metrics_token is None and not is_loopback(host):
        console.print(
            f"[yellow]/metrics is closed[/yellow]: {host} is reachable from other machines and "
            "no metrics token is set; set REPAYGUARD_TELEMETRY__METRICS_TOKEN to scrape it."
        )
    stop_jobs = run_in_background(container) if settings.scheduler.in_server else None
    server = create_server(container, bind_host=host)
    # Everything built so far (modules, the policy, the entitlement view) lives as long as the
    # server: moved out of the collector's reach, full collections stop rescanning it, which
    # is what the authorize path's tail latency would otherwise pay for.
    gc.freeze()
    try:
        uvicorn.run(
            server,
            host=host,
            port=port,
            # uvicorn's loggers go through repayguard's logging (configure_logging); its
            # access log is replaced by the API's own (api/requestid.py).
            log_config=None,
            log_level="info",
            access_log=False,
            proxy_headers=listening.proxy_headers,
            forwarded_allow_ips=listening.forwarded_allow_ips,
            ssl_certfile=str(listening.ssl_certfile) if listening.ssl_certfile else None,
            ssl_keyfile=str(listening.ssl_keyfile) if listening.ssl_keyfile else None,
        )
    finally:
        if stop_jobs is not None:
            stop_jobs()


def demo(
    borrowers: Annotated[int, typer.Option(min=10, help="Borrowers to generate.")] = 10_000,
    months: Annotated[int, typer.Option(min=2, max=36, help="Months of history.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed of the portfolio.")] = 7,
    serve: Annotated[bool, typer.Option(help="Serve the API after the summary.")] = True,
    port: Annotated[int, typer.Option(help="Port for the API.")] = 8000,
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Folder for the demo (emptied first).")
    ] = DEMO_DIR,
) -> None:
    """Generate a portfolio, ingest it, decide every borrower, show the outcome, serve the API."""
    from repayguard.bootstrap import bootstrap
    from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
    from repayguard.ingestion import expand_paths, ingest_files
    from repayguard.simulation import PortfolioSpec, generate_portfolio

    if data_dir.exists():
        shutil.rmtree(data_dir)
    events_dir = data_dir / "events"
    # The history ends today at midnight and everyone is decided as of then, so the 30-day
    # windows of the features cover the last month of behaviour.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = months_before(today, months)
    settings = Settings(data_dir=data_dir)
    single_run = one_shot(settings)
    console.rule("[bold]repayguard demo")
    console.print(
        f"1/3 A synthetic credit-line portfolio: {borrowers:,} borrowers, {months} months "
        f"from {start:%Y-%m-%d}, seed {seed}."
    )
    spec = PortfolioSpec(borrowers=borrowers, months=months, seed=seed, start=start)
    with progress_bar("Generating", borrowers, "borrowers") as bar:
        generated = generate_portfolio(
            spec, events_dir, progress=lambda done: bar.set(done), workers=2
        )
    console.print(f"2/3 Ingesting {generated.total_events:,} events into SQLite ({data_dir}).")
    with bootstrap(single_run, migrate=True) as container:
        warn_overrides(container.engines.overrides)
        started = time.perf_counter()
        with progress_bar("Ingesting", generated.total_events, "events") as bar:
            report = ingest_files(
                expand_paths([events_dir]),
                uow=container.uow,
                setup=container.ingest,
                on_batch=lambda n: bar.advance(n),
            )
        console.print(ingest_table(report, time.perf_counter() - started))
        console.print("3/3 Deciding every borrower: features → PD → tier → policy → guardrails.")
        started = time.perf_counter()
        with console.status("Deciding…"):
            run = decide_borrowers(
                DecideBorrowers(as_of=today, trigger=triggers.CLI),
                uow=container.uow(),
                engine=container.decision_engine,
                history_days=settings.decisions.history_days,
            )
        seconds = time.perf_counter() - started
        console.print(
            summary_table(run.summary, title=f"Decisions as of {today:%Y-%m-%d} 00:00 UTC")
        )
        console.print(
            f"{run.borrowers:,} borrowers decided in {seconds:.1f} s. " + lineage_line(run.lineage)
        )
        token_file = _demo_token(container, data_dir)
        examples, tries = _examples(container, port, token_file)
        password_file = _demo_operator(container, data_dir)
    console.print(examples)
    console.print("[bold]Try[/bold] (the API needs a token; the demo made one):")
    for line in tries:
        console.print(f"  {line}", soft_wrap=True, markup=False, highlight=False)
    console.print(
        f"[bold]Console[/bold]: http://127.0.0.1:{port}/console — log in as "
        f"[bold]{DEMO_OPERATOR}[/bold] (admin) with the password in {password_file}",
        soft_wrap=True,
    )
    if serve:
        serve_api(settings, host="127.0.0.1", port=port)
    else:
        console.print(f"Serve it later with: [bold]repayguard serve --data-dir {data_dir}[/bold]")


def months_before(moment: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months earlier (the 28th at most, so it exists): the
    start of a generated history that ends on ``moment`` (the demo, ``generate``)."""
    index = moment.year * 12 + moment.month - 1 - months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=min(moment.day, 28))


def _demo_token(container: Container, data_dir: Path) -> Path:
    """A service token for trying the API, saved in the demo folder (demo only); its file."""
    from repayguard.identity import CreateToken, create_token

    issued = create_token(CreateToken("service", "demo-app"), uow=container.uow())
    saved = data_dir / "demo-token.txt"
    saved.write_text(issued.secret + "\n")
    saved.chmod(0o600)
    return saved


def _demo_operator(container: Container, data_dir: Path) -> Path:
    """An admin who can log in to the console, with a random password saved in the demo
    folder (demo only); the password file."""
    import secrets

    from repayguard.identity import AddOperator, SetPassword, add_operator, set_password

    password = secrets.token_urlsafe(12)
    add_operator(AddOperator(DEMO_OPERATOR, "admin"), uow=container.uow())
    set_password(SetPassword(DEMO_OPERATOR, password), uow=container.uow())
    saved = data_dir / "demo-console-password.txt"
    saved.write_text(password + "\n")
    saved.chmod(0o600)
    return saved


def _examples(container: Container, port: int, token_file: Path) -> tuple[Panel, list[str]]:
    """A few borrowers worth looking at, and the commands (one per line, never wrapped, so they
    copy whole) that show their methods through the API with the demo's token."""
    picks: list[tuple[str, Entitlement]] = []
    with container.session_factory() as session:
        # One borrower per control the policy applied (the same borrower may show for two:
        # failed debits both stop auto-debit and force the manual flow on the free channels).
        for label, states in (
            ("auto-debit disabled", {"auto_debit": "disabled"}),
            ("auto-debit mandatory", {"auto_debit": "mandatory"}),
            ("early repayment restricted", {"early_repayment": "restricted"}),
            ("manual forced", {"manual": "forced"}),
            ("standard terms", {"rule_id": "default"}),
        ):
            found = entitlements.sample(session, **states)
            if found is not None:
                picks.append((label, found))
    table = Table(show_header=True, box=None)
    table.add_column("borrower")
    table.add_column("why shown")
    table.add_column("rule")
    table.add_column("reasons")
    for label, entitlement in picks:
        table.add_row(
            entitlement.borrower_id,
            label,
            entitlement.rule_id,
            ", ".join(entitlement.reasons) or "-",
        )
    base = f"http://127.0.0.1:{port}"
    who = picks[0][1].borrower_id if picks else "B0000001"
    auth = '-H "Authorization: Bearer $TOKEN"'
    tries = [
        f"TOKEN=$(cat {token_file})",
        f"curl {auth} {base}/v1/borrowers/{who}/repayment-methods",
        f"curl {auth} -X POST {base}/v1/authorize -H 'content-type: application/json' "
        f'-d \'{{"borrower_id": "{who}", "method": "auto_debit"}}\'',
    ]
    return Panel(table, title="Borrowers to look at", title_align="left"), tries
