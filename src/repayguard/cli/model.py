"""``repayguard model``: train, evaluate, list, show, promote and score risk models."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from repayguard.cli.actor import As, Token, acting, recorded_actor
from repayguard.cli.output import console, errors, print_json, progress_bar
from repayguard.cli.shared import AsJson as Json
from repayguard.cli.shared import DataDir, open_container
from repayguard.cli.shared import friendly as _friendly
from repayguard.errors import RepayguardError

model_app = typer.Typer(
    help="Risk models: train a scorecard or LightGBM, evaluate, register, promote, score.",
    no_args_is_help=True,
)


def _utc(dates: list[datetime] | None) -> tuple[datetime, ...]:
    return tuple(d.replace(tzinfo=UTC) for d in dates or ())


def _fmt(value: Any, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


@model_app.command("train")
@_friendly
def train(
    data: Annotated[
        Path | None, typer.Option(help="Train on a CSV or Parquet table instead of events.")
    ] = None,
    target: Annotated[str | None, typer.Option(help="Target column of --data.")] = None,
    positive: Annotated[
        str | None, typer.Option(help="Target value meaning 'bad' (default: 1/true).")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="Column (or declared feature) not to use as an input; repeatable."),
    ] = None,
    events: Annotated[
        list[Path] | None,
        typer.Option(help="Parquet event files or folders instead of the event store."),
    ] = None,
    as_of: Annotated[
        list[datetime] | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Training as-of date (UTC midnight); repeatable. Default: four monthly dates "
            "whose 90-day label windows end by the validation date.",
        ),
    ] = None,
    validation_as_of: Annotated[
        list[datetime] | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Out-of-time validation date; repeatable. Default: the last date whose "
            "90-day label window the events cover.",
        ),
    ] = None,
    all_features: Annotated[
        bool,
        typer.Option(
            "--all-features",
            help="Also offer features decisions cannot yet compute reliably (utilization).",
        ),
    ] = False,
    kind: Annotated[
        str, typer.Option(help="scorecard (needs the train extra) or lightgbm.")
    ] = "scorecard",
    challenger: Annotated[
        str,
        typer.Option(
            help="Also train this kind on the same data and compare (auto: lightgbm "
            "for a scorecard on events; none)."
        ),
    ] = "auto",
    cv: Annotated[int, typer.Option(min=0, max=20, help="Cross-validation folds (0: none).")] = 5,
    calibration: Annotated[str, typer.Option(help="platt, isotonic or none.")] = "platt",
    trees: Annotated[int, typer.Option(min=1, help="LightGBM boosting rounds.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed (folds, trees).")] = 0,
    version: Annotated[str | None, typer.Option(help="Name of the new version.")] = None,
    operator: As = None,
    token: Token = None,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Train a model (and a challenger), evaluate it, register it as a candidate."""
    from repayguard.risk import (
        WINDOW_UNSTABLE,
        EventHistory,
        TabularFile,
        TrainModel,
        train_model,
    )

    if data is not None:
        if target is None:
            raise RepayguardError("--data needs --target", hint="name the outcome column")
        source: EventHistory | TabularFile = TabularFile(
            data, target, positive, tuple(exclude or ())
        )
    else:
        unstable = () if all_features else WINDOW_UNSTABLE
        source = EventHistory(
            _utc(as_of), _utc(validation_as_of), files=tuple(events or ()),
            exclude=tuple(dict.fromkeys([*unstable, *(exclude or ())])),
        )  # fmt: skip
    rival = None if challenger == "none" else challenger
    if challenger == "auto":
        rival = "lightgbm" if kind == "scorecard" and data is None else None
    cmd = TrainModel(
        data=source, kind=kind, challenger=rival, cv=cv, calibration=calibration, seed=seed,
        version=version,
        params={"lightgbm": {"trees": trees}},
    )  # fmt: skip
    cmd.check()
    with open_container(data_dir, migrate=True, production_model=False) as container:
        registry = container.approvals.registry
        # A name recorded as who trained is a proven operator or the os user, never a guess.
        cmd = replace(cmd, trained_by=recorded_actor(container, username=operator, token=token))
        with progress_bar("Training", cmd.steps(), "steps", quiet=as_json) as bar:
            outcome = train_model(
                cmd, uow=container.uow, registry=registry, progress=lambda _: bar.advance(1)
            )
    if as_json:
        typer.echo(json.dumps([_model_json(m) for m in outcome.models], default=str))
        return
    table = Table(title=f"Trained — evaluated on {outcome.dataset}", title_justify="left")
    for name in ("version", "kind", "AUC", "KS", "Gini", "CV AUC", "training AUC"):
        table.add_column(
            name, justify="left" if name in ("version", "kind") else "right", no_wrap=True
        )
    for model, entry in zip(outcome.models, outcome.report["models"], strict=True):
        cv_result = entry["cross_validation"]
        table.add_row(
            model.version, model.kind, _fmt(entry["evaluation"]["auc"]),
            _fmt(entry["evaluation"]["ks"]), _fmt(entry["evaluation"]["gini"]),
            f"{cv_result['auc_mean']:.3f} ± {cv_result['auc_sd']:.3f}" if cv_result else "—",
            _fmt((entry["training"] or {}).get("auc")),
        )  # fmt: skip
    console.print(table)
    first = outcome.models[0].version
    console.print(
        f"Report: {registry.folder(first) / 'report.html'}\n"
        f"Next: [bold]repayguard model promote {first} --as ANALYST[/bold]"
    )


