"""Synthetic portfolios: borrowers whose money, shocks and habits produce event histories."""

from repayguard.simulation.generator import (
    TRUTH_SCHEMA,
    GenerationSummary,
    event_file_name,
    generate_portfolio,
)
from repayguard.simulation.spec import PortfolioSpec
from repayguard.simulation.statistics import portfolio_statistics

__all__ = [
    "TRUTH_SCHEMA",
    "GenerationSummary",
    "PortfolioSpec",
    "event_file_name",
    "generate_portfolio",
    "portfolio_statistics",
]
