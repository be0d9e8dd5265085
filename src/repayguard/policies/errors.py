"""The refusals of policy drafts, versions and the policy in force.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import ConfigurationInvalid, InvalidInput, NotFound, RepayguardError


class PolicyRejected(InvalidInput):
    """A policy that fails its static checks; ``detail["problems"]`` lists every finding."""

    code = "policy_rejected"


class PolicyDraftNotFound(NotFound):
    code = "policy_draft_not_found"


class PolicyVersionNotFound(NotFound):
    code = "policy_version_not_found"


class PolicyVersionConflict(RepayguardError):
    """Publishing would not make a new, next version (already published, stale number, no
    change since the latest version)."""

    code = "policy_version_conflict"
    http_status = 409


class PolicyVersionTampered(RepayguardError):
    """A stored policy version no longer matches the content hash recorded when published."""

    code = "policy_version_tampered"
    http_status = 409


class PolicyNotInForce(RepayguardError):
    """No published version of the configured policy name (``decisions.policy_name``) exists
    and no development override is set: nothing may decide."""

    code = "policy_not_in_force"
    http_status = 503


class PolicyNotLoadable(ConfigurationInvalid):
    code = "policy_not_loadable"


class GraphNotImported(InvalidInput):
    """A JDM graph refused at import; ``detail['refusals']`` lists every reason."""

    code = "jdm_graph_refused"
