"""Settings for CLI commands: the environment, the command's options, one-shot wiring."""

from __future__ import annotations

from pathlib import Path

from repayguard.config import Settings


def load_settings(data_dir: Path | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with the command's own options on top."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    if overrides:
        settings = settings.model_copy(update=overrides)
    return settings


def one_shot(settings: Settings, *, online: bool = False) -> Settings:
    """Settings for a one-shot command: the relay runs in the caller (no background thread),
    online deciding only when asked."""
    return settings.model_copy(
        update={
            "bus": settings.bus.model_copy(update={"relay": "inline"}),
            "decisions": settings.decisions.model_copy(update={"online": online}),
        }
    )
