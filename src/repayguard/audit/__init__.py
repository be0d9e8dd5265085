"""Audit trail: every committed message hash-chained, checkpoints signed outside the database."""

from repayguard.audit.chain import (
    GENESIS_HASH,
    ChainProblem,
    ChainRecord,
    ChainVerifier,
    canonical_json,
)
from repayguard.audit.checkpoints import (
    Checkpoint,
    CheckpointSigner,
    TrustedKeys,
    load_signer,
    load_trusted_keys,
    public_key_path,
    write_signing_key,
)
from repayguard.audit.export import (
    ExportAudit,
    ExportReport,
    export_audit,
    export_size,
    verify_export,
)
from repayguard.audit.service import (
    SYSTEM_ACTOR,
    AuditTrail,
    CheckpointPolicy,
    acting_as,
    current_actor,
    make_audit_observer,
    redact_payload,
    set_actor,
    subject_of,
    write_checkpoint_now,
)
from repayguard.audit.verify import VerifyChain, VerifyReport, verify_chain

__all__ = [
    "GENESIS_HASH",
    "SYSTEM_ACTOR",
    "AuditTrail",
    "ChainProblem",
    "ChainRecord",
    "ChainVerifier",
    "Checkpoint",
    "CheckpointPolicy",
    "CheckpointSigner",
    "ExportAudit",
    "ExportReport",
    "TrustedKeys",
    "VerifyChain",
    "VerifyReport",
    "acting_as",
    "canonical_json",
    "current_actor",
    "export_audit",
    "export_size",
    "load_signer",
    "load_trusted_keys",
    "make_audit_observer",
    "public_key_path",
    "redact_payload",
    "set_actor",
    "subject_of",
    "verify_chain",
    "verify_export",
    "write_checkpoint_now",
    "write_signing_key",
]
