"""Settings: one validated object, read from the environment (prefix ``REPAYGUARD_``).

Nested groups use a double underscore: ``REPAYGUARD_DATABASE__URL``,
``REPAYGUARD_BUS__URL``. The decision core never reads settings; entry points build a
:class:`Settings` and pass what each part needs.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar, Final, Literal, Self
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from limits import parse as parse_rate_limit
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from repayguard.platform.net import is_loopback

DEFAULT_DATA_DIR = Path(".repayguard")
SHIPPED_POLICY_NAME = "cn-consumer-credit-line"
"""The name of resources/policies/cn-default.yaml (a test holds the two together)."""
_DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"
_JETSTREAM_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SUBJECT_PREFIX = re.compile(r"(?:[A-Za-z0-9_-]+\.)+")


class DatabaseSettings(BaseModel):
    """Where decisions, entitlements and events are stored."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file repayguard.db in the data directory.",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")


class BusSettings(BaseModel):
    """How committed events leave the outbox, and the shared bus every process of a deployment
    uses when there is more than one (NATS JetStream)."""

    url: str | None = Field(
        default=None,
        description="NATS server URL(s), comma-separated (nats://host:4222 or tls://…); set, "
        "the shared NATS JetStream bus is used; unset, the in-process bus (embedded default).",
    )
    kind: Literal["memory", "nats"] = Field(
        default="memory",
        description="Which bus: follows from 'url' ('nats' when it is set); naming it 'nats' "
        "without a URL, or 'memory' with one, is refused.",
    )
    relay: Literal["background", "inline"] = Field(
        default="background",
        description="'background': a relay thread publishes after commit; 'inline': the "
        "committing call publishes before it returns (deterministic, for tests and scripts).",
    )
    stream: str = Field(
        default="REPAYGUARD", description="The JetStream stream holding every published message."
    )
    subject_prefix: str = Field(
        default="",
        description="Put before every message name to form its subject (e.g. 'acme.'), so "
        "several deployments can share one NATS server; each needs its own stream too.",
    )
    ack_wait_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How long an effect consumer may hold a message without a sign of life "
        "before JetStream gives it to another process.",
    )
    max_view_age_seconds: float = Field(
        default=5.0,
        gt=0,
        description="/readyz answers 503 once this process's followed state (authorize view, "
        "token cache, engine) may be older than this.",
    )
    publish_timeout_seconds: float = Field(
        default=5.0, gt=0, le=300, description="How long a publish waits for JetStream's ack."
    )
    connect_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="How long start-up waits for the NATS server before refusing to start.",
    )
    reconnect_wait_seconds: float = Field(
        default=0.5, gt=0, le=60, description="Pause between reconnection attempts (forever)."
    )
    max_age_days: float = Field(
        default=7.0,
        gt=0,
        description="How long the stream keeps messages; a process away for longer reloads "
        "its state from the database when it returns.",
    )
    duplicate_window_seconds: float = Field(
        default=120.0,
        gt=0,
        description="JetStream drops a republished message id within this window (consumers "
        "stay idempotent regardless).",
    )

    @model_validator(mode="after")
    def _usable(self) -> BusSettings:
        if self.url is not None:
            self.url = self.url.strip() or None
        if self.url is None:
            if self.kind == "nats":
                raise ValueError(
                    "REPAYGUARD_BUS__KIND is 'nats' but REPAYGUARD_BUS__URL is not set; "
                    "give the server's URL (nats://127.0.0.1:4222)"
                )
        else:
            if "kind" in self.model_fields_set and self.kind == "memory":
                raise ValueError(
                    "REPAYGUARD_BUS__KIND is 'memory' but REPAYGUARD_BUS__URL names a NATS "
                    "server; drop one of them"
                )
            self.kind = "nats"
            for server in self.url.split(","):
                parts = urlsplit(server.strip())
                if parts.scheme not in ("nats", "tls") or not parts.hostname:
                    raise ValueError(
                        "REPAYGUARD_BUS__URL must be nats://host:port or tls://host:port "
                        "(comma-separated for a cluster)"
                    )
        if not _JETSTREAM_NAME.fullmatch(self.stream):
            raise ValueError(
                "REPAYGUARD_BUS__STREAM must be 1-64 letters, digits, '-' or '_' (a JetStream "
                "stream name)"
            )
        if self.subject_prefix and not _SUBJECT_PREFIX.fullmatch(self.subject_prefix):
            raise ValueError(
                "REPAYGUARD_BUS__SUBJECT_PREFIX must be dot-separated tokens of letters, "
                "digits, '-' or '_' ending with a dot (e.g. 'acme.')"
            )
        return self


