"""CLI of the LLM area: ``kgkit eval extraction`` and ``kgkit llm check|cache``.

Nothing heavy is imported at module level: the commands import what they need when they run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

llm_app = typer.Typer(help="LLM endpoint helpers: check the connection, inspect the answer cache.", no_args_is_help=True)

_DATASETS = ("wikidata_tekgen", "dbpedia_webnlg")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this area's commands to the root app and to the `kgkit eval` group."""
    eval_app.command("extraction")(eval_extraction)
    app.add_typer(llm_app, name="llm")


def _fail(message: str) -> None:
    from kgkit.cli.common import fail

    fail(message)


def eval_extraction(
    dataset: str = typer.Option("all", "--dataset", help="wikidata_tekgen, dbpedia_webnlg or all."),
    split: str = typer.Option("auto", "--split", help="validation, train-holdout, test or auto (validation, else train-holdout)."),
    extractor: str = typer.Option("spacy", "--extractor", help="Registered extractor: spacy or llm."),
    data: Optional[Path] = typer.Option(None, "--data", help="Datasets folder (default $KGKIT_DATA or ../shared/datasets).", envvar="KGKIT_DATA"),
    ontology: Optional[List[str]] = typer.Option(None, "--ontology", help="Only these ontology ids: repeat the option or separate ids with commas, e.g. 1_movie,2_music."),
    limit: Optional[int] = typer.Option(None, "--limit", help="First N sentences per ontology."),
    mine_hints: Optional[bool] = typer.Option(None, "--mine-hints/--no-mine-hints", help="Learn patterns and NER->type maps from train (default: on for spacy)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the full result as JSON here."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Write predictions as benchmark JSONL into this folder."),
    model: Optional[str] = typer.Option(None, "--model", help="LLM model (default $KGKIT_LLM_MODEL, then $OPENAI_MODEL)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (default $KGKIT_LLM_BASE_URL, then $OPENAI_BASE_URL)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="LLM answer cache (default $KGKIT_LLM_CACHE or ~/.cache/kgkit/llm)."),
    budget: Optional[int] = typer.Option(None, "--budget", help="Hard token budget for the LLM; the run stops before crossing it."),
    max_concurrency: int = typer.Option(8, "--max-concurrency", help="LLM requests in flight."),
    structured_output: str = typer.Option("json_schema", "--structured-output", help="json_schema, json_object or none."),
    gleaning: int = typer.Option(0, "--gleaning", help="Extra LLM passes asking for missed facts."),
    json_out: bool = typer.Option(False, "--json", help="Print only the results as JSON on stdout (progress goes to stderr)."),
) -> None:
    """Score an extractor on Text2KGBench (P, R, F1, ontology conformance, hallucination).

    ``--split test`` reads the benchmark's published test layout: ``test/`` (ids and sentences) and
    ``ground_truth/`` (gold triples), scored per row like the benchmark's own script.
    """
    from rich.console import Console

    from kgkit.cli.options import split_values
    from kgkit.errors import KgkitError
    from kgkit.eval.extraction import PUBLISHED_BASELINES, evaluate_text2kgbench
    from kgkit.extract import make_extractor

    console = Console(stderr=json_out)
    ontology = split_values(ontology) or None
    datasets = list(_DATASETS) if dataset == "all" else [dataset]
    kwargs: dict = {}
    client = None
    if extractor == "llm":
        from kgkit.llm import LLMClient, default_cache_dir

        try:
            client = LLMClient(base_url, None, model, max_concurrency=max_concurrency, budget_tokens=budget,
                               cache_dir=cache_dir or default_cache_dir())
        except KgkitError as err:
            _fail(str(err))
        kwargs = {"client": client, "structured_output": structured_output, "gleaning": gleaning}
    use_hints = (extractor == "spacy") if mine_hints is None else mine_hints
    results = []
    try:
        for ds in datasets:
            result = evaluate_text2kgbench(
                lambda onto: make_extractor(extractor, ontology=onto, **kwargs),
                dataset=ds, split=split, data=data, ontologies=ontology or None, limit=limit,
                predictions_dir=predictions / ds if predictions else None, mine_hints=use_hints,
                on_ontology=lambda o: console.print(f"  {o.onto_id}: {o.sentences} sentences, F1 {o.metrics['f1']:.3f}"),
            )
            if not json_out:
                typer.echo(result.to_markdown())
            base = ", ".join(f"{k} {v:.2f}" for k, v in PUBLISHED_BASELINES[ds].items())
            console.print(f"[dim]published test-split F1 for comparison: {base}[/]")
            if result.llm_stats:
                console.print_json(json.dumps(result.llm_stats["total"]))
            if result.stopped:
                console.print(f"[yellow]stopped:[/] {result.stopped}")
            results.append(result.to_dict())
    except KgkitError as err:
        _fail(str(err))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
        console.print(f"wrote {out}")
    if json_out:
        sys.stdout.write(json.dumps(results, indent=2, default=str) + "\n")


@llm_app.command("check")
def llm_check(
    model: Optional[str] = typer.Option(None, "--model", help="Model name (default $KGKIT_LLM_MODEL, then $OPENAI_MODEL)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Endpoint, e.g. http://localhost:11434/v1 (default $KGKIT_LLM_BASE_URL)."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds."),
) -> None:
    """Send one tiny request (not cached) and report the answer, tokens and latency."""
    from kgkit.errors import KgkitError
    from kgkit.llm import LLMClient

    try:
        client = LLMClient(base_url, None, model, timeout=timeout, max_retries=1)
        t0 = time.perf_counter()
        answer = client.complete([{"role": "user", "content": 'Reply with the JSON {"ok": true} and nothing else.'}],
                                 max_tokens=20, use_cache=False)
    except KgkitError as err:
        _fail(str(err))
        return
    typer.echo(f"{client.base_url or 'api.openai.com'} model={answer.model} {time.perf_counter() - t0:.2f}s "
               f"tokens={answer.usage.total_tokens} answer={answer.text[:80]!r}")


@llm_app.command("cache")
def llm_cache(
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Default $KGKIT_LLM_CACHE or ~/.cache/kgkit/llm."),
    clear: bool = typer.Option(False, "--clear", help="Delete every cached answer."),
) -> None:
    """Show (or clear) the LLM answer cache."""
    import shutil

    from kgkit.llm import ResponseCache, default_cache_dir

    directory = cache_dir or default_cache_dir()
    cache = ResponseCache(directory)
    n = len(cache)
    size = sum(f.stat().st_size for f in directory.glob("*/*.json")) if directory.is_dir() else 0
    if clear and directory.is_dir():
        shutil.rmtree(directory)
        typer.echo(f"cleared {n} cached answers ({size / 1e6:.1f} MB) from {directory}")
        return
    typer.echo(f"{directory}: {n} cached answers, {size / 1e6:.1f} MB")
