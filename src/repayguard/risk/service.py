"""Model use-cases: train and register, evaluate; each commits at most once.

Training reads its data (event history or an analyst's table), fits the model and its
challenger outside any transaction, writes their artefacts, then registers both versions as
candidates in one transaction with a ``repayguard.model.registered`` message each. If that
transaction fails, the files it was to register are removed again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import polars as pl

from repayguard import ingestion
from repayguard.core.scoring import (
    KINDS,
    SCORECARD,
    Evaluation,
    InputsInvalid,
    Profile,
    Trained,
    TrainedModel,
    TrainingSettings,
    evaluate,
    evaluate_scores,
    train,
)
from repayguard.core.scoring.calibration import METHODS as CALIBRATIONS
from repayguard.core.scoring.models import TRAIN_EXTRA_HINT, missing_for_fitting
from repayguard.errors import ExtraNotInstalled
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory
from repayguard.risk import repository
from repayguard.risk.cards import build_card, summary_metrics
from repayguard.risk.datasets import (
    Dataset,
    EventHistory,
    PreparedData,
    TabularFile,
    event_dataset,
    prepare_events,
    prepare_table,
    read_event_files,
    read_table,
)
from repayguard.risk.errors import ModelTrainingFailed, ModelVersionExists
from repayguard.risk.lifecycle import RegisteredModel, load_version, registered
from repayguard.risk.messages import ModelRegistered
from repayguard.risk.models import ModelVersionRow
from repayguard.risk.registry import ModelRegistry, canonical_json, check_version_name
from repayguard.risk.reports import ReportEntry, build_report, render_html

PROFILE_FILE: Final = "profile.json"
REPORT_JSON: Final = "report.json"
REPORT_HTML: Final = "report.html"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_FAR: Final = datetime(9999, 1, 1, tzinfo=UTC)

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class TrainModel:
    """Train a model of ``kind`` (and optionally a ``challenger`` on the same data) and
    register them as candidates. ``params`` go to the fitting of each kind by name."""

    data: EventHistory | TabularFile
    kind: str = SCORECARD
    challenger: str | None = None
    cv: int = 5
    calibration: str = "platt"
    seed: int = 0
    trained_by: str = "system"
    """Who trains, as recorded in the registry: an operator's username or ``cli:<os user>``."""
    version: str | None = None
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def check(self) -> None:
        """Refuse a command that cannot work before any data is read (clear error each)."""
        for kind in (self.kind, self.challenger):
            if kind is not None and kind not in KINDS:
                raise ModelTrainingFailed(
                    f"unknown model kind {kind!r}", hint=f"use one of {', '.join(KINDS)}"
                )
        if self.calibration not in CALIBRATIONS:
            raise ModelTrainingFailed(
                f"unknown calibration {self.calibration!r}",
                hint=f"use one of {', '.join(CALIBRATIONS)}",
            )
        if self.version is not None:
            check_version_name(self.version)
        for kind in (self.kind, self.challenger):
            missing = missing_for_fitting(kind) if kind is not None else ()
            if missing:
                raise ExtraNotInstalled(
                    f"training a {kind} model needs {', '.join(missing)}, which is not "
                    "installed (it is in repayguard's 'train' extra)",
                    hint=f"{TRAIN_EXTRA_HINT}; or train --kind lightgbm, which needs no extra",
                    missing=list(missing),
                )

    def steps(self) -> int:
        """Units of progress training reports: reading data, each fold and fit, the report."""
        kinds = 2 if self.challenger else 1
        return 2 + kinds * TrainingSettings(self.kind, cv=self.cv).steps


@dataclass(frozen=True, slots=True)
class TrainOutcome:
    """The registered versions (the model first, then its challenger) and their report."""

    models: list[RegisteredModel]
    report: dict[str, Any]
    dataset: str


