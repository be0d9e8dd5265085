"""Benchmark: ``POST /v1/authorize`` over HTTP, one uvicorn worker on one core, with auth.

The server under test is ``repayguard serve`` on a decided synthetic portfolio, pinned to core
0; the load comes from ``wrk`` (Debian package ``wrk``) pinned to core 1, keep-alive
connections, each request for a random borrower and method, with a service token. References,
measured in the same run with the same load: a minimal FastAPI endpoint (a pydantic body, a
fixed answer, no auth) and a raw ASGI callable (the ceiling of one uvicorn worker). The
references are served as ``serve`` serves repayguard — httptools, uvloop, no uvicorn access
log, no proxy-header middleware — so the ratio compares applications, not server options
(uvicorn's command-line defaults would add an access-log call and a middleware to every
reference request). The portfolio's due jobs (the first whole-book cadence run, detection)
run once before any server starts, so no measured server spends its core on them. The server
runs with its per-token rate limit checked on every call (the default memory storage, the
budget raised above the load so nothing is refused) and with rate limits off. The four
servers are alternated in every round, a fresh process per run, the order reversed every
other round; rates and latency percentiles are medians over ``--repeat`` rounds, and the
ratios are also given per round (``round_ratios_to_raw_asgi``), each round's servers having
seen about the same machine. Each run also reads the server's CPU time (``/proc``, all its
threads) against the requests it answered: ``cpu_us_per_request``, and
``cpu_ratio_to_raw_asgi`` (the raw callable's CPU per request over ours). On a shared machine
it is steadier than the rates, which follow the core's other tenants; it is not the rate ratio
of a quiet machine (a server answering fewer requests per pass of its event loop, or running
a job meanwhile, spends more per request), so compare it between servers of one run only.
``--compare-src`` serves a second checkout's ``src`` in the same rounds (a before/after in
one run). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from repayguard.bootstrap import bootstrap
from repayguard.cli.shared import load_settings
from repayguard.identity import CreateToken, create_token

from _common import median

TARGET_REQUESTS_PER_S = 20_000
TARGET_P99_MS = 5.0
BENCH = Path(__file__).resolve().parent
REPAYGUARD = str(Path(sys.executable).parent / "repayguard")
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pinned(core: int) -> list[str]:
    """A command prefix that runs on one core when the machine has two or more."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(core)]
    return []


def _wait_until_up(port: int, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f} s")


def _lua(path: Path, borrowers: int, token: str | None) -> None:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    path.write_text(
        f"""wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{auth}local methods = {{"auto_debit", "early_repayment", "manual"}}
math.randomseed(7)
request = function()
  local body = string.format('{{"borrower_id": "B%07d", "method": "%s"}}',
    math.random(0, {borrowers - 1}), methods[math.random(1, 3)])
  return wrk.format(nil, nil, nil, body)
end
"""
    )


