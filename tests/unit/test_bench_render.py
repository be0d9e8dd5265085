"""The performance page renderer: figures read by key, refusals on changed output, the fit."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _render() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_render", BENCH / "render.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


render = _render()


def _write(folder: Path, name: str, data: dict[str, object]) -> None:
    (folder / f"{name}.json").write_text(json.dumps(data))


def _decide(borrowers: int, seconds: float) -> dict[str, object]:
    return {
        "borrowers": borrowers,
        "median_seconds": seconds,
        "reference_median_seconds": seconds / 2,
    }


def test_missing_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    _write(tmp_path, "ingest", {"events_per_s": 1000, "reference_events_per_second": 2000})

    with pytest.raises(render.MissingKey, match=r"ingest\.json has no key 'events_per_second'"):
        render.render(tmp_path, tmp_path / "performance.md", "test")


def test_table_reads_ratio_and_target_from_the_benchmark(tmp_path: Path) -> None:
    _write(
        tmp_path, "ingest", {"events_per_second": 160_000, "reference_events_per_second": 190_000}
    )
    _write(
        tmp_path,
        "jdm",
        {"repayguard_batch": {"rows_per_s": 3e6}, "zen_engine_batch": {"rows_per_s": 40_000}},
    )

    page = render.render(tmp_path, tmp_path / "performance.md", "test")

    ingest = next(line for line in page.splitlines() if line.startswith("| event ingest"))
    assert "| 160,000 events/s | 190,000 events/s | 0.8× |" in ingest
    assert ingest.endswith("| yes |")
    jdm = next(line for line in page.splitlines() if line.startswith("| imported JDM"))
    assert "| 75.0× |" in jdm
    assert jdm.endswith("| **no** |")  # 75× misses the 100× target
    assert (
        "| full re-decision, whole book (largest run) | the pure core, same events | not run |"
        in page
    )


def test_decide_points_become_a_linear_fit_and_a_chart(tmp_path: Path) -> None:
    for borrowers in (10_000, 30_000, 100_000):
        _write(tmp_path, f"decide-{borrowers}", _decide(borrowers, 0.5 + borrowers * 1e-4))

    page = render.render(tmp_path, tmp_path / "performance.md", "test")

    assert "0.50 s + 10.00 s per 100k borrowers, R² = 1.0000" in page
    svg = (tmp_path / "performance-decide.svg").read_text()
    assert svg.count("<circle") == 3
    # The largest run stands for the whole-book row: 10.5 s is 2× its core.
    assert "| 10.5 s | 5.25 s | 2.00× |" in page


def test_fit_of_a_curve_reports_its_poor_r_squared() -> None:
    intercept, slope, r2 = render.linear_fit([(1, 1), (2, 4), (3, 9), (4, 16), (5, 1)])

    assert r2 < 0.5
    assert slope == pytest.approx(1.2)
    assert intercept == pytest.approx(2.6)


def test_a_benchmark_keeps_stdout_for_its_json() -> None:
    """The benchmarks' shared module sends log lines to stderr: an in-process server's access
    lines once interleaved with ``bench/ingest.py``'s JSON, and ``make bench`` could not read it."""
    logs = (
        "import _common, structlog; "
        "structlog.get_logger('bench').warning('bench.note', detail='to stderr')"
    )
    done = subprocess.run(
        [sys.executable, "-c", logs], cwd=BENCH, capture_output=True, text=True, check=True
    )
    assert done.stdout == ""
    assert "bench.note" in done.stderr
