"""The ``kgkit`` command line: a thin typer layer over :class:`kgkit.api.KnowledgeGraph`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from kgkit.cli import embed, extract, fuse, llm, neo4j, reason, viz
from kgkit.cli.common import PipelineOpt, StoreOpt, WorkdirOpt, console, fail, open_graph

app = typer.Typer(
    name="kgkit",
    help="Turn folders of documents into a knowledge graph and reason over it.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
eval_app = typer.Typer(help="Evaluate extraction, fusion, embeddings and question answering.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@app.command()
def ingest(
    folder: Path = typer.Argument(..., help="Folder of documents (.txt, .md, .html, .pdf)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Read and chunk, estimate extraction cost, write nothing."),
    budget: Optional[int] = typer.Option(None, "--budget", help="Hard token budget for LLM extraction; the run stops before crossing it."),
    fuse_: Optional[bool] = typer.Option(None, "--fuse/--no-fuse", help="Run the fusion stage afterwards (default: as the pipeline says)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    max_bytes: Optional[int] = typer.Option(None, "--max-bytes", help="Skip (and report) files larger than this (default: the pipeline's ingest.max_bytes)."),
    follow_symlinks: Optional[bool] = typer.Option(None, "--follow-symlinks/--no-follow-symlinks", help="Follow symlinks that point outside the folder (default: no; they are reported)."),
    executor: Optional[str] = typer.Option(None, "--executor", help="Where extraction runs: local or ray (default: the pipeline's ingest.executor, else local)."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster for --executor ray: auto or ray://host:10001 (default: start a local Ray)."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Ray extraction workers (default 2); each loads the extractor once."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """Ingest a folder: unchanged files cost nothing, changed and deleted files are retracted."""
    if not folder.is_dir():
        fail(f"{folder} is not a folder; pass the folder of documents to ingest (e.g. data/sample)")
    if (address is not None or workers is not None) and executor != "ray":
        fail("--address and --workers choose the Ray cluster; add --executor ray")
    overrides = {"budget_tokens": budget} if budget is not None else {}
    executor_opts: dict[str, Any] | None = None
    if executor is not None:
        executor_opts = {"name": executor, **({"address": address} if address else {}),
                         **({"workers": workers} if workers else {})}
    with open_graph(pipeline, store, workdir, extractor_overrides=overrides) as kg:
        report = kg.ingest(folder, dry_run=dry_run, progress=progress and sys.stderr.isatty(), fuse=fuse_,
                           max_bytes=max_bytes, follow_symlinks=follow_symlinks, executor=executor_opts)
        if json_out:
            sys.stdout.write(json.dumps(report.to_dict(), default=str, ensure_ascii=False) + "\n")
            return
        _print_ingest(report)
        if report.stopped:
            console.print(f"[yellow]stopped:[/] {report.stopped}")


def _print_ingest(r: Any) -> None:
    console.print(
        f"[bold]ingest[/] {r.root}: {r.scanned} files — {r.new} new, {r.changed} changed, "
        f"{r.unchanged} unchanged, {r.deleted} deleted; {r.processed} processed, {r.chunks} chunks, "
        f"{r.triples} facts, {r.mentions} mentions in {r.seconds:.1f}s"
    )
    by_kind = ", ".join(f"{n} {k}" for k, n in sorted(r.skipped_counts.items()))
    console.print(f"[bold]counts[/] processed {r.processed}, unchanged {r.unchanged}, "
                  f"skipped {sum(r.skipped_counts.values())}{f' ({by_kind})' if by_kind else ''}, failed {r.failed}")
    if r.fusion:
        f = r.fusion
        console.print(
            f"[bold]fuse[/] run {f.get('run_id')}: {f.get('entities_before')} -> {f.get('entities_after')} entities, "
            f"{f.get('conflicts')} conflicting functional facts resolved (see `kgkit fuse conflicts`; undo: `kgkit fuse undo`)"
        )
    if r.failed_chunks:
        console.print(f"[yellow]{r.failed_chunks} chunk(s) quarantined[/]: see them and re-run with `kgkit retry-failed`")
    from rich.text import Text

    # Paths and reasons are printed as plain text: a file name may contain rich markup like "[red]".
    for label, style, rows in (("skipped", "yellow", r.skipped), ("failed", "red", r.failed_documents), ("warning", "yellow", r.warnings)):
        for path, why in rows:
            console.print(Text.assemble((label, style), f" {path}: {why}"), highlight=False)
    if r.dry_run_estimate:
        console.print_json(json.dumps(r.dry_run_estimate))


@app.command()
def query(
    cypher: str = typer.Argument(..., help="A Cypher query. Use $name parameters and --param name=value."),
    param: list[str] = typer.Option([], "--param", "-p", help="Query parameter name=value (value parsed as JSON when possible)."),
    write: bool = typer.Option(False, "--write", help="Allow the query to modify the graph."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """Run a Cypher query (read-only unless --write)."""
    from kgkit.cli.output import print_rows

    params = _parse_params(param)
    if fmt not in ("table", "json", "csv"):
        fail(f"unknown --format {fmt!r}; use table, json or csv")
    with open_graph(pipeline, store, workdir) as kg:
        rows = kg.query(cypher, params, write=write)
    print_rows(rows, fmt)


def _parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.isidentifier():
            fail(f"--param {item!r} must look like name=value")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw
    return params


@app.command()
def stats(
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """Counts of documents, entities, facts and evidence, by type; facts are what the view shows
    (`kgkit ask`, export), rejected facts and candidate facts (`kgkit embed predict`) are counted apart."""
    from dataclasses import asdict

    from kgkit.cli.output import print_stats

    with open_graph(pipeline, store, workdir) as kg:
        s = kg.stats()
    if json_out:
        console.print_json(json.dumps(asdict(s)))
    else:
        print_stats(s)


@app.command()
def export(
    output: Path = typer.Argument(..., help="File to write."),
    fmt: str = typer.Option("ttl", "--format", "-f", help="ttl, nt, jsonld, csv, or a registered export format (kgkit plugins)."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
    audit: bool = typer.Option(False, "--audit", help="Include the facts fusion rejected and candidate facts (default: accepted facts only)."),
) -> None:
    """Export the graph as RDF (Turtle, N-Triples, JSON-LD) or CSV: the facts fusion accepted."""
    from kgkit.registry import exporters

    if fmt not in exporters:  # before any store is opened
        fail(str(exporters.unknown(fmt)))
    with open_graph(pipeline, store, workdir) as kg:
        n = kg.export(output, fmt, include="all" if audit else "accepted")
    console.print(f"wrote {n} facts to {output} ({fmt})")


@app.command("retry-failed")
def retry_failed_cmd(
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many chunks."),
    budget: Optional[int] = typer.Option(None, "--budget", help="Hard token budget for LLM extraction."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """Re-extract the chunks that failed (quarantined) in earlier ingest runs."""
    overrides = {"budget_tokens": budget} if budget is not None else {}
    with open_graph(pipeline, store, workdir, extractor_overrides=overrides) as kg:
        before = len(kg.ledger.failures())
        rep = kg.retry_failed(limit=limit)
    console.print(
        f"retried {rep.attempted} of {before} quarantined chunk(s): {rep.recovered} recovered "
        f"({rep.triples} facts), {rep.still_failing} still failing, {rep.dropped_stale} dropped (file changed)"
    )
    if rep.stopped:
        console.print(f"[yellow]stopped:[/] {rep.stopped}")


@app.command()
def failures(
    json_out: bool = typer.Option(False, "--json", help="Print JSON only: {skipped: [...], quarantined: [...]}."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """List the files that were skipped or failed (path, reason, fix) and the quarantined chunks."""
    from dataclasses import asdict

    with open_graph(pipeline, store, workdir) as kg:
        skipped = kg.ledger.skipped()
        items = kg.ledger.failures()
    if json_out:
        out = {"skipped": [asdict(s) for s in skipped], "quarantined": [asdict(f) for f in items]}
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        return
    if not skipped:
        console.print("no skipped or failed files")
    for s in skipped:
        fix = f" — fix: {s.fix}" if s.fix else ""
        console.print(f"{s.status} [{s.kind}] {s.path}: {s.reason}{fix}", markup=False, highlight=False)
    if not items:
        console.print("no quarantined chunks")
    for f in items:
        console.print(f"{f.chunk_id} [{f.stage}, {f.attempts} attempt(s)]: {f.reason}", markup=False, highlight=False)


@app.command()
def plugins(json_out: bool = typer.Option(False, "--json", help="Print {axis: [names]} as JSON.")) -> None:
    """List the registered components of each axis (kgkit's own and those of installed plugins)."""
    from kgkit.registry import REGISTRIES

    names = {axis: r.names() for axis, r in REGISTRIES.items()}
    if json_out:
        sys.stdout.write(json.dumps(names) + "\n")
        return
    for axis, r in REGISTRIES.items():
        console.print(f"[bold]{axis}[/] ({r.group}): {', '.join(names[axis])}", highlight=False)


for _area in (embed, extract, fuse, llm, neo4j, reason, viz):
    _area.register(app, eval_app)


def main() -> None:  # pragma: no cover
    app()
