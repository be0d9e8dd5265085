"""``python -m repayguard.cli.policy``: the policy commands on their own."""

from repayguard.cli.policy import policy_app

policy_app()
