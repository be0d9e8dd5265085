"""The Spark driver's engine documents and start-up refusals (no Spark session needed)."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from repayguard.core.scoring import dump_expert_model
from repayguard.decisions import load_engine, open_spark
from repayguard.decisions.errors import SparkUnavailable
from repayguard.decisions.spark_tasks import Document, EngineDocumentMismatch, EngineDocuments


def test_an_executor_rebuilds_the_engine_the_driver_decides_with() -> None:
    engine = load_engine(policy_path=None, model_path=None, bands_path=None)
    built = EngineDocuments.of(engine).build()
    assert built.policy.content_hash == engine.compiled.content_hash
    assert built.policy.version == engine.compiled.version
    assert built.bands == engine.bands
    assert dump_expert_model(built.model) == dump_expert_model(engine.model)  # type: ignore[arg-type]
    assert built.challenger is None


def test_a_document_altered_on_the_way_is_refused() -> None:
    documents = EngineDocuments.of(load_engine(policy_path=None, model_path=None, bands_path=None))
    sent = documents.bands
    altered = replace(documents, bands=Document(sent.text.replace("0.", "0.9", 1), sent.sha256))
    with pytest.raises(EngineDocumentMismatch):
        altered.build()


def test_without_pyspark_the_driver_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # import fails as if not installed
    with pytest.raises(SparkUnavailable) as refused:
        open_spark("local[1]")
    assert "repayguard[spark]" in (refused.value.hint or "")
    assert refused.value.code == "spark_unavailable"
