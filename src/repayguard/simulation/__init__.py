"""Synthetic portfolios, and policies proven on them before they ship.

The generator writes borrowers' event histories (docs/synthetic-data.md). The outcome
simulator runs the same borrowers, reacting to their repayment methods, under two policies
decided by the production decision core, on common random numbers (docs/simulation.md).
"""

from repayguard.simulation.assumptions import Assumptions, default_assumptions, load_assumptions
from repayguard.simulation.compare import METRICS, ArmPolicy, Comparison, compare
from repayguard.simulation.generator import (
    TRUTH_SCHEMA,
    GenerationSummary,
    event_file_name,
    generate_portfolio,
)
from repayguard.simulation.groups import ATTRIBUTES as GROUP_ATTRIBUTES
from repayguard.simulation.groups import draw_groups
from repayguard.simulation.report import html_report
from repayguard.simulation.saved import SavedRun, list_runs, load_run, run_file, save_run
from repayguard.simulation.simulator import BUCKETS, MONTHLY_SERIES, ArmRun, Engine, run_arm
from repayguard.simulation.spec import PortfolioSpec
from repayguard.simulation.statistics import portfolio_statistics

__all__ = [
    "BUCKETS",
    "GROUP_ATTRIBUTES",
    "METRICS",
    "MONTHLY_SERIES",
    "TRUTH_SCHEMA",
    "ArmPolicy",
    "ArmRun",
    "Assumptions",
    "Comparison",
    "Engine",
    "GenerationSummary",
    "PortfolioSpec",
    "SavedRun",
    "compare",
    "default_assumptions",
    "draw_groups",
    "event_file_name",
    "generate_portfolio",
    "html_report",
    "list_runs",
    "load_assumptions",
    "load_run",
    "portfolio_statistics",
    "run_arm",
    "run_file",
    "save_run",
]