class SecuritySettings(BaseModel):
    """Keys and access control; the development defaults are refused when env is production."""

    auth: Literal["required", "off"] = Field(
        default="required",
        description="'required': every API call but /healthz and /readyz needs a token; 'off' "
        "only for a "
        "local trial on loopback (refused in production).",
    )
    token_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long a resolved token is trusted without a lookup (never past its "
        "own expiry; a revocation is forgotten sooner).",
    )
    token_use_audit_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often the API calls of each token are written to the audit trail, "
        "in summary (one record per token per interval).",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(_DEVELOPMENT_SECRET),
        description="Key for keyed pseudonyms and signatures (32+ characters).",
    )
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="How long a password login session lasts."
    )
    data_keys_file: Path | None = Field(
        default=None,
        description="Keyring file encrypting personal data; default: <data dir>/keys/"
        "data-keys.json (created on first use outside production).",
    )
    data_keys: SecretStr | None = Field(
        default=None, description="The keyring as a JSON document (wins over the file)."
    )
    max_body_bytes: int = Field(
        default=1 << 20,
        ge=4_096,
        description="The largest request body any route but ingestion takes (larger: 413).",
    )
    max_events_body_bytes: int = Field(
        default=16 << 20,
        ge=4_096,
        description="The largest body POST /v1/events takes (a batch of 10,000 events is "
        "~3 MB; larger: 413).",
    )


class AuditSettings(BaseModel):
    """The audit trail: every committed change hash-chained, signed checkpoints outside the DB."""

    enabled: bool = Field(
        default=True, description="Append every committed message to the audit chain."
    )
    signing_key_file: Path | None = Field(
        default=None,
        description="Ed25519 key signing checkpoints; default: <data dir>/keys/audit-signing.pem.",
    )
    trusted_keys_file: Path | None = Field(
        default=None, description="Public keys 'audit verify' trusts; default: the signing key's."
    )
    checkpoint_dir: Path | None = Field(
        default=None,
        description="Where signed checkpoints go; default: <data dir>/audit/checkpoints.",
    )
    checkpoint_every: int = Field(
        default=1_000, ge=1, description="Sign a checkpoint every this many audit records."
    )
    seal_every_seconds: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="Also sign one this often while records are unsealed (the worker's "
        "'audit.seal' job; 0: only by count, at shutdown and on demand).",
    )


class DecisionSettings(BaseModel):
    """Which policy, model and tier bands drive decisions."""

    policy_name: str = Field(
        default=SHIPPED_POLICY_NAME,
        min_length=1,
        max_length=100,
        description="The policy in force: the latest published version of this name decides "
        "(default: the shipped CN consumer-credit policy, published as version 1 on upgrade).",
    )
    policy_path: Path | None = Field(
        default=None,
        description="Development override: decide with this policy YAML instead of the published "
        "version (decisions say 'unpublished'); refused in production.",
    )
    model_path: Path | None = Field(
        default=None, description="Points-table model JSON; default: the shipped expert model."
    )
    bands_path: Path | None = Field(
        default=None,
        description="Development override: tier bands document instead of the shipped bands; "
        "refused in production.",
    )
    history_days: int = Field(
        default=200, ge=1, description="Days of event history read for one decision."
    )
    online: bool = Field(
        default=True, description="Re-decide affected borrowers after each ingested batch."
    )
    online_coalesce: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Most ingested batches waiting on the bus that one online run decides "
        "together (the union of their borrowers); 1 decides each batch on its own.",
    )
    chunk_borrowers: int = Field(
        default=50_000,
        ge=1,
        description="Borrowers read, decided and written together in a whole-book run; about "
        "two chunks' history is in memory at once.",
    )
    history_cache: bool = Field(
        default=True,
        description="Whole-book runs keep a columnar copy of the history window under "
        "data_dir/history-cache and read only the events appended since the last run.",
    )


