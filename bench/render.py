"""Render docs/performance.md from the benchmarks' JSON in bench/results (``make bench``).

Each benchmark prints one JSON object; ``ROWS`` says, per benchmark, which keys hold our
figure and its reference. Key names change when a benchmark is rewritten: adjust the one row
that reads it. A key that is missing stops the render naming the file and the key -- a table
that silently printed a wrong or empty cell would be worse than none. The decide points
(``decide-<borrowers>.json``) also become a chart of cost against portfolio size, an SVG
drawn here (markdown shows SVG; it needs no plotting library), with a least-squares line and
its R² in the caption.

    .venv/bin/python bench/render.py [--results bench/results] [--out docs/performance.md]
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class MissingKey(SystemExit):
    """A benchmark's JSON lacks a key the renderer reads (its output format changed)."""


def pick(data: dict[str, Any], path: str, source: str) -> Any:
    """``data[a][b]...`` for ``path`` ``"a.b"`` (a number picks a list element); stops the
    render naming ``source`` and the key when it is absent."""
    value: Any = data
    for part in path.split("."):
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise MissingKey(
                f"{source} has no key {path!r} (stopped at {part!r}): the benchmark's output "
                "changed; adjust its row in ROWS in bench/render.py"
            ) from None
    return value


@dataclass(frozen=True)
class Row:
    """One line of the table: what is measured, where each figure is, what the target is.

    ``ours`` / ``reference`` are key paths into the benchmark's JSON. ``lower_is_better`` for
    times: the ratio is then ours over the reference (a cost multiple) and bounds are upper
    bounds. The target is met when the ratio is within ``ratio``, our figure within ``bound``
    and every ``(key, op, value)`` of ``also`` holds."""

    bench: str
    what: str
    reference_label: str
    ours: str
    unit: str
    target: str
    reference: str | None = None
    lower_is_better: bool = False
    ratio: float | None = None
    bound: float | None = None
    also: tuple[tuple[str, str, float], ...] = ()

    def met(self, ours: float, reference: float | None, get: Callable[[str], Any]) -> bool:
        """Whether the figures meet this row's target (DESIGN §7)."""
        within = operator.le if self.lower_is_better else operator.ge
        checks = [self.bound is None or within(ours, self.bound)]
        if self.ratio is not None:
            checks.append(reference is not None and within(ours / reference, self.ratio))
        checks += [OPS[op](float(get(key)), value) for key, op, value in self.also]
        return all(checks)


OPS = {"<=": operator.le, ">=": operator.ge}
SINGLE, BATCH = "zen-engine static loader, `evaluate`", "zen-engine static `evaluate_batch`"
ROWS: tuple[Row, ...] = (
    Row("policy", "one policy decision in-process", SINGLE, "single.repayguard.ops_per_s",
        "decisions/s", "≥ 10× zen, ≤ 1 µs p50", "single.zen_engine.ops_per_s", ratio=10,
        also=(("single.repayguard.p50_us", "<=", 1.0),)),
    Row("policy", "policy over a portfolio (every output column)", BATCH,
        "batch.repayguard.0.rows_per_s", "rows/s", "≥ 100× zen; ≥ 20M rows/s",
        "batch.zen_engine.rows_per_s", ratio=100, bound=20e6),
    Row("jdm", "imported JDM table, batch", BATCH, "repayguard_batch.rows_per_s", "rows/s",
        "≥ 100× zen", "zen_engine_batch.rows_per_s", ratio=100),
    Row("scoring", "scorecard scoring incl. binning", "sklearn `predict_proba`, pre-binned",
        "scorecard.rows_per_second", "rows/s", "≥ 5M rows/s",
        "scorecard.reference_rows_per_second", bound=5e6),
    Row("ingest", "event ingest, SQLite", "the store's ceiling, same table",
        "events_per_second", "events/s", "≥ 0.8× ceiling; ≥ 150k/s",
        "reference_events_per_second", ratio=0.8, bound=150e3),
    Row("decide-largest", "full re-decision, whole book (largest run)",
        "the pure core, same events", "median_seconds", "s", "≤ 1.5× core",
        "reference_median_seconds", lower_is_better=True, ratio=1.5),
    Row("online", "event → authorize answering with it, p99", "—",
        "event_to_authorize_denies_s.p99", "s", "≤ 0.25 s at 2,000 events/s",
        lower_is_better=True, bound=0.25,
        also=(("accepted_events_per_s", ">=", 1_980), ("probes_not_settled", "<=", 0))),
    Row("authorize", "authorize over HTTP, one worker", "raw ASGI, same uvicorn",
        "repayguard.requests_per_s", "req/s", "≥ 0.9× raw ASGI, p99 ≤ 5 ms",
        "reference_raw_asgi.requests_per_s", ratio=0.9,
        also=(("repayguard.p99_ms", "<=", 5.0),)),
    Row("propagation", "a published policy reaching every replica, p99", "—",
        "approval_to_every_replica_s.p99", "s", "≤ 1 s", lower_is_better=True, bound=1.0),
    Row("simulate", "simulate two arms × 12 months", "the generator alone", "seconds", "s",
        "≤ 60 s at 100k borrowers", "reference_generate_seconds", lower_is_better=True,
        also=(("seconds", "<=", 60.0), ("borrowers", ">=", 100_000))),
)  # fmt: skip
DECIDE_POINTS = {"borrowers": "borrowers", "seconds": "median_seconds"}


