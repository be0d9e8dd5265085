"""``repayguard policy``: check, evaluate, explain, diff, preview, submit, publish, JDM."""

from repayguard.cli.policy.commands import policy_app

__all__ = ["policy_app"]