class EntitlementSettings(BaseModel):
    """What the authorize API answers beyond the borrowers' entitlements."""

    unknown_borrower: Literal["allow_defaults", "deny"] = Field(
        default="allow_defaults",
        description="A borrower never decided: 'allow_defaults' answers with the policy in "
        "force's default row (reason NOT_YET_ASSESSED); 'deny' refuses every method "
        "(same reason) until the borrower's first decision.",
    )


class ApprovalSettings(BaseModel):
    """Maker-checker: how long each kind of request waits for a checker before it expires."""

    policy_publish_hours: int = Field(
        default=168, ge=1, le=720, description="Publishing a policy version."
    )
    model_promote_hours: int = Field(
        default=168, ge=1, le=720, description="Promoting a model to production."
    )
    override_hours: int = Field(
        default=72, ge=1, le=720, description="A manual override of a borrower's methods."
    )
    decision_hours: int = Field(
        default=72, ge=1, le=720, description="A decision whose policy row requires approval."
    )
    emergency_review_hours: int = Field(
        default=48, ge=1, le=720, description="The after-the-fact review of an emergency action."
    )
    remedy_hours: int = Field(
        default=168, ge=1, le=720, description="A remedy above remedies.auto_approve_up_to."
    )
    playbook_approve_hours: int = Field(
        default=168, ge=1, le=720, description="Approving an emergency playbook in advance."
    )
    expire_every_seconds: int = Field(
        default=300, ge=1, description="How often 'repayguard worker' expires overdue requests."
    )


