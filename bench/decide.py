"""Benchmark: re-deciding a whole portfolio from SQLite (``decide --all``), seconds.

Reference, measured in the same run: the pure decision core alone over the same events
already in memory — what the batch driver costs beyond reading history and writing
decisions and entitlements. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from repayguard import entitlements, ingestion
from repayguard.core.pipeline import decide, decide_with_challenger
from repayguard.decisions import Challenger, DecideBorrowers, decide_borrowers, triggers

from _common import AS_OF, embedded, median, portfolio, timed

TARGET_SECONDS_100K = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--challenger",
        action="store_true",
        help="Also time the same runs with a shadow challenger (the policy in force itself, "
        "so every row is evaluated and logged twice): the added cost of shadow mode.",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = portfolio(args.borrowers, root / "events")
        with embedded(root / "db") as container:
            load_seconds, _ = timed(
                lambda: ingestion.ingest_files(
                    ingestion.expand_paths([root / "events"]),
                    uow=container.uow,
                    setup=container.ingest,
                )
            )
            engine = container.decision_engine
            history = container.settings.decisions.history_days
            runs = []
            if args.challenger:
                # The first run changes every entitlement, later ones none: warm up so the
                # runs with and without the challenger do the same work.
                decide_borrowers(
                    DecideBorrowers(as_of=AS_OF, trigger=triggers.CLI),
                    uow=container.uow(),
                    engine=engine,
                    history_days=history,
                )
            for _ in range(args.repeat):
                seconds, report = timed(
                    lambda: decide_borrowers(
                        DecideBorrowers(as_of=AS_OF, trigger=triggers.CLI),
                        uow=container.uow(),
                        engine=engine,
                        history_days=history,
                    )
                )
                assert report.borrowers == args.borrowers
                runs.append(seconds)
            shadowed = []
            if args.challenger:
                shadow_engine = replace(
                    engine,
                    challenger=Challenger(engine.policy.name, "bench", engine.compiled),
                )
                for _ in range(args.repeat):
                    seconds, _report = timed(
                        lambda: decide_borrowers(
                            DecideBorrowers(as_of=AS_OF, trigger=triggers.CLI),
                            uow=container.uow(),
                            engine=shadow_engine,
                            history_days=history,
                        )
                    )
                    shadowed.append(seconds)
            frame = ingestion.scan_history(
                container.engine, since=AS_OF - timedelta(days=history), until=AS_OF
            )
            with container.session_factory() as session:
                previous = entitlements.current_frame(session, None)
            core = [
                timed(
                    lambda: decide(
                        frame,
                        as_of=AS_OF,
                        model=engine.model,
                        bands=engine.bands,
                        policy=engine.compiled,
                        previous=previous,
                    )
                )[0]
                for _ in range(args.repeat)
            ]
            core_shadowed = [
                timed(
                    lambda: decide_with_challenger(
                        frame,
                        as_of=AS_OF,
                        model=engine.model,
                        bands=engine.bands,
                        policy=engine.compiled,
                        challenger=engine.compiled,
                        previous=previous,
                    )
                )[0]
                for _ in range(args.repeat if args.challenger else 0)
            ]
    print(
        json.dumps(
            {
                "benchmark": "decide_all",
                "borrowers": args.borrowers,
                "events": events,
                "events_in_history_window": frame.height,
                "ingest_seconds": round(load_seconds, 1),
                "repeat": args.repeat,
                "median_seconds": round(median(runs), 3),
                "borrowers_per_second": round(args.borrowers / median(runs)),
                "reference": "pure decision core over the same events in memory",
                "reference_median_seconds": round(median(core), 3),
                "ratio_to_reference": round(median(runs) / median(core), 2),
                "target_seconds_per_100k": TARGET_SECONDS_100K,
                "seconds_per_100k": round(median(runs) * 100_000 / args.borrowers, 3),
                "meets_target": median(runs) * 100_000 / args.borrowers <= TARGET_SECONDS_100K,
                **(
                    {
                        "with_challenger_median_seconds": round(median(shadowed), 3),
                        "challenger_added_seconds": round(median(shadowed) - median(runs), 3),
                        "core_with_challenger_median_seconds": round(median(core_shadowed), 3),
                        "core_challenger_added_seconds": round(
                            median(core_shadowed) - median(core), 3
                        ),
                    }
                    if shadowed
                    else {}
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
