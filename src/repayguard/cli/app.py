"""The ``repayguard`` command: data in, decisions out, the API served; friendly errors."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from repayguard.audit import set_actor
from repayguard.cli import backup as backup_command
from repayguard.cli import demo as demo_command
from repayguard.cli.actor import cli_actor
from repayguard.cli.approvals import approvals_app
from repayguard.cli.audit import audit_app
from repayguard.cli.complaints import complaints_app
from repayguard.cli.decide import spark as decide_spark
from repayguard.cli.decide.runs import runs as decide_runs
from repayguard.cli.exits import FINDINGS, ScriptableGroup
from repayguard.cli.hardship import hardship_app
from repayguard.cli.identity import token_app, user_app
from repayguard.cli.incidents import incidents_app
from repayguard.cli.keys import keys_app
from repayguard.cli.model import model_app
from repayguard.cli.monitor import monitor_app
from repayguard.cli.output import (
    console,
    errors,
    ingest_table,
    lineage_line,
    print_json,
    progress_bar,
    rejections_table,
    report_json,
    run_json,
    summary_table,
    warn_overrides,
)
from repayguard.cli.overlays import overlays_app
from repayguard.cli.playbooks import playbooks_app
from repayguard.cli.policy import policy_app
from repayguard.cli.replay import replay as replay_command
from repayguard.cli.shadow import replay as policy_replay
from repayguard.cli.shadow import shadow_app
from repayguard.cli.shared import AsJson, DataDir, load_settings, one_shot
from repayguard.cli.simulate import case_study as case_study_command
from repayguard.cli.simulate import simulate as simulate_command
from repayguard.cli.worker import worker as worker_command
from repayguard.config import Settings
from repayguard.platform.logging import configure_logging, json_from_environment

if TYPE_CHECKING:
    from repayguard.bootstrap import Container

app = typer.Typer(
    name="repayguard",
    help="Decide, enforce and explain which repayment methods each borrower may use.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    cls=ScriptableGroup,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(policy_app, name="policy")
app.add_typer(model_app, name="model")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(approvals_app, name="approvals")
app.add_typer(complaints_app, name="complaints")
app.add_typer(shadow_app, name="shadow")
app.add_typer(playbooks_app, name="playbooks")
app.add_typer(overlays_app, name="overlays")
policy_app.command("replay")(policy_replay)
app.add_typer(hardship_app, name="hardship")
app.add_typer(incidents_app, name="incidents")
app.add_typer(monitor_app, name="monitor")
app.command("simulate")(simulate_command)
app.command("replay")(replay_command)
app.command("simulate-case-study")(case_study_command)


def _print_version(asked: bool) -> None:
    if asked:
        from repayguard import __version__

        typer.echo(f"repayguard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print 'repayguard VERSION' and exit.",
        ),
    ] = False,
) -> None:
    """Decide, enforce and explain which repayment methods each borrower may use.

    Exit codes: 0 ok, 1 findings, 2 usage, 3 refused, 4 unavailable (docs/cli.md)."""


@db_app.command("upgrade")
def db_upgrade(as_json: AsJson = False, data_dir: DataDir = None) -> None:
    """Apply pending schema migrations (serve and demo do this by themselves)."""
    from repayguard.platform import schema
    from repayguard.platform.db import make_engine

    settings = load_settings(data_dir)
    engine = make_engine(settings.database_url)
    try:
        before = schema.current_revisions(engine)
        schema.upgrade(engine)
        after = schema.current_revisions(engine)
    finally:
        engine.dispose()
    if as_json:
        in_force = _seed_policy(settings)
        print_json({"before": sorted(before), "after": sorted(after), "in_force": in_force})
        return
    shown = ", ".join(sorted(after))
    if before == after:
        console.print(f"Database already at revision [bold]{shown}[/bold]: nothing to do.")
    else:
        was = ", ".join(sorted(before)) or "empty"
        console.print(f"Database upgraded from {was} to [bold]{shown}[/bold].")
    _seed_and_show_policy(settings)


def _seed_policy(settings: Settings) -> dict[str, str] | None:
    """Publish the shipped policy as version 1 if the store has none (bootstrap's seed, with
    its audit record); the lineage of the policy in force (None: nothing is published)."""
    from repayguard.bootstrap import bootstrap

    with bootstrap(one_shot(settings), migrate=True, production_model=False) as container:
        engine = container.engines.loaded
        warn_overrides(container.engines.overrides)
    return None if engine is None else dict(engine.lineage)


def _seed_and_show_policy(settings: Settings) -> None:
    """Seed the shipped policy (as ``_seed_policy``) and say which policy is in force."""
    from repayguard.bootstrap import bootstrap

    with bootstrap(one_shot(settings), migrate=True, production_model=False) as container:
        engine = container.engines.loaded
        name = container.engines.policy_name
        warn_overrides(container.engines.overrides)
    if engine is None:
        console.print(
            f"No version of policy [bold]{name}[/bold] is published: nothing decides until one "
            "is submitted and approved ('repayguard policy submit FILE', then "
            "'repayguard policy publish DRAFT --as YOU')."
        )
        return
    console.print("In force: " + lineage_line(engine.lineage))


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the event files into.")],
    borrowers: Annotated[int, typer.Option(min=1, help="Borrowers in the portfolio.")] = 10_000,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same files.")] = 7,
    start: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="First day of the history (default: --months before today, so it ends today).",
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes to use.")] = 2,
    as_json: AsJson = False,
) -> None:
    """Write a synthetic portfolio's events as Parquet files (see docs/synthetic-data.md)."""
    from repayguard.simulation import PortfolioSpec, generate_portfolio

    if start is None:
        # The history ends today, so `ingest` and `decide` (as of now) see recent behaviour in
        # the features' 30- to 180-day windows, as they would with a lender's live book.
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        start = demo_command.months_before(today, months)
    spec = PortfolioSpec(
        borrowers=borrowers, months=months, seed=seed, start=start.replace(tzinfo=UTC)
    )
    started = time.perf_counter()
    with progress_bar("Generating", borrowers, "borrowers", quiet=as_json) as bar:
        summary = generate_portfolio(
            spec, out, progress=lambda done: bar.set(done), workers=workers
        )
    seconds = time.perf_counter() - started
    if as_json:
        print_json(
            {
                "out": out,
                "borrowers": borrowers,
                "events": summary.total_events,
                "seconds": round(seconds, 3),
            }
        )
        return
    console.print(
        f"Wrote {summary.total_events:,} events for {borrowers:,} borrowers into {out} "
        f"in {seconds:.1f} s. Next: [bold]repayguard ingest {out}[/bold]"
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Event files (.csv, .jsonl, .parquet) or folders holding them."),
    ],
    decide: Annotated[
        bool, typer.Option(help="Re-decide the affected borrowers after the import.")
    ] = True,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 10_000,
    allow_partial: Annotated[
        bool,
        typer.Option(
            "--allow-partial",
            help="Exit 0 when some records were rejected but others landed (default: exit 1 "
            "when any record was rejected; exit 1 always when none landed).",
        ),
    ] = False,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Import event files: bad records are quarantined with their reasons, the rest land.

    Exit 0: every record landed; 1: some record was rejected (0 with --allow-partial when
    others landed)."""
    from repayguard.bootstrap import bootstrap
    from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
    from repayguard.ingestion import count_records, expand_paths, ingest_files

    files = expand_paths(paths)
    settings = one_shot(load_settings(data_dir))
    with bootstrap(settings, migrate=True) as container:
        warn_overrides(container.engines.overrides)
        total = sum(count_records(path) for path in files)
        started = time.perf_counter()
        with progress_bar("Ingesting", total, "events", quiet=as_json) as bar:
            report = ingest_files(
                files,
                uow=container.uow,
                setup=container.ingest,
                batch_size=batch_size,
                on_batch=lambda n: bar.advance(n),
            )
        if not as_json:
            console.print(ingest_table(report, time.perf_counter() - started))
            if report.rejections:
                console.print(rejections_table(report))
                console.print(
                    f"{report.rejected:,} records were quarantined with their reasons (table "
                    "'quarantine'); fix them and ingest them again."
                )
        run = None
        if decide and report.borrower_ids:
            with (errors if as_json else console).status(
                f"Deciding {len(report.borrower_ids):,} affected borrowers…"
            ):
                run = decide_borrowers(
                    DecideBorrowers(
                        borrower_ids=sorted(report.borrower_ids),
                        mode="online",
                        trigger=triggers.EVENTS,
                        # A file of history is decided as of its data, not of today.
                        as_of_events=True,
                    ),
                    uow=container.uow(),
                    engine=container.decision_engine,
                    history_days=settings.decisions.history_days,
                )
    if as_json:
        document = report_json(report)
        if run is not None:
            document["decisions"] = run_json(run)
        print_json(document)
    elif run is not None:
        console.print(summary_table(run.summary, title="Decisions for affected borrowers"))
    landed = report.accepted + report.duplicates
    if report.rejected and (landed == 0 or not allow_partial):
        raise typer.Exit(FINDINGS)


decide_app = typer.Typer()
app.add_typer(decide_app, name="decide")
decide_app.command("runs")(decide_runs)


@decide_app.callback(invoke_without_command=True)
def decide_command(
    ctx: typer.Context,
    all_borrowers: Annotated[
        bool, typer.Option("--all", help="Re-decide every borrower (the batch driver).")
    ] = False,
    borrower: Annotated[
        list[str] | None, typer.Option("--borrower", help="Re-decide this borrower (repeatable).")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="Decide as of (UTC)."),
    ] = None,
    engine_name: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Where the core runs for --all: 'polars' (this process) or 'spark' (the "
            "'spark' extra; docs/spark.md).",
        ),
    ] = "polars",
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--events",
            help="Spark: Parquet events (path or glob, repeatable) instead of the store's.",
        ),
    ] = None,
    spark_master: Annotated[
        str | None, typer.Option(help="Spark: master URL (default: spark.master, local[2]).")
    ] = None,
    partitions: Annotated[
        int | None, typer.Option(help="Spark: borrower partitions (default: spark.partitions).")
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Run the decision core and update entitlements; prints tiers and method states.
    ('repayguard decide runs' lists the latest runs and what caused them.)"""
    from repayguard.bootstrap import bootstrap
    from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers

    if ctx.invoked_subcommand is not None:
        return
    if all_borrowers == bool(borrower):  # a usage mistake: exit 2 with the usage line
        raise typer.BadParameter(
            "say which borrowers to decide: --all, or --borrower ID (repeatable)",
            param_hint="--all / --borrower",
        )
    on_spark = _engine_choice(engine_name, all_borrowers, events, spark_master, partitions)
    settings = one_shot(load_settings(data_dir))
    with bootstrap(settings) as container:
        warn_overrides(container.engines.overrides)
        engine = container.decision_engine  # the whole run decides with this one
        started = time.perf_counter()
        if on_spark:
            run = decide_spark.decide_on_spark(
                container,
                as_of=as_of.replace(tzinfo=UTC) if as_of else None,
                events=events or [],
                master=spark_master,
                partitions=partitions,
                quiet=as_json,
            )
        else:
            with (errors if as_json else console).status("Deciding…"):
                run = decide_borrowers(
                    DecideBorrowers(
                        borrower_ids=None if all_borrowers else borrower,
                        as_of=as_of.replace(tzinfo=UTC) if as_of else None,
                        trigger=triggers.CLI,
                    ),
                    uow=container.uow(),
                    engine=engine,
                    history_days=settings.decisions.history_days,
                    chunk_borrowers=settings.decisions.chunk_borrowers,
                    history_cache=settings.history_cache_dir,
                )
        seconds = time.perf_counter() - started
        newer = _published_since(container, run.lineage)
    if as_json:
        print_json({**run_json(run), "seconds": round(seconds, 3), "published_since": newer})
        return
    if run.borrowers == 0:
        console.print(
            "No borrower has events yet, so there was nobody to decide. "
            "Next: [bold]repayguard ingest PATH[/bold] (or [bold]repayguard demo[/bold])."
        )
        return
    console.print(
        summary_table(run.summary, title=f"Decisions as of {run.as_of:%Y-%m-%d %H:%M} UTC")
    )
    console.print(
        f"{run.borrowers:,} borrowers decided in {seconds:.1f} s; "
        f"{run.changed:,} entitlements changed ({run.tightened:,} tightened, "
        f"{run.loosened:,} loosened)."
    )
    if run.held:
        console.print(
            f"{run.held:,} tightenings wait for a second person's approval: "
            "[bold]repayguard approvals list --kind decision[/bold]"
        )
    console.print("Decided with: " + lineage_line(run.lineage))
    if newer is not None:
        console.print(
            f"[bold yellow]Version {newer} of {run.lineage['policy_name']} was published while "
            "this run decided[/bold yellow]; this run kept the version it started with. Run it "
            "again to decide under the new version."
        )