class NoticeSettings(BaseModel):
    """How borrowers are told about changes to their methods, and how notices are delivered."""

    _ADAPTER_GROUP: ClassVar[str] = "repayguard.notice_channels"
    """notices.ENTRY_POINT_GROUP (settings import no capability)."""

    channels: list[str] = Field(
        default_factory=list,
        description="Channels each notice goes through besides the in-app inbox (always on): "
        "'webhook', 'sms', 'email', or the name of an installed adapter (JSON list in the "
        "environment).",
    )
    default_locale: Literal["en", "zh-CN"] = Field(
        default="zh-CN", description="Language for borrowers without a profile."
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="Time zone the dates in notices are written in."
    )
    templates_dir: Path | None = Field(
        default=None,
        description="Folder of <locale>/<kind>.txt.j2 templates replacing the shipped ones.",
    )
    webhook_url: str | None = Field(
        default=None, description="Where the webhook channel POSTs notices (http or https)."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="Shared secret signing webhook payloads (HMAC-SHA256)."
    )
    webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long one webhook attempt may take."
    )
    sms_gateway_url: str | None = Field(
        default=None,
        description="Where the sms channel POSTs messages: the lender's SMS gateway (https; "
        "http only to a loopback host).",
    )
    sms_api_key: SecretStr | None = Field(
        default=None, description="Bearer token the SMS gateway expects."
    )
    sms_sender: str | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="Sender id or number sent with every SMS (omitted: the gateway's default).",
    )
    sms_default_country_code: str | None = Field(
        default=None,
        pattern=r"^[1-9][0-9]{0,2}$",
        description="Country calling code for numbers on file without '+', read by that "
        "country's rules (86: 139… becomes +86139…; 39: 06… becomes +3906…); without it such "
        "numbers are not sent.",
    )
    sms_max_chars: int = Field(
        default=500,
        ge=70,
        le=1_600,
        description="Longest SMS text; longer ones are cut at a word boundary with '…'.",
    )
    sms_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="How long one SMS gateway request may take."
    )
    smtp_host: str | None = Field(default=None, description="The e-mail channel's SMTP server.")
    smtp_port: int = Field(default=587, ge=1, le=65_535, description="Its port.")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="'starttls' (upgrade a plain connection), 'ssl' (TLS from the start, "
        "usually port 465), or 'none' (only to a loopback host, e.g. a local relay).",
    )
    smtp_username: str | None = Field(
        default=None, description="SMTP login (with smtp_password); none: no AUTH."
    )
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str | None = Field(
        default=None,
        description="The From of every notice e-mail, e.g. 'Lender <notices@lender.example>'.",
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="How long one SMTP operation may wait."
    )
    max_attempts: int = Field(
        default=8, ge=1, le=100, description="Attempts per delivery before it is failed."
    )
    backoff_base_seconds: float = Field(
        default=30.0, gt=0, description="Wait after the first failed attempt; doubles each time."
    )
    backoff_cap_seconds: float = Field(
        default=3_600.0, gt=0, description="Longest wait between two attempts."
    )

    @model_validator(mode="after")
    def _usable(self) -> NoticeSettings:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"notices.timezone {self.timezone!r} is not a known time zone"
            ) from None
        if self.backoff_cap_seconds < self.backoff_base_seconds:
            raise ValueError("notices.backoff_cap_seconds must not be below backoff_base_seconds")
        if "webhook" in self.channels:
            if not self.webhook_url or not self.webhook_url.startswith(("http://", "https://")):
                raise ValueError(
                    "the webhook channel needs REPAYGUARD_NOTICES__WEBHOOK_URL (http or https)"
                )
            if self.webhook_secret is None or len(self.webhook_secret.get_secret_value()) < 16:
                raise ValueError(
                    "the webhook channel needs REPAYGUARD_NOTICES__WEBHOOK_SECRET "
                    "(16+ characters, shared with the receiver)"
                )
        code = self.sms_default_country_code
        if code is not None and phonenumbers.region_code_for_country_code(int(code)) == "ZZ":
            raise ValueError(
                f"REPAYGUARD_NOTICES__SMS_DEFAULT_COUNTRY_CODE={code} is no country's calling "
                "code (86 for China, 44 for the UK, 39 for Italy, 1 for the US and Canada)"
            )
        if self._wants_built_in("sms", configured=self.sms_configured):
            self._check_sms()
        if self._wants_built_in("email", configured=self.email_configured):
            self._check_email()
        return self

    @property
    def sms_configured(self) -> bool:
        """Whether the built-in sms channel is set up (else an installed adapter may be)."""
        return self.sms_gateway_url is not None or self.sms_api_key is not None

    @property
    def email_configured(self) -> bool:
        """Whether the built-in e-mail channel is set up (else an installed adapter may be)."""
        return self.smtp_host is not None or self.smtp_from is not None

    def slowest_attempt_seconds(self) -> float:
        """The longest one attempt of an enabled built-in channel may wait (at least the
        webhook's timeout, the budget assumed for installed adapters)."""
        timeouts = [self.webhook_timeout_seconds]
        if "sms" in self.channels and self.sms_configured:
            timeouts.append(self.sms_timeout_seconds)
        if "email" in self.channels and self.email_configured:
            timeouts.append(self.smtp_timeout_seconds)
        return max(timeouts)

    def _wants_built_in(self, name: str, *, configured: bool) -> bool:
        """An enabled ``sms`` or ``email`` is the built-in channel (whose settings are then
        required) unless none of them is given and an installed adapter provides that name
        (adapters of these names predate the built-in channels)."""
        if name not in self.channels:
            return False
        return configured or not entry_points(group=self._ADAPTER_GROUP, name=name)

    def _check_sms(self) -> None:
        url = self.sms_gateway_url
        parts = urlsplit(url) if url else None
        secure = parts is not None and (
            parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))
        )
        if parts is None or not parts.hostname or not secure:
            raise ValueError(
                "the sms channel needs REPAYGUARD_NOTICES__SMS_GATEWAY_URL (https, or http to a "
                "loopback host: the request carries the API key and a phone number)"
            )
        if self.sms_api_key is None or not self.sms_api_key.get_secret_value().strip():
            raise ValueError(
                "the sms channel needs REPAYGUARD_NOTICES__SMS_API_KEY (the gateway's bearer token)"
            )

    def _check_email(self) -> None:
        if not self.smtp_host:
            raise ValueError("the email channel needs REPAYGUARD_NOTICES__SMTP_HOST")
        if not self.smtp_from or "@" not in parseaddr(self.smtp_from)[1]:
            raise ValueError(
                "the email channel needs REPAYGUARD_NOTICES__SMTP_FROM (an address, e.g. "
                "'Lender <notices@lender.example>')"
            )
        if self.smtp_security == "none" and not is_loopback(self.smtp_host):
            raise ValueError(
                "REPAYGUARD_NOTICES__SMTP_SECURITY=none is only allowed for a loopback "
                "REPAYGUARD_NOTICES__SMTP_HOST (use starttls or ssl)"
            )
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError(
                "REPAYGUARD_NOTICES__SMTP_USERNAME and REPAYGUARD_NOTICES__SMTP_PASSWORD "
                "go together"
            )


