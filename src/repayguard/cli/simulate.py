"""``repayguard simulate``: two policies on the same synthetic portfolio and the same luck."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from repayguard.cli.shared import AsJson, DataDir, friendly
from repayguard.errors import RepayguardError

if TYPE_CHECKING:
    from repayguard.simulation import ArmPolicy, Comparison


def arm_policy(arg: str, data_dir: Path | None) -> ArmPolicy:
    """A YAML file, a published version ``NAME@N`` (``NAME@latest``) or a stored draft id."""
    from repayguard.cli.policy.common import read
    from repayguard.cli.shared import open_container
    from repayguard.policies import DraftRef, SourceRef, VersionRef, profiles, resolve
    from repayguard.simulation import ArmPolicy

    known = profiles()
    path = Path(arg)
    if path.exists():
        text = read(path)
        policy = resolve(SourceRef(text), session=None, profiles=known)
        policy = policy.model_copy(update={"version": "unpublished"})
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return ArmPolicy(path.stem, policy, digest)
    ref: VersionRef | DraftRef
    if "@" in arg:
        name, _, number = arg.rpartition("@")
        if not (number == "latest" or number.isdigit()):
            raise RepayguardError(
                f"{arg!r} names no version", hint="use NAME@VERSION or NAME@latest"
            )
        ref = VersionRef(name, None if number == "latest" else int(number))
    elif arg.isalnum():
        ref = DraftRef(arg)
    else:
        raise RepayguardError(
            f"{arg!r} is neither a file, a published version nor a draft id",
            hint="give a YAML file, NAME@VERSION (NAME@latest), or a draft id from "
            "'repayguard policy drafts'",
        )
    with open_container(data_dir) as built:
        uow = built.uow()
        with uow:
            policy = resolve(ref, session=uow.session, profiles=known)
    return ArmPolicy(arg, policy)


@friendly
def simulate(
    policy: Annotated[str, typer.Option("--policy", help="Arm A: FILE, NAME@N or a draft id.")],
    vs: Annotated[str, typer.Option("--vs", help="Arm B: FILE, NAME@N or a draft id.")],
    borrowers: Annotated[int, typer.Option(min=1, help="Borrowers per run.")] = 20_000,
    months: Annotated[int, typer.Option(min=2, max=60, help="Months simulated.")] = 12,
    seeds: Annotated[int, typer.Option(min=1, help="Replications (intervals need >= 2).")] = 5,
    seed: Annotated[int, typer.Option(help="First seed: same seeds, same numbers.")] = 7,
    assumptions: Annotated[
        Path | None, typer.Option(help="A YAML file overriding some assumptions.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes to use.")] = 2,
    as_json: AsJson = False,
    html_out: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Keep the report for the console's Simulations page.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Simulate policy A against policy B on the same synthetic borrowers and random draws."""
    from datetime import UTC, datetime

    from repayguard.cli.output import console, progress_bar
    from repayguard.cli.shared import load_settings
    from repayguard.simulation import (
        GROUP_ATTRIBUTES,
        PortfolioSpec,
        compare,
        html_report,
        load_assumptions,
        save_run,
    )

    settings = load_settings(data_dir)
    wanted = settings.fairness.protected_attributes
    groups = [g for g in wanted if g in GROUP_ATTRIBUTES]
    arm_a, arm_b = arm_policy(policy, data_dir), arm_policy(vs, data_dir)
    spec = PortfolioSpec(borrowers=borrowers, months=months, seed=seed)
    with progress_bar("Simulating", 2 * seeds, "arm-runs", quiet=as_json) as bar:
        result = compare(
            spec, arm_a, arm_b, load_assumptions(assumptions), seeds=seeds, workers=workers,
            progress=lambda done, _total: bar.set(done), groups=groups,
            disparity_threshold=settings.fairness.max_disparity_ratio,
        )  # fmt: skip
    page = html_report(result) if html_out is not None or save else ""
    if html_out is not None:
        html_out.parent.mkdir(parents=True, exist_ok=True)
        html_out.write_text(page, encoding="utf-8")
    saved = (
        save_run(settings.data_dir / "simulations", result.as_json(), page, at=datetime.now(UTC))
        if save
        else None
    )
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        return
    console.print(comparison_table(result))
    if seeds < 2:
        console.print("One seed gives no interval: run with --seeds 5 or more.")
    console.print(fairness_table(result))
    for warning in result.fairness["warnings"]:
        console.print(f"[yellow]Warning:[/yellow] {warning['text']}")
    if not result.fairness["warnings"]:
        console.print("No group is restricted past the disparity threshold beyond chance.")
    missing = [g for g in wanted if g not in GROUP_ATTRIBUTES]
    if missing:
        console.print(
            f"Simulated borrowers have no {', '.join(missing)}: compare those on real "
            "decisions with 'repayguard policy impact'."
        )
    if html_out is not None:
        console.print(f"HTML report: {html_out}")
    if saved is not None:
        console.print(f"Saved as {saved.run_id}: open it on the console's Simulations page.")


