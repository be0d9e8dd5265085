"""``repayguard policy import-jdm`` / ``export-jdm``, and ``policy eval`` on imported graphs.

A GoRules JDM graph is imported into a repayguard decision-graph document (YAML, with a content
hash) that ``policy eval`` evaluates like a policy; a policy's decision table is exported as a
JDM graph the GoRules editor opens. See docs/jdm.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from repayguard.cli.exits import FINDINGS
from repayguard.cli.policy.common import PolicyArg, maybe_db, policy_ref, read
from repayguard.cli.policy.eval import EvalReport, evaluate_lines, print_outcome
from repayguard.cli.shared import DataDir, friendly
from repayguard.core.policy.safe_yaml import load_yaml
from repayguard.errors import InvalidInput, RepayguardError
from repayguard.policies.errors import GraphNotImported

if TYPE_CHECKING:
    from rich.table import Table

    from repayguard.rules.jdm import GraphDocument, ImportedGraph, Refusal

_PROGRESS_EVERY = 2_000
_KIND_LABELS = {
    "inputNode": "input",
    "outputNode": "output",
    "decisionTableNode": "decision table",
    "expressionNode": "expression",
    "switchNode": "switch",
}


def refusals_table(refusals: tuple[Refusal, ...], *, title: str) -> Table:
    """Each reason a graph was refused: the node, the place, the text, the construct."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("node")
    table.add_column("where")
    table.add_column("cell or expression", overflow="fold")
    table.add_column("problem", overflow="fold")
    for r in refusals:
        node = f"{r.node_name!r}\n[dim]{r.node_id}[/dim]" if r.node_id is not None else "-"
        problem = r.construct + (f"\n[bold]what to do:[/bold] {r.hint}" if r.hint else "")
        table.add_row(node, r.where or "-", r.source or "-", problem)
    return table


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "graph"


def _read_jdm(path: Path) -> tuple[dict[str, Any], bytes]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RepayguardError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"{path} is not JSON: {exc}",
            hint="give the .json file the GoRules editor exports (Download JSON)",
        ) from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"{path} is not a JDM graph (a JSON object with nodes and edges)")
    return document, raw


def graph_document_of(text: str) -> tuple[ImportedGraph, GraphDocument] | None:
    """The imported graph a YAML text holds, or None when the text is not a decision-graph
    document (then it is a policy). A graph document that does not load is refused."""
    from repayguard.rules.jdm import GraphRefused, is_graph_document, load_graph_document

    try:
        data = load_yaml(text)
    except yaml.YAMLError:
        return None
    if not is_graph_document(data):
        return None
    try:
        return load_graph_document(data)
    except GraphRefused as refused:
        raise GraphNotImported(
            str(refused).splitlines()[0],
            hint="import the JDM file again with 'repayguard policy import-jdm'",
            refusals=[r.as_dict() for r in refused.refusals],
        ) from refused


