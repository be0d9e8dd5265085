"""``repayguard monitor``: portfolio metrics, the metric catalogue, and the stress test."""

from repayguard.cli.monitor.commands import monitor_app

__all__ = ["monitor_app"]