def _figure(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:,.2f}M"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    """The markdown table; a benchmark with no result file gets a line saying so."""
    lines = [
        "| what | reference (same run) | ours | reference | ratio | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        data = results.get(row.bench)
        if data is None:
            lines.append(f"| {row.what} | {row.reference_label} | not run | | | {row.target} | |")
            continue
        source = f"bench/results/{data['_file']}"

        def get(path: str, data: dict[str, Any] = data, source: str = source) -> Any:
            return pick(data, path, source)

        ours = float(get(row.ours))
        reference = None if row.reference is None else float(get(row.reference))
        ratio = ""
        if reference:
            ratio = (
                f"{ours / reference:,.2f}×" if row.lower_is_better else f"{ours / reference:,.1f}×"
            )
        met = "yes" if row.met(ours, reference, get) else "**no**"
        ref_cell = "" if reference is None else f"{_figure(reference)} {row.unit}"
        lines.append(
            f"| {row.what} | {row.reference_label} | {_figure(ours)} {row.unit} | {ref_cell} "
            f"| {ratio} | {row.target} | {met} |"
        )
    return lines


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Least squares ``y = a + b·x`` over ``points``: (a, b, R²). Needs two distinct x."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if n < 2 or sxx == 0:
        raise ValueError("a line needs at least two portfolio sizes")
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    intercept = mean_y - slope * mean_x
    total = sum((y - mean_y) ** 2 for _, y in points)
    residual = sum((y - intercept - slope * x) ** 2 for x, y in points)
    return intercept, slope, 1.0 - residual / total if total else 1.0


def chart(points: list[tuple[float, float]], fit: tuple[float, float, float]) -> str:
    """An SVG line chart: measured seconds per portfolio size, and the fitted line."""
    width, height, left, bottom, top, right = 640, 360, 70, 50, 20, 20
    max_x = max(x for x, _ in points) * 1.05
    max_y = max(max(y for _, y in points), fit[0] + fit[1] * max_x) * 1.1

    def sx(x: float) -> float:
        return left + x / max_x * (width - left - right)

    def sy(y: float) -> float:
        return height - bottom - y / max_y * (height - bottom - top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{left}" y1="{sy(0)}" x2="{width - right}" y2="{sy(0)}" stroke="black"/>',
        f'<line x1="{left}" y1="{sy(0)}" x2="{left}" y2="{top}" stroke="black"/>',
    ]
    for k in range(6):
        x, y = max_x * k / 5, max_y * k / 5
        below = sy(0) + 16
        parts.append(
            f'<text x="{sx(x):.1f}" y="{below:.1f}" text-anchor="middle">{x / 1e3:,.0f}k</text>'
        )
        parts.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:,.1f}</text>')
        grid = f"{sy(y):.1f}"
        parts.append(
            f'<line x1="{left}" y1="{grid}" x2="{width - right}" y2="{grid}" stroke="#eee"/>'
        )
    parts.append(
        f'<text x="{(left + width) / 2}" y="{height - 10}" text-anchor="middle">borrowers</text>'
    )
    parts.append(
        f'<text x="16" y="{(top + height - bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 16 {(top + height - bottom) / 2})">seconds (decide --all)</text>'
    )
    intercept, slope, _ = fit
    parts.append(
        f'<line x1="{sx(0):.1f}" y1="{sy(max(intercept, 0)):.1f}" x2="{sx(max_x):.1f}" '
        f'y2="{sy(intercept + slope * max_x):.1f}" stroke="#888" stroke-dasharray="5,4"/>'
    )
    line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in sorted(points))
    parts.append(f'<polyline points="{line}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for x, y in points:
        parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="#1f77b4"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def load(results_dir: Path) -> tuple[dict[str, dict[str, Any]], list[tuple[float, float]]]:
    """Every result file by benchmark name, and the decide points (borrowers, seconds); the
    largest decide run also stands as ``decide-largest`` for the table."""
    results: dict[str, dict[str, Any]] = {}
    points: list[tuple[float, float]] = []
    largest: tuple[float, dict[str, Any]] | None = None
    for path in sorted(results_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise SystemExit(
                f"{path} is not one JSON object ({exc}); re-run its benchmark"
            ) from None
        data["_file"] = path.name
        results[path.stem] = data
        if path.stem.startswith("decide-"):
            source = f"bench/results/{path.name}"
            borrowers = float(pick(data, DECIDE_POINTS["borrowers"], source))
            points.append((borrowers, float(pick(data, DECIDE_POINTS["seconds"], source))))
            if largest is None or borrowers > largest[0]:
                largest = (borrowers, data)
    if largest is not None:
        results["decide-largest"] = largest[1]
    return results, sorted(points)


def render(results_dir: Path, out: Path, command: str, note: str = "") -> str:
    """Write the performance page (and its chart beside it); returns the page."""
    results, points = load(results_dir)
    # Benchmarks record the load average at the top level or under "machine".
    loads = sorted(
        load
        for d in results.values()
        for load in (d.get("load_average_1m"), d.get("machine", {}).get("load_average_1m"))
        if isinstance(load, float | int)
    )
    lines = [
        "# Performance",
        "",
        "Rendered by `bench/render.py` from `bench/results/*.json` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} with "
        f"{os.cpu_count()} cores (`{command}`)."
        + (f" Load average (1 min) in the runs: {loads[0]}–{loads[-1]}." if loads else ""),
        "Every figure is compared with its reference measured in the same run (DESIGN §7); "
        "figures from other runs or machines are not comparable. See bench/README.md for what "
        "each benchmark does and docs/scaling.md for what the figures mean at 100M borrowers.",
        *(["", note] if note else []),
        "",
        *table(results),
        "",
    ]
    if len(points) >= 2:
        fit = linear_fit(points)
        svg = out.with_name("performance-decide.svg")
        svg.write_text(chart(points, fit))
        per_100k = fit[1] * 1e5
        lines += [
            "## Re-deciding the whole book: cost against portfolio size",
            "",
            f"![decide --all seconds against borrowers]({svg.name})",
            "",
            f"Measured: {', '.join(f'{x / 1e3:,.0f}k → {y:.2f} s' for x, y in points)}. "
            f"Least-squares line: {fit[0]:.2f} s + {per_100k:.2f} s per 100k borrowers, "
            f"R² = {fit[2]:.4f}"
            + (
                " — the cost grows linearly with the book."
                if fit[2] >= 0.98
                else " — not a straight line: look for a step that grows faster than the book."
            )
            + f" The line puts 1M borrowers at {fit[0] + fit[1] * 1e6:.1f} s (target ≤ 30 s)"
            + ("." if max(x for x, _ in points) >= 1e6 else ", an extrapolation."),
            "",
        ]
    out.write_text("\n".join(lines))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--command", default="make bench", help="what produced the results")
    parser.add_argument("--note", default="", help="a paragraph on the run (e.g. machine load)")
    args = parser.parse_args()
    print(render(args.results, args.out, args.command, args.note))


if __name__ == "__main__":
    main()