def _model_json(model: Any) -> dict[str, Any]:
    return {
        "version": model.version, "kind": model.kind, "state": model.state,
        "created_at": model.created_at.isoformat(), "created_by": model.created_by,
        "metrics": model.metrics, "card_sha256": model.card_sha256,
        "promoted_by": model.promoted_by,
    }  # fmt: skip


@model_app.command("evaluate")
@_friendly
def evaluate(
    model: Annotated[list[str], typer.Option("--model", help="Version to evaluate; repeatable.")],
    data: Annotated[Path | None, typer.Option(help="Labelled CSV or Parquet table.")] = None,
    target: Annotated[str | None, typer.Option(help="Target column of --data.")] = None,
    positive: Annotated[str | None, typer.Option(help="Target value meaning 'bad'.")] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Evaluate on event history as of this date."),
    ] = None,
    events: Annotated[
        list[Path] | None, typer.Option(help="Parquet event files instead of the event store.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for report.json and .html.")] = None,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Evaluate versions on new labelled data (AUC, KS, calibration, PSI vs training)."""
    from repayguard.risk import EvaluateModel, EventHistory, TabularFile, evaluate_models

    if (data is None) == (as_of is None):
        raise RepayguardError(
            "say what to evaluate on", hint="use --data FILE --target COL, or --as-of DATE"
        )
    if data is not None and target is None:
        raise RepayguardError("--data needs --target", hint="name the outcome column")
    source: EventHistory | TabularFile = (
        TabularFile(data, target or "", positive)
        if data is not None
        else EventHistory(
            validation_as_of=_utc([as_of] if as_of else []), files=tuple(events or ())
        )
    )
    with open_container(data_dir, production_model=False) as container:
        stamp = container.clock.now().strftime("%Y%m%dT%H%M%SZ")
        folder = out or container.settings.data_dir / "reports" / f"{stamp}-{'-vs-'.join(model)}"
        with console.status("Evaluating…"):
            outcome = evaluate_models(
                EvaluateModel(tuple(model), source, folder),
                uow=container.uow,
                registry=container.approvals.registry,
            )
    if as_json:
        typer.echo(json.dumps(outcome.report["models"], default=str))
        return
    table = Table(title=f"Evaluated on {outcome.report['dataset']['name']}", title_justify="left")
    for name in ("version", "AUC", "KS", "Gini", "mean PD", "observed", "PSI (PD)"):
        table.add_column(name, justify="left" if name == "version" else "right", no_wrap=True)
    for entry in outcome.report["models"]:
        e = entry["evaluation"]
        table.add_row(
            entry["version"], _fmt(e["auc"]), _fmt(e["ks"]), _fmt(e["gini"]),
            _fmt(e["mean_pd"], ".2%"), _fmt(e["event_rate"], ".2%"), _fmt(e["psi"]),
        )  # fmt: skip
    console.print(table)
    console.print(f"Report: {outcome.html_path}")


@model_app.command("list")
@_friendly
def list_command(
    state: Annotated[str | None, typer.Option(help="candidate, production or retired.")] = None,
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Registered versions, newest first."""
    from repayguard.risk import list_models

    with open_container(data_dir, production_model=False) as container:
        models = list_models(state, uow=container.uow())
    if as_json:
        typer.echo(json.dumps([_model_json(m) for m in models], default=str))
        return
    if not models and state is not None:
        console.print(f"No model version is {state}.")
        return
    if not models:
        console.print("No model is registered yet. Next: [bold]repayguard model train[/bold]")
        return
    table = Table(title="Model versions", title_justify="left")
    for name in ("version", "kind", "state", "AUC", "CV AUC", "created", "by"):
        table.add_column(name, no_wrap=True)
    for m in models:
        style = "bold green" if m.state == "production" else None
        table.add_row(
            m.version, m.kind, m.state, _fmt(m.metrics.get("auc")),
            _fmt(m.metrics.get("cv_auc")), f"{m.created_at:%Y-%m-%d}", m.created_by, style=style,
        )  # fmt: skip
    console.print(table)


