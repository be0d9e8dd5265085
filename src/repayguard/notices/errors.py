"""The refusals of notice channels: each a ``repayguard.errors.RepayguardError``, the one base."""

from __future__ import annotations

from repayguard.errors import ConfigurationInvalid


class NoticesMisconfigured(ConfigurationInvalid):
    """A notice channel or template the settings ask for is missing or unusable."""

    code = "notices_misconfigured"