def evaluate_graph_file(
    graph: ImportedGraph,
    source: Path,
    target: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> EvalReport:
    """Write the graph's result for each input line to ``target``, in order: exactly the
    object (or list) zen-engine returns as ``result``. A line that is not a JSON object, or on
    which the graph fails, becomes ``{"line": n, "error": ...}`` in its place."""
    from repayguard.rules.jdm import evaluate

    return evaluate_lines(
        source,
        target,
        lambda _number, request: evaluate(graph, request),
        every=_PROGRESS_EVERY,
        on_progress=on_progress,
    )


def eval_graph(
    loaded: tuple[ImportedGraph, GraphDocument],
    input_path: Path,
    out: Path,
    *,
    as_json: bool = False,
) -> None:
    """``policy eval`` on a decision-graph document, with a progress bar and a summary."""
    from repayguard.cli.output import progress_bar

    graph, meta = loaded
    try:
        with input_path.open("rb") as counting:
            total = sum(1 for _ in counting)
    except OSError as exc:
        raise RepayguardError(
            f"cannot read {input_path}: {exc.strerror}",
            hint="give a JSONL file: one JSON object of inputs per line",
        ) from exc
    with progress_bar(f"Evaluating {meta.name}", total, "lines", quiet=as_json) as bar:
        report = evaluate_graph_file(graph, input_path, out, on_progress=bar.advance)
    print_outcome(
        report,
        f"{report.decided:,} of {report.lines:,} lines evaluated into {out} "
        f"(graph {meta.name}, content hash {meta.content_hash[:16]}…)",
        as_json=as_json,
        out=out,
    )


def import_jdm(
    graph_file: Annotated[Path, typer.Argument(help="A GoRules JDM graph (.json).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the graph document into.")],
    name: Annotated[
        str | None, typer.Option(help="Name of the graph (default: from the file name).")
    ] = None,
) -> None:
    """Import a GoRules JDM graph; refused whole, with every reason, if any part is unsupported."""
    from repayguard.cli.output import console, errors
    from repayguard.rules.jdm import GraphRefused, dump_document, import_graph

    document, raw = _read_jdm(graph_file)
    try:
        imported = import_graph(document)
    except GraphRefused as refused:
        console.print(
            refusals_table(
                refused.refusals, title=f"{graph_file}: {len(refused.refusals)} problem(s)"
            )
        )
        errors.print(
            f"[bold red]error:[/bold red] {graph_file} was not imported: repayguard imports a "
            "graph only when it can evaluate every part of it exactly as zen-engine does."
        )
        errors.print(
            "[bold]what to do:[/bold] change the parts listed above in the GoRules editor and "
            "import again (docs/jdm.md lists what is supported)."
        )
        raise typer.Exit(FINDINGS) from refused
    graph_name = _slug(name or graph_file.stem)
    text = dump_document(
        imported.graph,
        name=graph_name,
        source_file=graph_file.name,
        source_sha256=hashlib.sha256(raw).hexdigest(),
    )
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{graph_name}.yaml"
    target.write_text(text, encoding="utf-8")
    kinds: dict[str, int] = {}
    for node in imported.graph.nodes:
        label = _KIND_LABELS.get(node.kind, node.kind)
        kinds[label] = kinds.get(label, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    content_hash = load_yaml(text)["content_hash"]
    console.print(
        f"[bold green]✓ imported[/bold green] {graph_file} as {graph_name!r} into {target}: "
        f"{summary}; content hash {content_hash[:16]}…"
    )
    console.print(f"Evaluate it: repayguard policy eval {target} --input IN.jsonl --out OUT.jsonl")


def export_jdm(
    policy: PolicyArg,
    out: Annotated[Path, typer.Option("--out", help="The JDM graph file to write (.json).")],
    data_dir: DataDir = None,
) -> None:
    """Export a policy's decision table (or an imported graph) as a GoRules JDM graph."""
    from repayguard.cli.output import console
    from repayguard.core.policy.jdm import to_jdm
    from repayguard.policies import profiles, resolve
    from repayguard.rules.jdm import graph_to_jdm

    path = Path(policy)
    loaded = graph_document_of(read(path)) if path.exists() else None
    if loaded is not None:
        graph, meta = loaded
        document = graph_to_jdm(graph.graph)
        what = f"graph {meta.name!r}"
    else:
        ref = policy_ref(policy)
        known = profiles()
        with maybe_db((ref,), data_dir) as uow:
            if uow is None:
                found = resolve(ref, session=None, profiles=known)
            else:
                with uow:
                    found = resolve(ref, session=uow.session, profiles=known)
        document = to_jdm(found)
        what = f"policy {found.name!r} ({found.hit_policy}, {len(found.rows)} rows)"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(
        f"[bold green]✓ exported[/bold green] {what} to {out}; open it in the GoRules editor "
        "or evaluate it with zen-engine."
    )


def add_jdm_commands(app: typer.Typer) -> None:
    """Register ``import-jdm`` and ``export-jdm`` on the ``policy`` command group."""
    app.command("import-jdm")(friendly(import_jdm))
    app.command("export-jdm")(friendly(export_jdm))
