"""Load a stored decision-graph document: check its hash, then import its graph again."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from repayguard.rules.jdm.document import GraphDocument, document_meta, read_document
from repayguard.rules.jdm.importer import ImportedGraph, import_graph


def load_graph_document(data: Mapping[str, Any]) -> tuple[ImportedGraph, GraphDocument]:
    """The imported graph and metadata of a parsed decision-graph document (YAML loaded).

    Raises GraphRefused when the document is not one, its graph no longer matches its content
    hash, or the graph does not import (e.g. written by a newer repayguard)."""
    imported = import_graph(read_document(data))
    return imported, document_meta(data, imported.graph)
