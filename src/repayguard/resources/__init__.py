"""Shipped data documents (models, tier bands, policies) and the one helper that reads them.

Resources are data, not code: the decision core takes their text, never a path, so this small
I/O helper lives here, outside ``repayguard.core``.
"""

from __future__ import annotations

from importlib import resources

__all__ = ["read_text"]


def read_text(relative_path: str) -> str:
    """The UTF-8 text of a shipped resource, e.g. ``read_text("policies/cn-default.yaml")``."""
    parts = [p for p in relative_path.replace("\\", "/").split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise ValueError(f"not a resource path: {relative_path!r}")
    node = resources.files(__name__)
    for part in parts:
        node = node.joinpath(part)
    if not node.is_file():
        raise FileNotFoundError(f"no shipped resource {relative_path!r}")
    return node.read_text(encoding="utf-8")
