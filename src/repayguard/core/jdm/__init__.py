"""GoRules JDM decision graphs: import (all or nothing), evaluation row-wise and in batch,
the stored YAML form, and export back to JDM. See docs/jdm.md."""

from __future__ import annotations

from repayguard.core.jdm.batch import evaluate_frame
from repayguard.core.jdm.document import (
    GraphDocument,
    canonical_hash,
    dump_document,
    graph_to_jdm,
    is_graph_document,
)
from repayguard.core.jdm.errors import GraphEvaluationError, GraphRefused, Refusal
from repayguard.core.jdm.importer import ImportedGraph, import_graph
from repayguard.core.jdm.model import JdmGraph
from repayguard.core.jdm.reader import parse_graph
from repayguard.core.jdm.rowwise import evaluate
from repayguard.core.jdm.stored import load_graph_document

__all__ = [
    "GraphDocument",
    "GraphEvaluationError",
    "GraphRefused",
    "ImportedGraph",
    "JdmGraph",
    "Refusal",
    "canonical_hash",
    "dump_document",
    "evaluate",
    "evaluate_frame",
    "graph_to_jdm",
    "import_graph",
    "is_graph_document",
    "load_graph_document",
    "parse_graph",
]
