"""Settings: one validated object, read from the environment (prefix ``REPAYGUARD_``).

Nested groups use a double underscore: ``REPAYGUARD_DATABASE__URL``,
``REPAYGUARD_BUS__KIND``. The decision core never reads settings; entry points build a
:class:`Settings` and pass what each part needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".repayguard")
_DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"


class DatabaseSettings(BaseModel):
    """Where decisions, entitlements and events are stored."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: a SQLite file repayguard.db in the data directory.",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")


class BusSettings(BaseModel):
    """How committed events leave the outbox."""

    kind: Literal["memory"] = Field(
        default="memory", description="'memory': in-process bus (the embedded default)."
    )
    relay: Literal["background", "inline"] = Field(
        default="background",
        description="'background': a relay thread publishes after commit; 'inline': the "
        "committing call publishes before it returns (deterministic, for tests and scripts).",
    )


class SecuritySettings(BaseModel):
    """Keys and access control; the development defaults are refused when env is production."""

    auth: Literal["required", "off"] = Field(
        default="required",
        description="'required': every API call but /healthz needs a token; 'off' only for a "
        "local trial on loopback (refused in production).",
    )
    token_cache_seconds: float = Field(
        default=30.0, ge=0, description="How long a resolved token is trusted without a lookup."
    )
    secret_key: SecretStr = Field(
        default=SecretStr(_DEVELOPMENT_SECRET),
        description="Key for keyed pseudonyms and signatures (32+ characters).",
    )
    data_keys_file: Path | None = Field(
        default=None,
        description="Keyring file encrypting personal data; default: <data dir>/keys/"
        "data-keys.json (created on first use outside production).",
    )
    data_keys: SecretStr | None = Field(
        default=None, description="The keyring as a JSON document (wins over the file)."
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


class DecisionSettings(BaseModel):
    """Which policy, model and tier bands drive decisions."""

    policy_path: Path | None = Field(
        default=None, description="Policy YAML; default: the shipped CN consumer-credit policy."
    )
    model_path: Path | None = Field(
        default=None, description="Points-table model JSON; default: the shipped expert model."
    )
    bands_path: Path | None = Field(
        default=None, description="Tier bands document; default: the shipped bands."
    )
    history_days: int = Field(
        default=200, ge=1, description="Days of event history read for one decision."
    )
    online: bool = Field(
        default=True, description="Re-decide affected borrowers after each ingested batch."
    )


class Settings(BaseSettings):
    """Everything repayguard reads from its environment, validated at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="REPAYGUARD_", env_nested_delimiter="__", extra="forbid"
    )

    env: Literal["development", "test", "production"] = Field(
        default="development", description="production refuses development secrets."
    )
    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR, description="Folder for the SQLite file and artefacts."
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    decisions: DecisionSettings = Field(default_factory=DecisionSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)

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

    @property
    def database_url(self) -> str:
        """The database URL in effect (the SQLite default lives in the data directory)."""
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.data_dir / 'repayguard.db').as_posix()}"
