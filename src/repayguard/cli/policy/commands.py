"""``repayguard policy``: check, evaluate, explain, diff and preview policies; submit, publish.

A policy is named by a YAML file, or by ``NAME@VERSION`` / ``NAME@latest`` for a published
version (read from the database). Commands that only read files need no database.
Exit codes (``repayguard.cli.exits``): 0 done, 1 the policy or some input lines have
problems, 2 usage, 3 a refused command, 4 the database does not answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from repayguard.cli.exits import FINDINGS
from repayguard.cli.policy.common import PolicyArg, json_arg, maybe_db, policy_ref, read
from repayguard.cli.policy.jdm import add_jdm_commands
from repayguard.cli.policy.store import add_store_commands
from repayguard.cli.shared import AsJson, DataDir, friendly

policy_app = typer.Typer(
    name="policy",
    help="Repayment-method policies: check, evaluate, explain, diff, preview; submit, publish.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


@policy_app.command()
@friendly
def check(
    file: Annotated[Path, typer.Argument(help="Policy YAML.")], as_json: AsJson = False
) -> None:
    """Run every static check: schema, types, unreachable rows, gaps, guardrails G1 G2 G4."""
    from repayguard.cli.output import console
    from repayguard.cli.policy.views import problems_table
    from repayguard.policies import check_text, profiles
    from repayguard.policies.sources import content_hash_of

    result = check_text(read(file), profiles=profiles())
    if as_json:
        typer.echo(
            json.dumps(
                {"valid": result.valid, "problems": [p.as_dict() for p in result.problems]},
                ensure_ascii=False,
            )
        )
    elif result.valid and result.policy is not None:
        p = result.policy
        console.print(
            f"[bold green]✓ {file} is valid:[/bold green] {p.name}, {len(p.rows)} rows, hit policy "
            f"{p.hit_policy}, jurisdiction {p.jurisdiction}, content hash "
            f"{content_hash_of(p)[:16]}…"
        )
    else:
        console.print(
            problems_table(result.problems, title=f"{file}: {len(result.problems)} problem(s)")
        )
    if not result.valid:
        raise typer.Exit(FINDINGS)


@policy_app.command()
@friendly
def schema(
    out: Annotated[
        Path | None, typer.Option(help="Write to this file instead of printing.")
    ] = None,
) -> None:
    """Print the JSON Schema of policy documents (for editor completion)."""
    from repayguard.core.policy import policy_json_schema

    text = json.dumps(policy_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


@policy_app.command("eval")
@friendly
def eval_command(
    file: Annotated[Path, typer.Argument(help="Policy YAML, or a graph from import-jdm.")],
    input_path: Annotated[Path, typer.Option("--input", help="JSONL: one input object per line.")],
    out: Annotated[Path, typer.Option("--out", help="JSONL: one decision per line, same order.")],
    as_json: AsJson = False,
) -> None:
    """Decide every line of a JSONL file; bad lines are reported and the rest still decided.

    FILE may also be a decision graph imported with ``import-jdm``: each output line is then
    the graph's result for that input line."""
    from repayguard.cli.output import progress_bar
    from repayguard.cli.policy.eval import evaluate_file, print_outcome
    from repayguard.cli.policy.jdm import eval_graph, graph_document_of
    from repayguard.policies import compile_checked, load_policy_text, profiles

    text = read(file)
    graph = graph_document_of(text)
    if graph is not None:
        eval_graph(graph, input_path, out, as_json=as_json)
        return
    known = profiles()
    policy = load_policy_text(text, profiles=known)
    compiled = compile_checked(policy, profiles=known)
    with input_path.open("rb") as counting:
        total = sum(1 for _ in counting)
    with progress_bar("Evaluating", total, "lines", quiet=as_json) as bar:
        report = evaluate_file(compiled, input_path, out, on_progress=bar.advance)
    print_outcome(
        report,
        f"{report.decided:,} of {report.lines:,} lines decided into {out}",
        as_json=as_json,
        out=out,
    )


@policy_app.command()
@friendly
def explain(
    policy: PolicyArg,
    input_json: Annotated[str, typer.Option("--input", help='Inputs as JSON: {"tier": "T5"}.')],
    current: Annotated[
        str | None, typer.Option(help="Current method states as JSON (resolves keep rows).")
    ] = None,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Show how one input is decided: each row and cell, the outcome, what would change it."""
    from repayguard.cli.output import console
    from repayguard.cli.policy.views import trace_tables
    from repayguard.policies import ExplainInputs, explain_inputs, profiles

    cmd = ExplainInputs(
        policy_ref(policy),
        json_arg(input_json, "--input"),
        json_arg(current, "--current") if current else None,
    )
    with maybe_db((cmd.policy,), data_dir) as uow:
        trace = explain_inputs(cmd, uow=uow, profiles=profiles())
    if as_json:
        typer.echo(json.dumps(trace.as_dict(), ensure_ascii=False))
        return
    for table in trace_tables(trace):
        console.print(table)
    out, applied = trace.outcome, trace.applied
    reasons = ", ".join(out["reasons"]) or "-"
    console.print(
        f"Decided by [bold]{out['rule_id']}[/bold]: auto-debit {applied['auto_debit']}, "
        f"early repayment {applied['early_repayment']}, manual {applied['manual']} "
        f"({', '.join(applied['manual_channels'])}); reasons {reasons}"
    )
    if trace.guardrail:
        console.print(f"[bold yellow]guardrail:[/bold yellow] {trace.guardrail}")


@policy_app.command()
@friendly
def diff(
    before: PolicyArg,
    after: PolicyArg,
    as_json: AsJson = False,
    data_dir: DataDir = None,
) -> None:
    """Show added, removed, changed and moved rows and every changed field from A to B."""
    from repayguard.cli.output import console
    from repayguard.cli.policy.views import diff_tables
    from repayguard.policies import DiffPolicies, profiles
    from repayguard.policies import diff as diff_policies

    cmd = DiffPolicies(policy_ref(before), policy_ref(after))
    with maybe_db((cmd.before, cmd.after), data_dir) as uow:
        found = diff_policies(cmd, uow=uow, profiles=profiles())
    if as_json:
        typer.echo(json.dumps(found.as_dict(), ensure_ascii=False, default=str))
        return
    if found.empty:
        console.print("No differences.")
        return
    counts = found.counts()
    console.print(
        f"{before} → {after}: {counts['added']} added, {counts['removed']} removed, "
        f"{counts['changed']} changed, {counts['moved']} moved row(s)."
    )
    for table in diff_tables(found):
        console.print(table)


add_store_commands(policy_app)
add_jdm_commands(policy_app)
