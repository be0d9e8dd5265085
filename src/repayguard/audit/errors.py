"""The refusals of the audit chain and its checkpoints.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import ConfigurationInvalid, RepayguardError


class SigningKeyInvalid(ConfigurationInvalid):
    code = "signing_key_invalid"


class AuditChainUnavailable(RepayguardError):
    """The audit chain cannot take records (its head row is missing): writes are refused."""

    code = "audit_chain_unavailable"
    http_status = 503
