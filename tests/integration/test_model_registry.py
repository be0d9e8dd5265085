"""The model registry on SQLite and PostgreSQL: register, promote, verify, serve read-only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from repayguard import resources, risk
from repayguard.bootstrap import Container, bootstrap
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.errors import RepayguardError
from repayguard.ingestion import expand_paths, ingest_files
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.risk.endpoints import router
from repayguard.risk.errors import (
    ModelArtefactTampered,
    ModelPromotionRefused,
    ModelTrainingFailed,
    ModelVersionNotFound,
)
from repayguard.simulation import PortfolioSpec, generate_portfolio

from support.common import make_settings


def _table(path: Path, rows: int = 1500, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    debt = rng.gamma(2.0, 1.0, rows)
    region = rng.choice(["A", "B", "C"], rows, p=[0.5, 0.3, 0.2])
    logit = -2.0 + 0.9 * debt + 1.0 * (region == "C")
    bad = rng.random(rows) < 1 / (1 + np.exp(-logit))
    frame = pl.DataFrame({"id": np.arange(rows), "debt": debt, "region": region,
                          "outcome": np.where(bad, "bad", "good")})  # fmt: skip
    frame.write_csv(path)
    return path


@pytest.fixture
def registry(container: Container) -> risk.ModelRegistry:
    return risk.default_registry(container.settings.data_dir)


@pytest.fixture
def trained(container: Container, registry: risk.ModelRegistry, tmp_path: Path) -> list[str]:
    data = risk.TabularFile(_table(tmp_path / "loans.csv"), "outcome", "bad", ("id",))
    outcome = risk.train_model(
        risk.TrainModel(data, challenger="lightgbm", cv=0, trained_by="ana",
                        params={"lightgbm": {"trees": 20}}),
        uow=container.uow, registry=registry,
    )  # fmt: skip
    return [m.version for m in outcome.models]


def test_training_registers_both_models_as_candidates_with_pinned_cards(
    container: Container, registry: risk.ModelRegistry, tmp_path: Path
) -> None:
    data = risk.TabularFile(_table(tmp_path / "loans.csv"), "outcome", "bad", ("id",))
    outcome = risk.train_model(
        risk.TrainModel(data, challenger="lightgbm", cv=2, trained_by="ana",
                        params={"lightgbm": {"trees": 20}}),
        uow=container.uow, registry=registry,
    )  # fmt: skip
    trained = [m.version for m in outcome.models]
    assert trained == ["scorecard-v1", "lightgbm-v1"]
    listed = risk.list_models(uow=container.uow())
    assert {m.version: m.state for m in listed} == dict.fromkeys(trained, "candidate")
    first = next(m for m in listed if m.version == "scorecard-v1")
    assert first.created_by == "ana"
    assert first.metrics["evaluated_on"] == "2-fold cross-validation (out-of-fold PDs)"
    assert first.metrics["auc"] > 0.7
    assert first.metrics["cv_auc"] > 0.7
    details = risk.show_model("scorecard-v1", uow=container.uow(), registry=registry)
    assert set(details.card["files"]) == {"scorecard.json", "profile.json", "report.json",
                                          "report.html"}  # fmt: skip
    challenger = next(m for m in listed if m.version == "lightgbm-v1")
    assert details.card["compared_with"] == {"lightgbm-v1": challenger.metrics["auc"]}
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    registered = [m for m in bus.published if m.name == risk.MODEL_REGISTERED]
    assert [m.payload["version"] for m in registered] == trained
    assert registered[0].payload["card_sha256"] == first.card_sha256


def test_a_second_training_gets_the_next_version_and_names_must_be_free(
    container: Container, registry: risk.ModelRegistry, trained: list[str], tmp_path: Path
) -> None:
    data = risk.TabularFile(_table(tmp_path / "more.csv", seed=1), "outcome", "bad", ("id",))
    again = risk.train_model(risk.TrainModel(data, cv=0), uow=container.uow, registry=registry)
    assert [m.version for m in again.models] == ["scorecard-v2"]
    with pytest.raises(
        risk.ModelVersionExists if hasattr(risk, "ModelVersionExists") else Exception
    ):
        risk.train_model(
            risk.TrainModel(data, cv=0, version="scorecard-v1"), uow=container.uow,
            registry=registry,
        )  # fmt: skip


def test_a_model_trained_on_a_tabular_file_is_refused_production(
    container: Container, registry: risk.ModelRegistry, trained: list[str]
) -> None:
    with pytest.raises(ModelPromotionRefused, match="debt, region are not repayguard") as caught:
        risk.promote_model(risk.PromoteModel("scorecard-v1", "bob"), uow=container.uow(),
                           registry=registry)  # fmt: skip
    assert caught.value.hint is not None
    assert "event store" in caught.value.hint
    assert risk.load_production_model(uow=container.uow(), registry=registry) is None
    states = {m.version: m.state for m in risk.list_models(uow=container.uow())}
    assert states == {"scorecard-v1": "candidate", "lightgbm-v1": "candidate"}


def test_one_changed_byte_in_any_stored_file_makes_loading_fail_clearly(
    container: Container, registry: risk.ModelRegistry, trained: list[str], tmp_path: Path
) -> None:
    scores = _table(tmp_path / "s.csv")
    files = [("scorecard-v1", "scorecard.json"), ("scorecard-v1", "card.json"),
             ("scorecard-v1", "profile.json"), ("scorecard-v1", "report.html"),
             ("lightgbm-v1", "lightgbm.txt"), ("lightgbm-v1", "lightgbm.json")]  # fmt: skip
    for version, file in files:
        path = registry.folder(version) / file
        original = path.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0x01
        path.write_bytes(bytes(changed))
        with pytest.raises(ModelArtefactTampered, match=f"{version} refused: {file}") as caught:
            risk.show_model(version, uow=container.uow(), registry=registry)
        assert caught.value.hint is not None
        assert "backup" in caught.value.hint
        with pytest.raises(ModelArtefactTampered):
            risk.promote_model(risk.PromoteModel(version, "bob"), uow=container.uow(),
                               registry=registry)  # fmt: skip
        with pytest.raises(ModelArtefactTampered):
            risk.score_file(risk.ScoreFile(version, scores, tmp_path / "out.csv"),
                            uow=container.uow(), registry=registry)  # fmt: skip
        path.write_bytes(original)
        risk.show_model(version, uow=container.uow(), registry=registry)  # whole again
    (registry.folder("lightgbm-v1") / "lightgbm.txt").unlink()
    with pytest.raises(ModelArtefactTampered, match="missing"):
        risk.show_model("lightgbm-v1", uow=container.uow(), registry=registry)


def test_scoring_writes_one_pd_per_row_in_input_order_with_reasons(
    container: Container, registry: risk.ModelRegistry, trained: list[str], tmp_path: Path
) -> None:
    data = _table(tmp_path / "new.csv", rows=300, seed=7)
    out = tmp_path / "scores.parquet"
    result = risk.score_file(
        risk.ScoreFile("scorecard-v1", data, out, id_column="id", locale="zh-CN"),
        uow=container.uow(), registry=registry,
    )  # fmt: skip
    scores = pl.read_parquet(out)
    assert result.rows == scores.height == 300
    assert scores["id"].to_list() == list(range(300))
    assert scores.columns == ["id", "pd", "reasons", "reason_texts"]
    risky = scores.filter(pl.col("pd") > 0.5)
    assert risky.height > 0
    assert all(r[0] in ("DEBT", "REGION") for r in risky["reasons"].to_list())
    assert "提高了风险评估" in risky["reason_texts"][0][0]


def test_training_without_events_says_what_to_do(
    container: Container, registry: risk.ModelRegistry
) -> None:
    with pytest.raises(ModelTrainingFailed) as caught:
        risk.train_model(risk.TrainModel(risk.EventHistory()), uow=container.uow,
                         registry=registry)  # fmt: skip
    assert caught.value.hint is not None
    assert "ingest" in caught.value.hint


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Container]:
    """A container whose event store holds a small synthetic portfolio (no online deciding)."""
    settings = make_settings(database_url, tmp_path, online=False)
    with bootstrap(settings, clock=FixedClock(), bus=RecordingBus(), migrate=True) as built:
        spec = PortfolioSpec(borrowers=400, months=12, seed=3, risk_multiplier=3.0)
        generate_portfolio(spec, tmp_path / "events", workers=1)
        ingest_files(expand_paths([tmp_path / "events"]), uow=built.uow, setup=built.ingest)
        yield built


def test_training_from_the_event_store_validates_out_of_time_against_lightgbm(
    store: Container, tmp_path: Path
) -> None:
    registry = risk.default_registry(store.settings.data_dir)
    outcome = risk.train_model(
        risk.TrainModel(risk.EventHistory(), challenger="lightgbm", cv=0,
                        params={"lightgbm": {"trees": 30}}),
        uow=store.uow, registry=registry,
    )  # fmt: skip
    report = outcome.report
    assert report["dataset"]["name"] == "out-of-time validation as of 2025-10-02"
    assert [m["version"] for m in report["models"]] == ["scorecard-v1", "lightgbm-v1"]
    assert report["comparison"][0]["against"] == "scorecard-v1"
    for entry in report["models"]:
        assert entry["evaluation"]["auc"] > 0.75
        assert entry["evaluation"]["psi"] is not None
    card = risk.show_model("scorecard-v1", uow=store.uow(), registry=registry).card
    assert card["validation"]["as_of"] == ["2025-10-02T00:00:00+00:00"]
    assert len(card["training"]["as_of"]) == 4
    assert card["target"].startswith("30+ days past due")
    assert "utilization" not in {i["name"] for i in card["inputs"]}
    assert "Not offered as inputs: utilization." in card["limitations"]
    # Decisions use the production version once one is promoted; the engine follows promotions.
    assert store.decision_engine.model.kind == "expert-points"
    risk.promote_model(risk.PromoteModel("scorecard-v1", "bob", "first"), uow=store.uow(),
                       registry=registry)  # fmt: skip
    settings = store.settings
    with bootstrap(settings, clock=FixedClock(), bus=RecordingBus()) as running:
        assert running.decision_engine.model.version == "scorecard-v1"
        risk.promote_model(risk.PromoteModel("lightgbm-v1", "eve"), uow=running.uow(),
                           registry=registry)  # fmt: skip
        assert running.decision_engine.model.version == "lightgbm-v1"
        run = decide_borrowers(
            DecideBorrowers(as_of=datetime(2026, 1, 1, tzinfo=UTC), trigger=triggers.CLI),
            uow=running.uow(),
            engine=running.decision_engine, history_days=settings.decisions.history_days,
        )  # fmt: skip
        assert run.borrowers == 400
        assert 0.001 < run.summary["mean_pd"].mean() < 0.5  # type: ignore[operator]
        bus = running.bus
        assert isinstance(bus, RecordingBus)
        done = [m for m in bus.published if m.name == "repayguard.decisions.run_completed"]
        assert done[-1].payload["borrowers"] == 400
        promoted = [m.payload for m in bus.published if m.name == risk.MODEL_PROMOTED]
        assert promoted[-1]["previous"] == "scorecard-v1"
    history = risk.show_model("scorecard-v1", uow=store.uow(), registry=registry).history
    assert [(h.from_state, h.to_state, h.actor) for h in history] == [
        ("candidate", "production", "bob"),
        ("production", "retired", "eve"),
    ]
    with pytest.raises(ModelPromotionRefused, match="already in production"):
        risk.promote_model(risk.PromoteModel("lightgbm-v1", "eve"), uow=store.uow(),
                           registry=registry)  # fmt: skip
    with pytest.raises(ModelVersionNotFound):
        risk.promote_model(risk.PromoteModel("nope", "eve"), uow=store.uow(),
                           registry=registry)  # fmt: skip
    # An explicit model file in the settings wins over the registry.
    pinned = settings.model_copy(
        update={
            "decisions": settings.decisions.model_copy(update={"model_path": _expert(tmp_path)})
        }
    )
    with bootstrap(pinned, clock=FixedClock(), bus=RecordingBus()) as running:
        assert running.decision_engine.model.kind == "expert-points"
    # A damaged production artefact stops deciding, loudly, but not model management.
    weights = registry.folder("lightgbm-v1") / "lightgbm.txt"
    weights.write_text(weights.read_text() + " ")
    with pytest.raises(ModelArtefactTampered, match="lightgbm-v1 refused"):
        bootstrap(settings, clock=FixedClock(), bus=RecordingBus())
    with bootstrap(settings, clock=FixedClock(), production_model=False) as management:
        assert [m.state for m in risk.list_models(uow=management.uow())] == [
            "retired",
            "production",
        ]


def _expert(folder: Path) -> Path:
    path = folder / "expert.json"
    path.write_text(resources.read_text("models/expert-v1.json"), encoding="utf-8")
    return path


def _app(container: Container) -> FastAPI:
    """The model router alone with a problem mapping (access control has its own tests)."""
    app = FastAPI()
    app.state.container = container
    app.state.uow = container.uow
    app.include_router(router)

    @app.exception_handler(RepayguardError)
    async def problem(_: Request, exc: RepayguardError) -> JSONResponse:
        body = {"code": exc.code, "detail": exc.message}
        return JSONResponse(body, status_code=exc.http_status)

    return app


def test_the_api_serves_model_cards_and_reports_read_only(
    container: Container, registry: risk.ModelRegistry, trained: list[str]
) -> None:
    with TestClient(_app(container)) as http:
        page = http.get("/v1/models").json()
        assert {m["version"] for m in page["items"]} == set(trained)
        card = http.get("/v1/models/scorecard-v1").json()
        assert card["model"]["state"] == "candidate"
        assert "scorecard.json" in card["card"]["files"]
        report = http.get("/v1/models/scorecard-v1/report")
        assert report.headers["content-type"].startswith("application/json")
        assert report.json()["format"] == "repayguard.model-report/1"
        html = http.get("/v1/models/scorecard-v1/report.html")
        assert html.headers["content-type"].startswith("text/html")
        assert "<html" in html.text
        assert "Plotly" in html.text
        missing = http.get("/v1/models/nope")
        assert (missing.status_code, missing.json()["code"]) == (404, "model_version_not_found")
        assert http.get("/v1/models", params={"state": "bogus"}).status_code == 422
        assert http.post("/v1/models/scorecard-v1").status_code == 405
        (registry.folder("scorecard-v1") / "report.json").write_text("{}")
        tampered = http.get("/v1/models/scorecard-v1/report")
        assert (tampered.status_code, tampered.json()["code"]) == (409, "model_artefact_tampered")


class _DiskFullOnSecondVersion(risk.ModelRegistry):
    def write(self, version: str, files: Mapping[str, str], card: Mapping[str, Any]) -> str:
        if any(self.root.glob("*-v1")):
            raise OSError("no space left on device")
        return super().write(version, files, card)


def test_a_failed_registration_leaves_neither_rows_nor_files(
    container: Container, tmp_path: Path
) -> None:
    registry = _DiskFullOnSecondVersion(container.settings.data_dir / "models")
    data = risk.TabularFile(_table(tmp_path / "loans.csv"), "outcome", "bad", ("id",))
    with pytest.raises(OSError, match="no space"):
        risk.train_model(
            risk.TrainModel(data, challenger="lightgbm", cv=0,
                            params={"lightgbm": {"trees": 10}}),
            uow=container.uow, registry=registry,
        )  # fmt: skip
    assert risk.list_models(uow=container.uow()) == []
    assert list(registry.root.iterdir()) == []