class CaseSettings(BaseModel):
    """What every kind of case shares: a deadline, and escalation before and after it.
    Each kind states its own defaults and names itself in messages."""

    _KIND: ClassVar[str] = "cases"
    _OPENED: ClassVar[str] = "opened"

    sla_days: int = Field(
        default=15, ge=1, le=365, description="Days from opening by which a case must be closed."
    )
    escalate_before_days: int = Field(
        default=3,
        ge=0,
        le=364,
        description="Escalate an open case this many days before its deadline (and again once "
        "it is overdue).",
    )
    escalate_every_seconds: float = Field(
        default=600.0, gt=0, description="How often the worker looks for cases to escalate."
    )

    @model_validator(mode="after")
    def _window_inside_deadline(self) -> Self:
        if self.escalate_before_days >= self.sla_days:
            raise ValueError(
                f"{self._KIND}.escalate_before_days must be less than {self._KIND}.sla_days "
                f"({self.escalate_before_days} >= {self.sla_days}): a case would be escalated "
                f"as soon as it is {self._OPENED}"
            )
        return self


class ComplaintSettings(CaseSettings):
    """Complaints and appeals: how long a case may stay open, and when it is escalated."""

    _KIND: ClassVar[str] = "complaints"
    _OPENED: ClassVar[str] = "filed"

    sla_days: int = Field(
        default=15, ge=1, le=365, description="Days from filing by which a case must be resolved."
    )
    reversal_days: int = Field(
        default=90,
        ge=1,
        le=365,
        description="How long the manual override reversing a decision lasts, unless the "
        "agent says otherwise.",
    )


class HardshipSettings(CaseSettings):
    """Hardship cases: how long one may stay open, and when it is escalated."""

    _KIND: ClassVar[str] = "hardship"

    sla_days: int = Field(
        default=10, ge=1, le=365, description="Days from opening by which a case must be closed."
    )
    escalate_before_days: int = Field(
        default=2,
        ge=0,
        le=364,
        description="Escalate an open case this many days before its deadline (and again once "
        "it is overdue).",
    )


class RemedySettings(BaseModel):
    """Remedies when a restriction is reversed: how each is computed from the borrower's
    events, which need a second person's approval, and where approved ones are exported
    (docs/remedies.md)."""

    currency: str = Field(
        default="CNY", pattern=r"^[A-Z]{3}$", description="ISO 4217 code of every remedy amount."
    )
    auto_approve_up_to: float = Field(
        default=100.0,
        ge=0,
        allow_inf_nan=False,
        description="A remedy of at most this amount is approved at once; above it a second "
        "person approves it (approvals kind 'remedy').",
    )
    failed_debit_fee: float = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="The lender's fee for one failed auto-debit (events carry none); refunded "
        "per failed attempt during a reversed restriction. 0: no fee is charged.",
    )
    failed_debit_penalty_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Penalty charged on a failed auto-debit, as a fraction of the attempted "
        "amount; refunded like the fee.",
    )
    early_repayment_interest_rate: float = Field(
        default=0.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Yearly interest rate refunded on instalments the borrower could not "
        "repay early while early repayment was restricted. 0: nothing is refunded.",
    )
    late_mark_dpd: int = Field(
        default=30,
        ge=1,
        le=365,
        description="Days past due at which the credit bureau records a late mark; a mark "
        "made during a reversed restriction gets a correction request.",
    )
    ledger_webhook_url: str | None = Field(
        default=None,
        description="Where approved remedies are POSTed for the lender's ledger (http or "
        "https); unset: they wait in the remedies table, not exported.",
    )
    ledger_webhook_secret: SecretStr | None = Field(
        default=None, description="Shared secret signing the ledger webhook (HMAC-SHA256)."
    )
    ledger_webhook_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long one ledger webhook attempt may take."
    )
    export_every_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often 'repayguard worker' retries ledger exports that failed (backoff "
        "as notices.backoff_*).",
    )

    @model_validator(mode="after")
    def _ledger_is_reachable(self) -> RemedySettings:
        if self.ledger_webhook_url is None:
            return self
        if not self.ledger_webhook_url.startswith(("http://", "https://")):
            raise ValueError("REPAYGUARD_REMEDIES__LEDGER_WEBHOOK_URL must be http or https")
        if (
            self.ledger_webhook_secret is None
            or len(self.ledger_webhook_secret.get_secret_value()) < 16
        ):
            raise ValueError(
                "the ledger webhook needs REPAYGUARD_REMEDIES__LEDGER_WEBHOOK_SECRET "
                "(16+ characters) to sign what it sends"
            )
        return self


