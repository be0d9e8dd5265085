"""docs/python-api.md runs as written (pandas and Polars), against a real data directory with a
published policy and a promoted model; the store-reading refusals say what to do."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest

import repayguard
from repayguard import risk
from repayguard.bootstrap import bootstrap
from repayguard.errors import DatabaseNotReady, InvalidInput
from repayguard.platform.bus import RecordingBus
from repayguard.policies.errors import PolicyVersionNotFound
from repayguard.risk.errors import ModelVersionNotFound
from repayguard.simulation import PortfolioSpec, generate_portfolio

from support.common import make_settings

DOC = Path(__file__).parents[2] / "docs" / "python-api.md"
DATA = "repayguard-data"
"""The data directory the document names, relative to where it runs."""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding ``repayguard-data``: a store (the shipped policy published as version
    1) with a LightGBM model trained on a synthetic portfolio's events and promoted."""
    root = tmp_path_factory.mktemp("notebook")
    data = root / DATA
    spec = PortfolioSpec(borrowers=300, months=12, seed=3, risk_multiplier=3.0)
    generate_portfolio(spec, root / "events", workers=1)
    settings = make_settings(f"sqlite:///{data / 'repayguard.db'}", data)
    with bootstrap(settings, bus=RecordingBus(), migrate=True) as built:
        registry = risk.default_registry(data)
        trained = risk.train_model(
            risk.TrainModel(risk.EventHistory(files=(root / "events",)), kind="lightgbm", cv=0,
                            params={"lightgbm": {"trees": 20}}),
            uow=built.uow, registry=registry,
        )  # fmt: skip
        version = trained.models[0].version
        risk.promote_model(risk.PromoteModel(version, "bob", "for notebooks"),
                           uow=built.uow(), registry=registry)  # fmt: skip
    return root


@pytest.fixture
def inside(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(workspace)
    monkeypatch.delenv("REPAYGUARD_DATABASE__URL", raising=False)
    monkeypatch.delenv("REPAYGUARD_DATA_DIR", raising=False)
    return workspace


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_every_python_block_of_the_document_runs_with_pandas_and_polars(inside: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    blocks = python_blocks(text)
    assert len(blocks) >= 7
    names: dict[str, Any] = {"__name__": "python_api_doc"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), names)  # the document's own code
    for name in ("decisions", "explained", "entitlements", "features", "scores", "same"):
        assert isinstance(names[name], pd.DataFrame), name
    for name in ("pl_decisions", "pl_entitlements", "pl_scores"):
        assert isinstance(names[name], pl.DataFrame), name
    decisions, pl_decisions = names["decisions"], names["pl_decisions"]
    assert decisions["rule_id"].tolist() == pl_decisions["rule_id"].to_list()
    assert decisions["rule_id"].tolist() == ["low-risk", "failed-debits"]
    assert names["same"]["rule_id"].tolist() == decisions["rule_id"].tolist()
    assert names["entitlements"]["input_hash"].tolist() == (
        names["pl_entitlements"]["input_hash"].to_list()
    )
    scores = names["scores"]
    assert scores.columns.tolist() == ["borrower_id", "pd"]
    assert scores["pd"].between(0, 1).all()
    assert scores["pd"].tolist() == pytest.approx(names["pl_scores"]["pd"].to_list())
    assert names["model"].version == "lightgbm-v1"
    assert (names["published"].version, names["first"].version) == ("1", "1")
    # What the document says the error example prints is what it prints.
    claimed = re.search(r"prints `(.+?)`", text)
    assert claimed is not None
    assert printed.getvalue().strip() == claimed.group(1)


def test_a_registered_version_loads_by_name_and_refuses_a_frame_without_its_inputs(
    inside: Path,
) -> None:
    model = repayguard.load_model(data_dir=DATA, version="lightgbm-v1")
    assert model.kind == "lightgbm"
    with pytest.raises(InvalidInput) as refused:
        model.predict_proba(pd.DataFrame({"borrower_id": ["B1"], "unrelated": [1.0]}))
    assert refused.value.hint is not None
    assert refused.value.hint.startswith("score a frame holding every input of the model")
    with pytest.raises(ModelVersionNotFound, match="no model version 'nope'"):
        repayguard.load_model(data_dir=DATA, version="nope")


def test_reading_a_store_that_is_not_there_or_lacks_a_version_says_what_to_do(
    inside: Path, tmp_path: Path
) -> None:
    with pytest.raises(DatabaseNotReady) as missing:
        repayguard.load_model(data_dir=tmp_path / "empty")
    assert "holds no repayguard store" in missing.value.message
    assert not (tmp_path / "empty").exists()  # reading never creates a store
    with pytest.raises(PolicyVersionNotFound, match="no published version 7 of policy"):
        repayguard.load_policy("cn-consumer-credit-line", data_dir=DATA, version=7)


def test_a_store_without_a_production_model_says_how_to_get_one(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    settings = make_settings(f"sqlite:///{data / 'repayguard.db'}", data)
    with bootstrap(settings, bus=RecordingBus(), migrate=True):
        pass
    with pytest.raises(ModelVersionNotFound) as refused:
        repayguard.load_model(data_dir=data)
    assert refused.value.hint is not None
    assert "repayguard model promote" in refused.value.hint
