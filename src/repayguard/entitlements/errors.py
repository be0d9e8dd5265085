"""The refusals of entitlements and authorize.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import InvalidInput


class ChannelNotDeclared(InvalidInput):
    """An authorize call named a manual channel the policy in force does not declare."""

    code = "channel_not_declared"