def comparison_table(result: Comparison) -> object:
    """The figures per arm and B − A, intervals in brackets; differences excluding 0 bold."""
    from rich.table import Table

    from repayguard.simulation import METRICS

    a, b = result.arms
    table = Table(
        title=f"{result.spec.borrowers:,} borrowers × {result.spec.months} months, "
        f"{len(result.seeds)} seeds (95% intervals)",
    )
    table.add_column("figure")
    table.add_column(f"A: {a['label']}", justify="right")
    table.add_column(f"B: {b['label']}", justify="right")
    table.add_column("B − A", justify="right")
    for name, _meaning in METRICS:
        cells = result.metrics[name]
        diff = cells["difference"]
        low, high = diff["low"], diff["high"]
        strong = low is not None and high is not None and (low > 0 or high < 0)
        table.add_row(
            name,
            _cell(cells["A"]),
            _cell(cells["B"]),
            f"[bold]{_cell(diff)}[/bold]" if strong else _cell(diff),
        )
    return table


def fairness_table(result: Comparison) -> object:
    """Per group: borrowers (n), any-method restriction rate per arm with B's ratio, and the
    30+ DPD rate per arm; a group warned about is marked."""
    from rich.table import Table

    by_group, threshold = result.fairness["by_group"], result.fairness["threshold"]
    warned = {(w["attribute"], w["group"]) for w in result.fairness["warnings"]}
    table = Table(
        title=f"By group (seeds pooled; ratio over the least restricted group, warned above "
        f"{threshold:g} beyond chance)"
    )
    table.add_column("group", no_wrap=True)
    for name in ("n", "restr. A", "restr. B", "ratio B", "30+ A", "30+ B"):
        table.add_column(name, justify="right", no_wrap=True)
    rows = zip(
        by_group["A"]["restricted"], by_group["B"]["restricted"],
        by_group["A"]["dpd30"], by_group["B"]["dpd30"], strict=True,
    )  # fmt: skip
    for ra, rb, da, db in rows:
        key = (rb["attribute"], rb["group"])
        ratio = "∞" if rb["ratio"] is None else f"{rb['ratio']:.2f}"
        table.add_row(
            f"{key[0]}={key[1]}",
            f"{rb['borrowers']:,}",
            f"{ra['rate']:.1%}",
            f"{rb['rate']:.1%}",
            f"[bold yellow]{ratio} ![/bold yellow]" if key in warned else ratio,
            f"{da['rate']:.1%}",
            f"{db['rate']:.1%}",
        )
    return table


def _cell(cell: dict[str, float | None]) -> str:
    mean, low, high = cell["mean"], cell["low"], cell["high"]
    if low is None or high is None:
        return f"{mean:.4g}"
    return f"{mean:.4g} [{low:.4g}, {high:.4g}]"


@friendly
def case_study(
    out: Annotated[Path, typer.Option("--out", help="Markdown file to write.")] = Path(
        "docs/case-study.md"
    ),
    borrowers: Annotated[int, typer.Option(min=1, help="Borrowers per run.")] = 20_000,
    months: Annotated[int, typer.Option(min=2, max=60, help="Months simulated.")] = 12,
    seeds: Annotated[int, typer.Option(min=2, help="Replications per comparison.")] = 5,
    seed: Annotated[int, typer.Option(help="First seed.")] = 7,
    workers: Annotated[int, typer.Option(min=1, help="Processes to use.")] = 2,
) -> None:
    """Regenerate docs/case-study.md: the shipped policy against no restriction and a
    stricter policy, and what a 5 % → 2 % overdue drop would need."""
    from repayguard.cli.output import console, progress_bar
    from repayguard.simulation import PortfolioSpec
    from repayguard.simulation.case_study import case_study_markdown, run_case_study

    command = (
        f"repayguard simulate-case-study --out {out} --borrowers {borrowers} "
        f"--months {months} --seeds {seeds} --seed {seed}"
    )
    spec = PortfolioSpec(borrowers=borrowers, months=months, seed=seed)
    with progress_bar("Simulating", 6 * seeds, "arm-runs") as bar:
        study = run_case_study(
            spec, seeds=seeds, workers=workers, command=command,
            progress=lambda done, _total: bar.set(done),
        )  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(case_study_markdown(study), encoding="utf-8")
    console.print(f"Wrote {out}. Review it, then commit it with the change that moved it.")
