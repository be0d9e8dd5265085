"""``repayguard shadow``: the challenger evaluated beside production; ``policy replay``:
recorded history re-decided under a candidate (changes decisions, not outcomes)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from repayguard.cli.actor import As, Token, proven_operator
from repayguard.cli.output import console
from repayguard.cli.policy.common import policy_ref
from repayguard.cli.shared import AsJson, DataDir, friendly, open_container

shadow_app = typer.Typer(help="Shadow mode: a challenger policy beside every decision.")
Attributes = Annotated[
    Path | None,
    typer.Option(
        "--attributes",
        help="CSV/Parquet of borrower_id and group columns (birth_year becomes age_band) "
        "for restriction rates by group (default: region and birth year from profiles).",
    ),
]


def _challenger_ref(arg: str) -> Any:
    from repayguard.policies import DraftRef, SourceRef

    ref = policy_ref(arg) if ("@" in arg or Path(arg).exists()) else DraftRef(arg)
    if isinstance(ref, SourceRef):
        from repayguard.errors import InvalidInput

        raise InvalidInput(
            "a challenger is a published version or a stored draft, not a file",
            hint="submit the file first ('repayguard policy submit FILE') and give the draft id",
        )
    return ref


def _admin(built: Any, operator: str | None, token: str | None, *, what: str) -> str:
    """The username of the admin who proves they act (the challenger is an admin setting)."""
    from repayguard.errors import PermissionDenied

    found = proven_operator(built, username=operator, token=token, needed_for=what)
    if found.role != "admin":
        raise PermissionDenied(
            f"{what} is an admin's setting; {found.username} is {found.role}",
            hint="ask an admin to run it",
        )
    return found.username


@shadow_app.command("set")
@friendly
def set_(
    policy: Annotated[str, typer.Argument(help="NAME@VERSION or a stored draft id.")],
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Evaluate POLICY beside every production decision, with no effect on entitlements (an
    admin's setting: prove who acts with --as NAME and the password, or --token)."""
    from repayguard import policies, shadow

    with open_container(data_dir) as built:
        by = _admin(built, operator, token, what="setting the shadow challenger")
        info = shadow.set_challenger(
            shadow.SetChallenger(_challenger_ref(policy), actor=by),
            uow=built.uow(),
            profiles=policies.profiles(),
        )
    console.print(
        f"Challenger set: [bold]{info.name}[/bold] {info.version} ({info.content_hash[:12]}). "
        "Every decision run now logs it beside production; see 'repayguard shadow status'."
    )