class MonitoringSettings(BaseModel):
    """Portfolio monitoring: how the metrics' sliding windows are kept current
    (docs/monitoring.md), the thresholds detectors run on, how often, and where incident
    alerts are sent (docs/incidents.md)."""

    refresh_seconds: float = Field(
        default=30.0,
        ge=0,
        description="A snapshot made stale by new events or decisions is recomputed on the "
        "next read at most this often (0: on every read after a change).",
    )
    thresholds_path: Path | None = Field(
        default=None, description="A thresholds YAML file replacing the shipped one."
    )
    detect_every_seconds: float = Field(
        default=3_600.0, gt=0, description="How often 'repayguard worker' runs the detectors."
    )
    alert_webhooks: list[str] = Field(
        default_factory=list,
        description="URLs every new incident is POSTed to (JSON, signed like notices).",
    )
    alert_secret: SecretStr | None = Field(
        default=None, description="Shared secret signing incident alerts (HMAC-SHA256)."
    )
    alert_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long one alert attempt may take."
    )
    alert_retry_every_seconds: float = Field(
        default=60.0, gt=0, description="How often the worker retries alerts that failed."
    )

    @model_validator(mode="after")
    def _alerts_are_signed(self) -> MonitoringSettings:
        for url in self.alert_webhooks:
            if not url.startswith(("http://", "https://")) or len(url) > 500:
                raise ValueError(
                    "REPAYGUARD_MONITORING__ALERT_WEBHOOKS: each must be an http or https URL "
                    "of at most 500 characters"
                )
        if self.alert_webhooks and (
            self.alert_secret is None or len(self.alert_secret.get_secret_value()) < 16
        ):
            raise ValueError(
                "incident alert webhooks need REPAYGUARD_MONITORING__ALERT_SECRET "
                "(16+ characters) to sign what they send"
            )
        return self


class IngestionSettings(BaseModel):
    """Events coming in: the time window an event may plausibly have occurred in, and how
    long rejected records stay in quarantine."""

    max_future_seconds: int = Field(
        default=300,
        ge=0,
        le=86_400,
        description="How far ahead of the server clock an event's occurred_at may be (skew).",
    )
    oldest_event_days: int = Field(
        default=3650, ge=1, le=36_500, description="How old an event's occurred_at may be."
    )
    quarantine_retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days a rejected record is kept for resending."
    )
    quarantine_expiry_every_seconds: int = Field(
        default=3600,
        ge=1,
        le=86_400,
        description="How often the worker deletes quarantined records past their retention.",
    )


class OverlaySettings(BaseModel):
    """Emergency overlays: how often the worker ends overlays past their expiry or review
    deadline, and whether a detector's incident arms matching playbooks."""

    expire_every_seconds: int = Field(
        default=60, ge=1, le=3600, description="How often the worker looks for overdue overlays."
    )
    arm_on_incidents: bool = Field(
        default=True,
        description="Arm approved playbooks whose arm_on matches a "
        "repayguard.monitoring.incident_opened message.",
    )


class SchedulerSettings(BaseModel):
    """The worker running timed transitions ('repayguard worker')."""

    poll_seconds: float = Field(
        default=5.0, gt=0, description="How often an idle worker looks for due jobs."
    )
    lease_seconds: float = Field(
        default=120.0,
        ge=5,
        description="How long a job's lease lasts unless renewed; a crashed worker's job is "
        "taken over after it.",
    )
    activate_every_seconds: float = Field(
        default=60.0, gt=0, description="How often restrictions past their notice period go live."
    )
    review_every_seconds: float = Field(
        default=300.0, gt=0, description="How often due reviews and expiries are handled."
    )
    deliver_every_seconds: float = Field(
        default=30.0, gt=0, description="How often due notice deliveries are (re)tried."
    )
    cadence_every_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How often the worker looks for borrowers due for re-decision on the "
        "policy's evaluation cadence (and for the whole-book run).",
    )
    batch_size: int = Field(
        default=500, ge=1, le=10_000, description="Borrowers or deliveries per transaction."
    )
    in_server: bool = Field(
        default=True,
        description="'repayguard serve' runs the jobs too, in a thread (with the in-process "
        "bus, the server's authorize view then sees every change the jobs make).",
    )


