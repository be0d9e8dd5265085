"""Complaints and appeals (G5): a borrower contests a decision; the case has an SLA deadline and
is escalated as it nears; while it is open the policy sees the borrower's open appeal; a
customer-service agent upholds the decision or reverses it through a maker-checker override;
each outcome becomes a training label and the borrower is told, in their language."""

from repayguard.complaints.consumers import Redecide, ReversalOutcomes
from repayguard.complaints.escalation import (
    JOB_NAME,
    EscalationReport,
    escalate_due,
    escalation_job,
)
from repayguard.complaints.labels import outcome_labels
from repayguard.complaints.messages import (
    COMPLAINT_ESCALATED,
    COMPLAINT_FILED,
    COMPLAINT_RESOLVED,
    COMPLAINT_REVERSAL_REFUSED,
    COMPLAINT_REVERSAL_REQUESTED,
    COMPLAINT_VIEWED,
    STATEMENTS_ROTATED,
    ComplaintEscalated,
    ComplaintFact,
    ComplaintFiled,
    ComplaintResolved,
    ComplaintReversalRefused,
    ComplaintReversalRequested,
    ComplaintViewed,
    StatementsRotated,
)
from repayguard.complaints.models import CONTESTABLE, STATUSES
from repayguard.complaints.repository import QueueFilter, filed_between
from repayguard.complaints.resolution import (
    ResolveComplaint,
    Reversal,
    resolve_complaint,
    settle_reversal,
)
from repayguard.complaints.review import (
    ComplaintCase,
    DecisionLineage,
    GetComplaint,
    ReasonText,
    get_complaint,
)
from repayguard.complaints.service import (
    ComplaintInfo,
    ComplaintPage,
    ComplaintSetup,
    FileComplaint,
    borrower_complaints,
    file_complaint,
    list_complaints,
)
from repayguard.complaints.statements import (
    StatementRotation,
    pending_statement_rotation,
    rotate_statements,
    statement_key_usage,
    unseal,
)

__all__ = [
    "COMPLAINT_ESCALATED",
    "COMPLAINT_FILED",
    "COMPLAINT_RESOLVED",
    "COMPLAINT_REVERSAL_REFUSED",
    "COMPLAINT_REVERSAL_REQUESTED",
    "COMPLAINT_VIEWED",
    "CONTESTABLE",
    "JOB_NAME",
    "STATEMENTS_ROTATED",
    "STATUSES",
    "ComplaintCase",
    "ComplaintEscalated",
    "ComplaintFact",
    "ComplaintFiled",
    "ComplaintInfo",
    "ComplaintPage",
    "ComplaintResolved",
    "ComplaintReversalRefused",
    "ComplaintReversalRequested",
    "ComplaintSetup",
    "ComplaintViewed",
    "DecisionLineage",
    "EscalationReport",
    "FileComplaint",
    "GetComplaint",
    "QueueFilter",
    "ReasonText",
    "Redecide",
    "ResolveComplaint",
    "Reversal",
    "ReversalOutcomes",
    "StatementRotation",
    "StatementsRotated",
    "borrower_complaints",
    "escalate_due",
    "escalation_job",
    "file_complaint",
    "filed_between",
    "get_complaint",
    "list_complaints",
    "outcome_labels",
    "pending_statement_rotation",
    "resolve_complaint",
    "rotate_statements",
    "settle_reversal",
    "statement_key_usage",
    "unseal",
]
