"""YAML parsing with a bound on nesting: a hostile document cannot exhaust the parser's
recursion (a policy is a few levels deep; 64 is far beyond any real document)."""

from __future__ import annotations

from typing import Any, Final

import yaml
from yaml.composer import ComposerError
from yaml.nodes import Node

MAX_DEPTH: Final = 64


class _BoundedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a document nested deeper than ``MAX_DEPTH``."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(
                    None,
                    None,
                    f"the document is nested deeper than {MAX_DEPTH} levels",
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` of ``text``, refusing (``yaml.YAMLError``) nesting deeper than
    ``MAX_DEPTH`` instead of recursing until the interpreter gives up."""
    return yaml.load(text, Loader=_BoundedLoader)