class FairnessSettings(BaseModel):
    """Which borrower attributes every policy comparison breaks restriction rates down by."""

    protected_attributes: list[str] = Field(
        default_factory=lambda: ["age_band", "region"],
        description="Group columns compared (age_band and region come from borrower "
        "profiles; others from an attributes file given to the command).",
    )
    max_disparity_ratio: float = Field(
        default=1.25,
        gt=1.0,
        description="A group restricted more than this many times as often as the least "
        "restricted group of its attribute is warned about.",
    )


class TelemetrySettings(BaseModel):
    """Prometheus metrics: who may scrape ``GET /metrics``, and the worker's own endpoint."""

    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token a scraper must send to GET /metrics; unset: /metrics answers "
        "only on a server bound to a loopback address.",
    )
    worker_port: int | None = Field(
        default=None,
        ge=1,
        le=65_535,
        description="Port on 127.0.0.1 where 'repayguard worker' serves /metrics; unset: none.",
    )

    @model_validator(mode="after")
    def _token_long_enough(self) -> Self:
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 16:
            raise ValueError("REPAYGUARD_TELEMETRY__METRICS_TOKEN must be at least 16 characters")
        return self


_RATE_CLASSES: Final = ("authorize", "api", "login")
_RATE_STORAGES: Final = ("memory", "redis", "rediss", "redis+unix")


class RateLimitSettings(BaseModel):
    """Per-caller API rate limits (api/ratelimit.py): a budget per token for authorize and for
    the rest of the API, per client address for password logins. A limit reads like
    ``1000/second``, ``30/minute`` or ``500 per 10 seconds``."""

    enabled: bool = Field(
        default=True,
        description="Limit callers (only while security.auth is 'required': a local trial "
        "with access control off has no callers to tell apart).",
    )
    storage_uri: str = Field(
        default="memory://",
        description="Where the counts live: memory:// (each process its own), or "
        "redis://host:port/db (every replica sharing one Redis shares each budget).",
    )
    strategy: Literal["fixed-window", "moving-window"] = Field(
        default="fixed-window",
        description="fixed-window: one counter per window, aligned to the clock (one storage "
        "call a request); moving-window: the last N calls' times (smoother, several times the "
        "cost).",
    )
    authorize: str = Field(
        default="1000/second", description="Each token's POST /v1/authorize budget."
    )
    api: str = Field(
        default="100/second",
        description="Each token's budget for every other route that needs a token (the "
        "console included).",
    )
    login: str = Field(
        default="30/minute",
        description="Each client address's budget for POST /v1/sessions and POST /console/login.",
    )
    overrides: dict[str, dict[Literal["authorize", "api"], str]] = Field(
        default_factory=dict,
        description="Budgets of particular tokens, by token id: "
        '{"<token id>": {"authorize": "5000/second"}}.',
    )
    storage_timeout_seconds: float = Field(
        default=0.1,
        gt=0,
        le=5,
        description="How long a call to Redis may take before the limit is skipped (fail open).",
    )
    storage_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="After Redis failed, how long calls go unlimited before it is tried again.",
    )

    @model_validator(mode="after")
    def _limits_readable(self) -> Self:
        named = [(f"REPAYGUARD_RATE_LIMIT__{n.upper()}", getattr(self, n)) for n in _RATE_CLASSES]
        named += [
            (f"REPAYGUARD_RATE_LIMIT__OVERRIDES[{token!r}][{cls!r}]", text)
            for token, limits in self.overrides.items()
            for cls, text in limits.items()
        ]
        for name, text in named:
            try:
                parse_rate_limit(text)
            except ValueError:
                raise ValueError(
                    f"{name} is {text!r}, not a rate limit; write it like '1000/second', "
                    "'30/minute' or '500 per 10 seconds'"
                ) from None
        scheme = urlsplit(self.storage_uri).scheme
        if scheme not in _RATE_STORAGES:
            raise ValueError(
                f"REPAYGUARD_RATE_LIMIT__STORAGE_URI has the scheme {scheme!r}; use memory:// "
                "or redis://host:port/db (also rediss://, redis+unix://)"
            )
        return self