def _wrk(port: int, script: Path, *, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        [
            *_pinned(1),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/v1/authorize",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise RuntimeError(f"the server answered errors under load:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    served = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    found = {}
    for pct, value, unit in re.findall(r"(\d+)%\s+([\d.]+)(us|ms|s)\b", out):
        found[f"p{pct}_ms"] = round(float(value) * _UNITS[unit], 3)
    return {"requests_per_s": rate, "requests": served, **found}


def _cpu_seconds(pid: int) -> float:
    """The CPU time (user + system, all threads) process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed_wrk(pid: int, port: int, script: Path, args: argparse.Namespace) -> dict[str, float]:
    """One wrk run, with the server's CPU time per request answered (see the module)."""
    before = _cpu_seconds(pid)
    run = _wrk(port, script, seconds=args.seconds, connections=args.connections)
    spent = _cpu_seconds(pid) - before
    served = run.pop("requests")
    return {**run, "cpu_us_per_request": round(spent / max(served, 1) * 1e6, 2)}


def _measure(
    command: list[str], port: int, script: Path, args: argparse.Namespace, env: dict[str, str]
) -> dict[str, Any]:
    server = subprocess.Popen(
        [*_pinned(0), *command],
        cwd=BENCH,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_up(port, server)
        _wrk(port, script, seconds=2, connections=args.connections)  # warm-up
        runs = [_timed_wrk(server.pid, port, script, args) for _ in range(args.repeat)]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return {key: round(median([run[key] for run in runs]), 3) for key in runs[0]}


def _portfolio(data_dir: Path, borrowers: int) -> str:
    """A decided portfolio in ``data_dir`` and a service token for the lender's app."""
    subprocess.run(
        [
            REPAYGUARD,
            "demo",
            "--no-serve",
            "--borrowers",
            str(borrowers),
            "--months",
            "6",
            "--data-dir",
            str(data_dir),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with bootstrap(load_settings(data_dir), production_model=False) as container:
        return create_token(CreateToken("service", "bench-app"), uow=container.uow()).secret


def _settle(data_dir: Path) -> None:
    """Run the jobs due on the new portfolio once (``repayguard worker --once``), as a worker
    would have before a server takes traffic; a job that reports findings does not stop the
    benchmark."""
    subprocess.run(
        [REPAYGUARD, "worker", "--once", "--data-dir", str(data_dir)],
        check=False,
        stdout=subprocess.DEVNULL,
    )


def _servers(
    data_dir: Path, secured: Path, open_: Path, env: dict[str, str], compare: Path | None
) -> dict[str, tuple[list[str], Path, dict[str, str]]]:
    """The servers measured, by name: the command (with ``{port}`` to fill), the wrk script
    and the environment; ``compare``: a second repayguard source tree served too (with its
    rate limit, as ``repayguard``), imported ahead of this one."""
    serve = [REPAYGUARD, "serve", "--data-dir", str(data_dir), "--port", "{port}"]
    reference = [sys.executable, "-m", "uvicorn", "--port", "{port}", "--log-level", "warning"]
    # As ``serve`` runs uvicorn (cli/demo.py): no access log, no proxy headers; httptools and
    # uvloop are uvicorn's own choice on both.
    reference += ["--lifespan", "off", "--no-access-log", "--no-proxy-headers"]
    limited = {**env, "REPAYGUARD_RATE_LIMIT__AUTHORIZE": "10000000/second"}
    servers = {
        "repayguard": (serve, secured, limited),
        "repayguard_unlimited": (
            serve,
            secured,
            {**env, "REPAYGUARD_RATE_LIMIT__ENABLED": "false"},
        ),
        "raw_asgi": ([*reference, "_asgi_references:raw_asgi"], open_, env),
        "fastapi_app": ([*reference, "_asgi_references:fastapi_app"], open_, env),
    }
    if compare is not None:
        servers["compared"] = (serve, secured, {**limited, "PYTHONPATH": f"{compare}:{BENCH}"})
    return servers


def _alternated(
    servers: dict[str, tuple[list[str], Path, dict[str, str]]], args: argparse.Namespace
) -> dict[str, list[dict[str, Any]]]:
    """Every server once per round, a fresh process per run, the order reversed every other
    round (a fixed order would favour whichever runs when the machine is quieter)."""
    once = argparse.Namespace(**{**vars(args), "repeat": 1})
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for round_ in range(args.repeat):
        for name in list(servers) if round_ % 2 == 0 else list(reversed(servers)):
            command, script, env = servers[name]
            port = _free_port()
            filled = [part.replace("{port}", str(port)) for part in command]
            runs[name].append(_measure(filled, port, script, once, env))
    return runs


def _medians(found: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: round(median([run[key] for run in found]), 3) for key in found[0]}


def _compared(
    runs: dict[str, list[dict[str, Any]]], results: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The second source tree's figures and ratios, when one was served."""
    if "compared" not in runs:
        return {}
    return {
        "compared": results["compared"],
        "ratio_compared_to_raw_asgi": round(
            results["compared"]["requests_per_s"] / results["raw_asgi"]["requests_per_s"], 2
        ),
        "round_ratios_to_compared": [
            round(ours["requests_per_s"] / theirs["requests_per_s"], 3)
            for ours, theirs in zip(runs["repayguard"], runs["compared"], strict=True)
        ],
        "cpu_ratio_compared_to_raw_asgi": round(
            results["raw_asgi"]["cpu_us_per_request"] / results["compared"]["cpu_us_per_request"],
            3,
        ),
        "round_cpu_ratios_to_compared": [
            round(theirs["cpu_us_per_request"] / ours["cpu_us_per_request"], 3)
            for ours, theirs in zip(runs["repayguard"], runs["compared"], strict=True)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=5_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--compare-src",
        type=Path,
        help="the src folder of another checkout (e.g. an earlier commit's worktree) to serve "
        "in the same rounds, for a before/after in one run",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("this benchmark needs wrk: apt-get install wrk")
    env = {**os.environ, "PYTHONPATH": str(BENCH)}
    with tempfile.TemporaryDirectory(prefix="repayguard-authorize-") as folder:
        data_dir = Path(folder) / "data"
        token = _portfolio(data_dir, args.borrowers)
        _settle(data_dir)
        secured, open_ = Path(folder) / "secured.lua", Path(folder) / "open.lua"
        _lua(secured, args.borrowers, token)
        _lua(open_, args.borrowers, None)
        runs = _alternated(_servers(data_dir, secured, open_, env, args.compare_src), args)
    results = {name: _medians(found) for name, found in runs.items()}
    round_ratios = [
        round(ours["requests_per_s"] / raw["requests_per_s"], 3)
        for ours, raw in zip(runs["repayguard"], runs["raw_asgi"], strict=True)
    ]
    cpu_ratios = [
        round(raw["cpu_us_per_request"] / ours["cpu_us_per_request"], 3)
        for ours, raw in zip(runs["repayguard"], runs["raw_asgi"], strict=True)
    ]
    ours = results["repayguard"]
    print(
        json.dumps(
            {
                "benchmark": "authorize_http",
                "borrowers": args.borrowers,
                "connections": args.connections,
                "seconds": args.seconds,
                "repeat": args.repeat,
                "repayguard": ours,
                "repayguard_without_rate_limits": results["repayguard_unlimited"],
                "rate_limit_ratio": round(
                    ours["requests_per_s"] / results["repayguard_unlimited"]["requests_per_s"], 3
                ),
                "reference_minimal_fastapi": results["fastapi_app"],
                "reference_raw_asgi": results["raw_asgi"],
                "ratio_to_minimal_fastapi": round(
                    ours["requests_per_s"] / results["fastapi_app"]["requests_per_s"], 2
                ),
                "ratio_to_raw_asgi": round(
                    ours["requests_per_s"] / results["raw_asgi"]["requests_per_s"], 2
                ),
                "round_ratios_to_raw_asgi": round_ratios,
                "cpu_ratio_to_raw_asgi": round(
                    results["raw_asgi"]["cpu_us_per_request"] / ours["cpu_us_per_request"], 3
                ),
                "round_cpu_ratios_to_raw_asgi": cpu_ratios,
                "load_average": [round(x, 2) for x in os.getloadavg()],
                **_compared(runs, results),
                "target_requests_per_s": TARGET_REQUESTS_PER_S,
                "target_p99_ms": TARGET_P99_MS,
                "meets_target": ours["requests_per_s"] >= TARGET_REQUESTS_PER_S
                and ours.get("p99_ms", float("inf")) <= TARGET_P99_MS,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
