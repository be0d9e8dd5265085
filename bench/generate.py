"""Benchmark: generate a synthetic portfolio into a temporary directory and print JSON."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from repayguard.simulation import PortfolioSpec, generate_portfolio, portfolio_statistics


def main() -> None:
    """Time one generation run of ``--borrowers`` x ``--months`` and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    parser.add_argument(
        "--stats", action="store_true", help="add portfolio statistics (after the timing)"
    )
    args = parser.parse_args()

    spec = PortfolioSpec(borrowers=args.borrowers, months=args.months, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="repayguard-bench-") as tmp:
        out_dir = args.keep or Path(tmp)
        summary = generate_portfolio(spec, out_dir, workers=args.workers)
        size = sum(p.stat().st_size for p in out_dir.rglob("*.parquet"))
        stats = portfolio_statistics(out_dir, months=spec.months) if args.stats else None
    seconds = summary.seconds
    print(
        json.dumps(
            {
                "benchmark": "generate_portfolio",
                "borrowers": spec.borrowers,
                "months": spec.months,
                "workers": args.workers,
                "events": summary.total_events,
                "files": len(summary.files),
                "bytes": size,
                "seconds": round(seconds, 3),
                "events_per_second": round(summary.total_events / seconds),
                "borrowers_per_second": round(spec.borrowers / seconds),
                "events_by_type": dict(summary.events_by_type),
                **({"statistics": stats} if stats is not None else {}),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