@shadow_app.command("clear")
@friendly
def clear(
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Stop shadow mode (the shadow log stays); an admin's setting, like 'shadow set'."""
    from repayguard import shadow

    with open_container(data_dir) as built:
        by = _admin(built, operator, token, what="clearing the shadow challenger")
        cleared = shadow.clear_challenger(by, uow=built.uow())
    console.print("Shadow mode is off." if cleared else "No challenger was set.")


@shadow_app.command("status")
@friendly
def status(
    attributes: Attributes = None, as_json: AsJson = False, data_dir: DataDir = None
) -> None:
    """The challenger in effect, how often it disagrees with production, and by group."""
    from repayguard import shadow

    with open_container(data_dir) as built:
        settings = built.settings.fairness
        frame = (
            shadow.read_attributes(attributes, on=built.clock.now().date()) if attributes else None
        )
        report = shadow.summary(
            uow=built.uow(),
            attributes=frame,
            groups=settings.protected_attributes,
            threshold=settings.max_disparity_ratio,
        )
    if as_json:
        typer.echo(json.dumps(summary_json(report), default=str, ensure_ascii=False))
        return
    if report.challenger is None:
        console.print("No challenger is set. Next: [bold]repayguard shadow set NAME@N[/bold].")
        return
    c = report.challenger
    console.print(
        f"Challenger [bold]{c.name}[/bold] {c.version}, set by {c.set_by}: "
        f"{report.differing} of {report.compared} decisions differ "
        f"({report.borrowers} borrower(s)). List them: 'repayguard shadow disagreements'."
    )
    if report.transitions:
        table = Table(title="Where the challenger decides differently")
        for column in ("method", "production", "challenger", "decisions"):
            table.add_column(column)
        for method, a, b, n in report.transitions:
            table.add_row(method, a, b, str(n))
        console.print(table)
    if report.fairness is not None:
        print_fairness(report.fairness)


@shadow_app.command("disagreements")
@friendly
def disagreements(
    limit: Annotated[int, typer.Option(min=1, max=1_000)] = 50,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """The latest decisions where the challenger differs, side by side."""
    from repayguard import shadow

    with open_container(data_dir) as built:
        rows = shadow.list_disagreements(uow=built.uow(), limit=limit)
    if as_json:
        typer.echo(json.dumps({"disagreements": rows}, default=str, ensure_ascii=False))
        return
    if not rows:
        console.print("No disagreement logged (or no challenger set).")
        return
    table = Table(title=f"Latest {len(rows)} disagreement(s)")
    for column in ("borrower", "as of", "production", "challenger"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r["borrower_id"], f"{r['as_of']:%Y-%m-%d %H:%M}", _brief(r["champion"]),
            _brief(r["challenger"]),
        )  # fmt: skip
    console.print(table)


def replay(
    candidate: Annotated[str, typer.Argument(help="NAME@VERSION, a stored draft id or a file.")],
    start: Annotated[datetime, typer.Option("--from", help="First day (UTC).")],
    end: Annotated[datetime, typer.Option("--to", help="Last day (UTC), included.")],
    attributes: Attributes = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Replay recorded decision runs under CANDIDATE: who it would have restricted when and
    which notices would have gone out, beside what happened. Writes nothing."""
    friendly(_replay)(candidate, start, end, attributes, as_json, data_dir)


def _replay(
    candidate: str,
    start: datetime,
    end: datetime,
    attributes: Path | None,
    as_json: bool,
    data_dir: Path | None,
) -> None:

    from repayguard import policies, shadow

    ref = (
        _challenger_ref(candidate)
        if "@" not in candidate and not Path(candidate).exists()
        else policy_ref(candidate)
    )
    first = start.replace(tzinfo=start.tzinfo or UTC)
    last = datetime.combine(end.date(), time.max, tzinfo=end.tzinfo or UTC)
    with open_container(data_dir) as built, Progress(console=console, transient=True) as bar:
        task = bar.add_task("replaying decision runs", total=None)
        report = shadow.replay(
            shadow.ReplayPolicy(ref, first, last),
            uow=built.uow(),
            engine=built.decision_engine,
            profiles=policies.profiles(),
            history_days=built.settings.decisions.history_days,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        fairness = fairness_of(
            built,
            attributes,
            report.last.rename({"actual": "now"}) if report.last.height else report.last,
        )
    if as_json:
        body: dict[str, Any] = {
            "mode": report.label, "candidate": report.candidate, "runs": report.runs,
            "changes": report.changes,
        }  # fmt: skip
        if fairness is not None:
            body["fairness"] = fairness_json(fairness)
        typer.echo(json.dumps(body, default=str, ensure_ascii=False))
        return
    console.print(f"[bold yellow]{report.label}[/bold yellow] — candidate {report.candidate}")
    if not report.runs:
        console.print("No decision run recorded in that range. Widen --from/--to.")
        return
    table = Table(title="Restricted per method: actual → candidate")
    for column in ("as of", "borrowers", "auto-debit", "early repay", "manual", "differ",
                   "notices"):  # fmt: skip
        table.add_column(column, justify="right")
    for r in report.runs:
        table.add_row(
            f"{r['as_of']:%Y-%m-%d %H:%M}", str(r["borrowers"]),
            *(f"{r[f'actual_{m}']} → {r[f'candidate_{m}']}"
              for m in ("auto_debit", "early_repayment", "manual")),
            str(r["differ"]), f"{r['actual_notices']} → {r['candidate_notices']}",
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(report.changes)} decision(s) would differ; --json lists each borrower.")
    if fairness is not None:
        print_fairness(fairness)


def fairness_of(built: Any, path: Path | None, restricted: Any) -> Any:
    """Both arms' restriction rates by group for a frame of ``borrower_id``, ``now`` and
    ``candidate``; None without group attributes. ``built`` (a container) gives the settings
    and the profiles; without one, the default fairness settings apply to the file given."""
    import polars as pl

    from repayguard import shadow
    from repayguard.config import FairnessSettings

    if restricted.height == 0:
        return None
    frame: pl.DataFrame | None
    if built is None:
        if path is None:
            return None
        frame = shadow.read_attributes(path, on=datetime.now(UTC).date())
    else:
        frame = _attributes(built, path, on=built.clock.now().date())
    if frame is None:
        return None
    settings = FairnessSettings() if built is None else built.settings.fairness
    return shadow.compare(
        restricted.select("borrower_id", pl.col("now").alias("restricted")),
        restricted.select("borrower_id", pl.col("candidate").alias("restricted")),
        frame,
        groups=settings.protected_attributes,
        threshold=settings.max_disparity_ratio,
    )


def fairness_json(fairness: Any) -> dict[str, Any]:
    result: dict[str, Any] = fairness.as_dict()
    return result


def _attributes(built: Any, path: Path | None, *, on: Any) -> Any:
    """Group attributes from the file given, else from borrower profiles (None when no
    profile states a region or birth year: there is nothing to group by)."""
    from repayguard import shadow

    if path is not None:
        return shadow.read_attributes(path, on=on)
    frame = shadow.profile_attributes(uow=built.uow(), keyring=built.keyring, on=on)
    return frame if shadow.stated(frame) else None


def print_fairness(fairness: Any) -> None:
    """Restriction rates by group under both arms, and the groups past the threshold."""
    table = Table(title="Restriction rate by group (ratio to the least restricted group)")
    for column in ("attribute", "group", "borrowers", "before", "after", "ratio after"):
        table.add_column(column)
    after = {(r["attribute"], r["group"]): r for r in fairness.candidate.iter_rows(named=True)}
    for r in fairness.champion.iter_rows(named=True):
        a = after[(r["attribute"], r["group"])]
        table.add_row(
            r["attribute"], r["group"], str(r["borrowers"]), f"{r['rate']:.1%}",
            f"{a['rate']:.1%}",
            ("∞" if math.isinf(a["ratio"]) else f"{a['ratio']:.2f}")
            + (" ⚠" if a["crosses"] else ""),
        )  # fmt: skip
    console.print(table)
    for warning in fairness.warnings:
        console.print(f"[bold red]fairness:[/bold red] {warning}")


def summary_json(report: Any) -> dict[str, Any]:
    c = report.challenger
    return {
        "challenger": None if c is None else {
            "name": c.name, "version": c.version, "content_hash": c.content_hash,
            "set_by": c.set_by, "set_at": c.set_at.isoformat(),
        },
        "compared": report.compared, "differing": report.differing,
        "borrowers": report.borrowers,
        "transitions": [
            {"method": m, "production": a, "challenger": b, "decisions": n}
            for m, a, b, n in report.transitions
        ],
    }  # fmt: skip


def _brief(outcome: dict[str, Any]) -> str:
    s = outcome["states"]
    return f"{outcome['rule_id']}: {s['auto_debit']}/{s['early_repayment']}/{s['manual']}"