def train_model(
    cmd: TrainModel,
    *,
    uow: UnitOfWorkFactory,
    registry: ModelRegistry,
    progress: Progress | None = None,
) -> TrainOutcome:
    """Read the data, train, evaluate, write the artefacts and register them (one commit)."""
    note = progress or (lambda _: None)
    cmd.check()
    prepared = _prepare(cmd.data, uow)
    note("data ready")
    kinds = [cmd.kind] + ([cmd.challenger] if cmd.challenger else [])
    runs: list[tuple[Trained, TrainingSettings]] = []
    for kind in kinds:
        settings = TrainingSettings(
            kind, cv=cmd.cv, calibration=cmd.calibration, seed=cmd.seed,
            params=dict(cmd.params.get(kind, {})),
        )  # fmt: skip
        try:
            trained = train(
                prepared.train.frame, prepared.train.target, prepared.inputs, settings,
                version="unregistered", target_name=prepared.target_name,
                progress=_labelled(note, kind),
            )  # fmt: skip
        except (ValueError, InputsInvalid) as exc:
            raise ModelTrainingFailed(f"{kind} training failed: {exc}") from exc
        runs.append((trained, settings))
    with uow() as unit:  # read-only: names for the new versions
        now = unit.clock.now()
        versions = _versions(unit, [t.model.kind for t, _ in runs], cmd.version)
    models = [t.model.with_version(v) for (t, _), v in zip(runs, versions, strict=True)]
    evaluated_on, data, evaluations = _evaluate(prepared, runs, models)
    entries = [
        ReportEntry(
            model=m, evaluation=e, role="model" if n == 0 else "challenger",
            cross_validation=t.cross_validation,
            training=evaluate(m, prepared.train.frame, prepared.train.target),
        )
        for n, (m, e, (t, _)) in enumerate(zip(models, evaluations, runs, strict=True))
    ]  # fmt: skip
    dataset = data if data.startswith(evaluated_on) else f"{evaluated_on}: {data}"
    report = build_report(
        title=f"Model report: {' vs '.join(versions)}",
        generated_at=now,
        target=prepared.target_name,
        dataset=dataset,
        entries=entries,
        notes=[f"Source: {prepared.source}. Training: {prepared.train.name}."],
    )
    html = render_html(report)
    note("report written")
    written: list[str] = []
    try:
        with uow() as unit:
            for entry, (trained, settings) in zip(entries, runs, strict=True):
                others = {o.model.version: o.evaluation.auc for o in entries if o is not entry}
                card = build_card(
                    version=entry.model.version, trained=trained, prepared=prepared,
                    settings=settings, created_at=now, created_by=cmd.trained_by,
                    evaluation=entry.evaluation, evaluated_on=evaluated_on,
                    training=entry.training or entry.evaluation, compared_with=others,
                )  # fmt: skip
                files = {
                    **entry.model.files(),
                    PROFILE_FILE: canonical_json(trained.profile.as_dict()),
                    REPORT_JSON: canonical_json(report),
                    REPORT_HTML: html,
                }
                sha = registry.write(entry.model.version, files, card)
                written.append(entry.model.version)
                repository.add(unit.session, _row(card, sha, prepared))
                unit.emit(
                    Message(
                        ModelRegistered(
                            version=entry.model.version, kind=entry.model.kind,
                            card_sha256=sha, created_by=cmd.trained_by,
                            metrics=summary_metrics(card),
                        )
                    )
                )  # fmt: skip
            rows = [registered(repository.get(unit.session, v)) for v in versions]
            unit.commit()
    except BaseException:
        _remove_unregistered(written, uow, registry)
        raise
    return TrainOutcome(models=rows, report=report, dataset=dataset)


def _remove_unregistered(
    versions: list[str], uow: UnitOfWorkFactory, registry: ModelRegistry
) -> None:
    """After a failure, delete the folders of versions the database did not register (a
    failure after the commit leaves registered versions and their files alone)."""
    if not versions:
        return
    with uow() as unit:
        unregistered = [v for v in versions if repository.get(unit.session, v) is None]
    for version in unregistered:
        registry.remove(version)


def _labelled(note: Progress, kind: str) -> Progress:
    return lambda step: note(f"{kind}: {step}")


def _prepare(data: EventHistory | TabularFile, uow: UnitOfWorkFactory) -> PreparedData:
    if isinstance(data, TabularFile):
        return prepare_table(data, read_table(data.path))
    events, name = _events(data, uow)
    return prepare_events(events, data, name)


def _events(data: EventHistory, uow: UnitOfWorkFactory) -> tuple[pl.DataFrame, str]:
    """Event history from files, or the whole event store (read-only, nothing committed)."""
    if data.files:
        return read_event_files(data.files), ", ".join(str(p) for p in data.files)
    with uow() as unit:
        engine = unit.session.get_bind()
        events = ingestion.scan_history(engine, since=_EPOCH, until=_FAR)  # type: ignore[arg-type]
    return events, "the event store"


