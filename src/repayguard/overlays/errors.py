"""The refusals of emergency playbooks and overlays.

Each is a ``repayguard.errors.RepayguardError``, the one base.
"""

from __future__ import annotations

from repayguard.errors import InvalidInput, NotFound, RepayguardError


class PlaybookRefused(InvalidInput):
    """A playbook document that does not load or breaks a guardrail; ``detail["findings"]``
    names the offending key each."""

    code = "playbook_refused"


class PlaybookNotFound(NotFound):
    code = "playbook_not_found"


class PlaybookVersionConflict(RepayguardError):
    """This name and version hold another document already (a version never changes)."""

    code = "playbook_version_conflict"
    http_status = 409


class PlaybookNotApproved(RepayguardError):
    """Only a playbook a second person approved in advance can be armed."""

    code = "playbook_not_approved"
    http_status = 409


class OverlayNotFound(NotFound):
    code = "overlay_not_found"


class OverlayNotActive(RepayguardError):
    """The overlay was lifted, expired or lapsed already (or reviewed, for a second review)."""

    code = "overlay_not_active"
    http_status = 409


class OverlayReviewerNotAllowed(RepayguardError):
    """Whoever armed an overlay never reviews it, and a review after the deadline is too late
    (the overlay lapses)."""

    code = "overlay_reviewer_not_allowed"
    http_status = 403