class SparkSettings(BaseModel):
    """The distributed batch driver (``repayguard decide --all --engine spark``)."""

    master: str = Field(
        default="local[2]",
        min_length=1,
        description="Spark master URL: local[N] on this machine, spark://host:7077 or "
        "yarn/k8s://… for a cluster.",
    )
    partitions: int = Field(
        default=8, ge=1, le=100_000, description="Borrower partitions the book is split into."
    )


class Settings(BaseSettings):
    """Everything repayguard reads from its environment, validated at start-up."""

    # A refused setting is reported without its value: it may be a secret (an API key, a
    # password, the webhook's signing secret).
    model_config = SettingsConfigDict(
        env_prefix="REPAYGUARD_",
        env_nested_delimiter="__",
        extra="forbid",
        hide_input_in_errors=True,
    )

    env: Literal["development", "test", "production"] = Field(
        default="development", description="production refuses development secrets."
    )
    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR, description="Folder for the SQLite file and artefacts."
    )
    log_format: Literal["json", "console"] | None = Field(
        default=None,
        description="Log lines as JSON or as readable text; unset: JSON in production, "
        "text elsewhere.",
    )
    access_log: Literal["all", "framework", "off"] = Field(
        default="framework",
        description="One log line per API request: 'framework' (every request except the "
        "authorize calls the fast path answers, which metrics count), 'all' or 'off'.",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    ingestion: IngestionSettings = Field(default_factory=IngestionSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    decisions: DecisionSettings = Field(default_factory=DecisionSettings)
    entitlements: EntitlementSettings = Field(default_factory=EntitlementSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    notices: NoticeSettings = Field(default_factory=NoticeSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    approvals: ApprovalSettings = Field(default_factory=ApprovalSettings)
    complaints: ComplaintSettings = Field(default_factory=ComplaintSettings)
    fairness: FairnessSettings = Field(default_factory=FairnessSettings)
    hardship: HardshipSettings = Field(default_factory=HardshipSettings)
    remedies: RemedySettings = Field(default_factory=RemedySettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    overlays: OverlaySettings = Field(default_factory=OverlaySettings)
    spark: SparkSettings = Field(default_factory=SparkSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)

    @model_validator(mode="after")
    def _no_development_secrets_in_production(self) -> Settings:
        secret = self.security.secret_key.get_secret_value()
        if self.env == "production" and secret == _DEVELOPMENT_SECRET:
            raise ValueError(
                "REPAYGUARD_SECURITY__SECRET_KEY is the development default; set a secret of "
                "your own (32+ random characters) before running with REPAYGUARD_ENV=production"
            )
        if self.env == "production" and self.security.auth != "required":
            raise ValueError("REPAYGUARD_SECURITY__AUTH must be 'required' in production")
        if self.env == "production" and len(secret) < 32:
            raise ValueError("REPAYGUARD_SECURITY__SECRET_KEY must be at least 32 characters")
        return self

    @model_validator(mode="after")
    def _no_development_overrides_in_production(self) -> Settings:
        # In production only a version published through maker-checker decides: a file on
        # disk would change borrowers' methods with nobody's approval.
        if self.env == "production":
            for setting in ("policy_path", "bands_path"):
                if getattr(self.decisions, setting) is not None:
                    raise ValueError(
                        f"REPAYGUARD_DECISIONS__{setting.upper()} is a development override and "
                        "is refused in production; publish the policy through maker-checker "
                        "('repayguard policy submit FILE', 'repayguard policy publish DRAFT "
                        "--as YOU', then a second person's 'repayguard approvals approve')"
                    )
        return self

    @property
    def database_url(self) -> str:
        """The database URL in effect (the SQLite default lives in the data directory)."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'repayguard.db').as_posix()}"

    @property
    def history_cache_dir(self) -> Path | None:
        """Where whole-book runs keep the columnar history cache (None: not kept)."""
        return self.data_dir / "history-cache" if self.decisions.history_cache else None