def _versions(unit: UnitOfWork, kinds: list[str], first: str | None) -> list[str]:
    """Names for new versions: ``first`` for the model if given, else ``<kind>-v<n>``."""
    names: list[str] = []
    for n, kind in enumerate(kinds):
        if n == 0 and first is not None:
            names.append(first)
            continue
        number = repository.count_of_kind(unit.session, kind) + 1
        while (name := f"{kind}-v{number}") in names or repository.get(unit.session, name):
            number += 1
        names.append(name)
    if len(set(names)) != len(names):
        raise ModelTrainingFailed(f"the version name {first!r} is taken by the challenger")
    for name in names:
        if repository.get(unit.session, name) is not None:
            raise ModelVersionExists(
                f"model version {name!r} is already registered", hint="choose another --version"
            )
    return names


def _evaluate(
    prepared: PreparedData,
    runs: list[tuple[Trained, TrainingSettings]],
    models: list[TrainedModel],
) -> tuple[str, str, list[Evaluation]]:
    """Evaluate on out-of-time validation rows, else on out-of-fold PDs, else in-sample."""
    if prepared.validation is not None:
        v = prepared.validation
        evaluations = [
            evaluate(m, v.frame, v.target, profile=t.profile)
            for m, (t, _) in zip(models, runs, strict=True)
        ]
        return "out-of-time validation", v.name, evaluations
    train_rows = prepared.train
    if all(t.holdout_pd is not None for t, _ in runs):
        folds = runs[0][1].cv
        evaluations = [
            evaluate_scores(train_rows.target, t.holdout_pd, profile=t.profile) for t, _ in runs
        ]
        return f"{folds}-fold cross-validation (out-of-fold PDs)", train_rows.name, evaluations
    evaluations = [evaluate(m, train_rows.frame, train_rows.target) for m in models]
    return "training rows (in-sample: no cross-validation)", train_rows.name, evaluations


def _row(card: Mapping[str, Any], sha: str, prepared: PreparedData) -> ModelVersionRow:
    window = prepared.window
    return ModelVersionRow(
        version=card["version"],
        kind=card["kind"],
        state=repository.CANDIDATE,
        created_at=datetime.fromisoformat(card["created_at"]),
        created_by=card["created_by"],
        source=prepared.source[:300],
        target=prepared.target_name[:300],
        training_from=window[0] if window else None,
        training_until=window[1] if window else None,
        card_sha256=sha,
        metrics=summary_metrics(card),
    )


@dataclass(frozen=True, slots=True)
class EvaluateModel:
    """Evaluate registered versions on new labelled data and compare them in one report.

    Event data: one as-of date (``data.validation_as_of``), labelled from the 90 days after it.
    """

    versions: tuple[str, ...]
    data: EventHistory | TabularFile
    out_dir: Path


@dataclass(frozen=True, slots=True)
class EvaluationOutcome:
    report: dict[str, Any]
    json_path: Path
    html_path: Path


def evaluate_models(
    cmd: EvaluateModel, *, uow: UnitOfWorkFactory, registry: ModelRegistry
) -> EvaluationOutcome:
    """Score the data with each version, measure it (PSI against each one's training) and
    write the report as JSON and HTML into ``out_dir``. Nothing is committed."""
    if not cmd.versions:
        raise ModelTrainingFailed("name at least one model version to evaluate")
    with uow() as unit:
        now = unit.clock.now()
        loaded = [load_version(v, session=unit.session, registry=registry) for v in cmd.versions]
    data = _evaluation_data(cmd.data, uow)
    entries = []
    for model, stored in loaded:
        profile = Profile.from_dict(_json(stored.files[PROFILE_FILE]))
        try:
            evaluation = evaluate(model, data.frame, data.target, profile=profile)
        except InputsInvalid as exc:
            raise ModelTrainingFailed(
                str(exc), hint="evaluate on data with the model's inputs"
            ) from exc
        entries.append(ReportEntry(model=model, evaluation=evaluation))
    report = build_report(
        title=f"Model evaluation: {' vs '.join(cmd.versions)}",
        generated_at=now,
        target=str(loaded[0][1].card.get("target", "")),
        dataset=data.name,
        entries=entries,
    )
    cmd.out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = cmd.out_dir / REPORT_JSON, cmd.out_dir / REPORT_HTML
    json_path.write_text(canonical_json(report), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return EvaluationOutcome(report=report, json_path=json_path, html_path=html_path)


def _evaluation_data(data: EventHistory | TabularFile, uow: UnitOfWorkFactory) -> Dataset:
    if isinstance(data, TabularFile):
        return prepare_table(data, read_table(data.path)).train
    if len(data.validation_as_of) != 1:
        raise ModelTrainingFailed("evaluating on events needs exactly one as-of date")
    events, _ = _events(data, uow)
    return event_dataset(events, data.validation_as_of[0], data)


def _json(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value