def _engine_choice(
    name: str,
    all_borrowers: bool,
    events: list[str] | None,
    master: str | None,
    partitions: int | None,
) -> bool:
    """Whether ``decide`` runs on Spark; refuses Spark options that would be ignored."""
    if name not in ("polars", "spark"):
        raise typer.BadParameter(f"{name!r}: use polars or spark", param_hint="--engine")
    if name == "spark" and not all_borrowers:
        raise typer.BadParameter(
            "Spark decides the whole book only: use --all with --engine spark "
            "(decide named borrowers in-process)",
            param_hint="--engine",
        )
    if name == "polars" and (events or master or partitions):
        raise typer.BadParameter(
            "--events, --spark-master and --partitions belong to the Spark engine: "
            "add --engine spark, or drop them",
            param_hint="--engine",
        )
    return name == "spark"


def _published_since(container: Container, lineage: dict[str, str]) -> int | None:
    """The store's latest version of the policy in force when it is not the one a run decided
    with (published while the run went on); None otherwise or under a development override."""
    from repayguard.policies import find_latest

    if container.engines.overrides and lineage.get("policy_version") == "unpublished":
        return None
    with container.session_factory() as session:
        latest = find_latest(session, lineage["policy_name"])
    if latest is None or latest.content_hash == lineage["policy_hash"]:
        return None
    return latest.version


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            help="Behind a TLS-terminating proxy: take the scheme and client address from "
            "X-Forwarded-Proto / X-Forwarded-For sent by --forwarded-allow-ips."
        ),
    ] = False,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            help="Comma-separated proxy addresses (or networks) whose forwarded headers are "
            "trusted with --proxy-headers; '*' trusts any."
        ),
    ] = "127.0.0.1",
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this PEM certificate (chain).")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="The PEM private key of --ssl-certfile.")
    ] = None,
) -> None:
    """Serve the REST API (authorize, repayment methods, events) until interrupted."""
    listening = demo_command.Listening(
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )
    demo_command.serve_api(load_settings(data_dir), host=host, port=port, listening=listening)


app.command(name="demo")(demo_command.demo)
app.command(name="worker")(worker_command)
app.command(name="backup")(backup_command.backup)
app.command(name="restore")(backup_command.restore)


def main() -> None:
    """Entry point: expected errors print what went wrong and what to do, never a traceback,
    and end with their exit code (``repayguard.cli.exits``, applied by the root command)."""
    configure_logging(json=json_from_environment(os.environ), level="WARNING")
    set_actor(cli_actor())  # the audit trail names who ran the command (the API sets its own)
    app()
