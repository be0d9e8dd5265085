"""Remedies when a restriction is reversed: what it cost the borrower (refunded fees and
interest, a credit-bureau correction, an apology), computed from their events, approved by a
second person above a configurable amount, and exported to the lender's ledger."""

from repayguard.remedies.compute import Harm, Rates, harms
from repayguard.remedies.ledger import (
    ExportRemedies,
    ExportReport,
    LedgerError,
    LedgerExport,
    LedgerWebhook,
    export_due,
    ledger_entry,
)
from repayguard.remedies.messages import (
    REMEDY_APPROVED,
    REMEDY_EXPORTED,
    REMEDY_PROPOSED,
    REMEDY_REJECTED,
    RemedyApproved,
    RemedyExported,
    RemedyFact,
    RemedyProposed,
    RemedyRejected,
    amount_text,
)
from repayguard.remedies.models import KINDS, STATES
from repayguard.remedies.service import (
    ListRemedies,
    RecordRemedies,
    RemedyInfo,
    RemedySetup,
    SettleRemedy,
    approve_remedy_within,
    link_approval,
    list_remedies,
    record_remedies,
    refuse_remedy_within,
)

__all__ = [
    "KINDS",
    "REMEDY_APPROVED",
    "REMEDY_EXPORTED",
    "REMEDY_PROPOSED",
    "REMEDY_REJECTED",
    "STATES",
    "ExportRemedies",
    "ExportReport",
    "Harm",
    "LedgerError",
    "LedgerExport",
    "LedgerWebhook",
    "ListRemedies",
    "Rates",
    "RecordRemedies",
    "RemedyApproved",
    "RemedyExported",
    "RemedyFact",
    "RemedyInfo",
    "RemedyProposed",
    "RemedyRejected",
    "RemedySetup",
    "SettleRemedy",
    "amount_text",
    "approve_remedy_within",
    "export_due",
    "harms",
    "ledger_entry",
    "link_approval",
    "list_remedies",
    "record_remedies",
    "refuse_remedy_within",
]