@model_app.command("show")
@_friendly
def show(
    version: Annotated[str, typer.Argument(help="The version to show.")],
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """A version's model card (verified against its sha256) and state history."""
    from repayguard.risk import show_model

    with open_container(data_dir, production_model=False) as container:
        details = show_model(version, uow=container.uow(), registry=container.approvals.registry)
    if as_json:
        typer.echo(json.dumps(details.card, ensure_ascii=False))
        return
    card, m = details.card, details.model
    metrics = card["metrics"]
    table = Table(title=f"Model card {m.version} ({m.kind}, {m.state})", title_justify="left",
                  show_header=False)  # fmt: skip
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("target", card["target"]),
        ("source", card["source"]),
        (
            "training",
            f"{card['training']['name']}, {card['training']['rows']:,} rows, "
            f"{card['training']['events']:,} events",
        ),
        ("evaluated on", metrics["evaluated_on"]),
        (
            "AUC / KS / Gini",
            f"{_fmt(metrics.get('auc'))} / {_fmt(metrics.get('ks'))} / {_fmt(metrics.get('gini'))}",
        ),
        ("inputs", ", ".join(i["name"] for i in card["inputs"])),
        ("calibration", f"{card['calibration']['method']} on {card['calibration']['fitted_on']}"),
        ("created", f"{m.created_at:%Y-%m-%d %H:%M} by {m.created_by}"),
        ("card sha256", m.card_sha256),
    ]
    for change in details.history:
        rows.append(("history", f"{change.at:%Y-%m-%d %H:%M} {change.from_state} → "
                                f"{change.to_state} by {change.actor} {change.note}"))  # fmt: skip
    for key, value in rows:
        table.add_row(key, str(value))
    console.print(table)


@model_app.command("promote")
@_friendly
def promote(
    version: Annotated[str, typer.Argument(help="The version to put into production.")],
    note: Annotated[str, typer.Option(help="Why (recorded).")] = "",
    operator: As = None,
    token: Token = None,
    data_dir: DataDir = None,
) -> None:
    """Ask for a version to become the production model (the previous one is retired) once a
    second person approves ('repayguard approvals approve')."""
    from repayguard.approvals import RequestApproval, request_approval
    from repayguard.cli.approvals import next_step

    with (
        open_container(data_dir, production_model=False) as container,
        acting(container, operator, token, needed_for="asking to promote a model") as by,
    ):
        made = request_approval(
            RequestApproval("model_promote", {"version": version, "note": note}, by=by,
                            reason=note),
            uow=container.uow(),
            context=container.approvals,
        )  # fmt: skip
    console.print(next_step(made))


@model_app.command("score")
@_friendly
def score(
    model: Annotated[str, typer.Option("--model", help="Version to score with.")],
    data: Annotated[Path, typer.Option(help="CSV or Parquet with the model's inputs.")],
    out: Annotated[Path, typer.Option(help="Output .csv or .parquet (one row per input row).")],
    id_column: Annotated[str | None, typer.Option(help="Column to copy as the row key.")] = None,
    reasons: Annotated[
        bool,
        typer.Option(help="Add the principal reasons (LightGBM: about 0.3 ms a row)."),
    ] = True,
    locale: Annotated[str, typer.Option(help="Language of reason texts: en or zh-CN.")] = "en",
    as_json: Json = False,
    data_dir: DataDir = None,
) -> None:
    """Write one PD per input row, in input order, plus its reasons."""
    from repayguard.risk import ScoreFile, score_file

    cmd = ScoreFile(model, data, out, id_column=id_column, reasons=reasons, locale=locale)
    with (
        open_container(data_dir, production_model=False) as container,
        (errors if as_json else console).status("Scoring…"),
    ):
        outcome = score_file(cmd, uow=container.uow(), registry=container.approvals.registry)
    if as_json:
        print_json(
            {"model": model, "rows": outcome.rows, "mean_pd": outcome.mean_pd, "out": outcome.out}
        )
        return
    mean = f", mean PD {outcome.mean_pd:.2%}" if outcome.mean_pd is not None else ""
    console.print(f"Scored {outcome.rows:,} rows with {model}{mean} into {outcome.out}.")
