"""CLI commands for kgkit.reason: ``kgkit ask`` and ``kgkit eval kgqa``.

Nothing heavy is imported at module import time; each command imports what it needs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from kgkit.cli.common import PipelineOpt, StoreOpt, WorkdirOpt, console, fail
from kgkit.errors import ConfigError, KgkitError

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.reason.graph import GraphIndex


def _client(llm: bool, base_url: Optional[str], model: Optional[str]):  # noqa: ANN202
    if not llm:
        return None
    from kgkit.llm import LLMClient

    return LLMClient(base_url=base_url, model=model)


def ask_cmd(
    question: str = typer.Argument(..., help="The question; entities may be marked [like this]."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
    scorer: Optional[str] = typer.Option(None, "--scorer", help="lexical (default), embedding, or a trained scorer file (kgkit eval kgqa --save-scorer)."),
    device: str = typer.Option("cpu", "--device", help="Embedding device for --scorer embedding: cpu or cuda."),
    max_hops: int = typer.Option(3, "--max-hops", help="Longest relation path searched."),
    k_paths: int = typer.Option(3, "--k-paths", help="Relation paths kept."),
    llm: bool = typer.Option(False, "--llm/--no-llm", help="Let the LLM answer from the subgraph, citing fact ids."),
    llm_base_url: Optional[str] = typer.Option(None, "--llm-base-url", help="OpenAI-compatible endpoint (default $KGKIT_LLM_BASE_URL)."),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="Model name (default $KGKIT_LLM_MODEL)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    audit: bool = typer.Option(False, "--audit", help="Search the whole graph, facts fusion rejected included."),
    plausibility_model: Optional[Path] = typer.Option(None, "--plausibility-model", help="A `kgkit embed train` run folder on this graph: among answers of one-hop paths, the fact the model finds more plausible ranks higher."),
    plausibility_weight: float = typer.Option(0.1, "--plausibility-weight", min=0.0, help="Weight of the model's calibrated probability added to each answer's path score (with --plausibility-model)."),
) -> None:
    """Answer a question from the graph: answer, ranked paths, and cited facts with their sources.

    Only facts fusion accepted are searched and cited (``--audit`` searches everything)."""
    from rich.markup import escape

    from kgkit.cli.common import open_graph
    from kgkit.reason.ask import ask_store

    with open_graph(pipeline, store, workdir) as kg:
        try:
            hook = None
            if plausibility_model is not None:
                from kgkit.embed.plausibility import graph_reasoner_hook

                hook = graph_reasoner_hook(plausibility_model, kg.store)
            result = ask_store(kg.store, question, scorer=scorer, device=device, client=_client(llm, llm_base_url, llm_model),
                               ontology=kg.ontology, max_hops=max_hops, k_paths=k_paths,
                               include="all" if audit else "accepted", plausibility=hook,
                               plausibility_weight=plausibility_weight)
        except KgkitError as err:
            fail(str(err))
    data = result.as_dict()
    if json_out:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        return
    if data["answer"] is None:
        console.print(f"[yellow]No answer:[/] {data['no_answer_reason'] or 'no path reached an answer'}")
    else:
        console.print(f"[bold green]Answer:[/] {data['answer']}")
        others = [a["name"] for a in data["answers"][1:5]]
        if others:
            console.print("Also: " + ", ".join(others))
    for e in data["entities"]:
        console.print(f"  entity: {e['mention']!r} -> {e['name']} ({e['method']}, {e['score']:.2f})")
    for p in data["paths"]:
        console.print(f"  path: {p['path']}  p={p['score']:.2f}  answers={p['answers']}")
    if data["llm"] and data["llm"]["invalid_citations"]:
        console.print(f"[red]LLM cited facts not in the subgraph (dropped):[/] {', '.join(data['llm']['invalid_citations'])}")
    for c in data["cited"]:
        # escaped: rich would read "[f:…]" as markup and drop the fact id
        console.print(escape(f"  fact [{c['id']}] {c['subject']} -- {c['predicate']} --> {c['object']}"))
        for s in c["sources"][:3]:
            console.print(f"      source: {s['document']}: {s['text'][:100]!r}")


def eval_kgqa(
    questions: list[Path] = typer.Option([], "--questions", help="Question file(s), one report each: repeat the option, separate files with commas, or list them after the option (--questions a.txt b.txt)."),
    more_questions: Optional[list[Path]] = typer.Argument(None, help="More question files (what a shell glob after --questions expands to).", show_default=False),
    kb: Optional[Path] = typer.Option(None, "--kb", help="KB file, subject|relation|object (MetaQA) or tab-separated."),
    workdir: Optional[Path] = typer.Option(None, "--workdir", help="Answer over the graph of this kgkit workdir (the store of --store / --pipeline) instead of a --kb file."),
    store: StoreOpt = None,
    pipeline: PipelineOpt = None,
    fmt: str = typer.Option("metaqa", "--format", help="metaqa (question [topic]<TAB>a|b) or json (WebQSP/CWQ style)."),
    train: list[Path] = typer.Option([], "--train", help="Question files to train the path scorer on (their train part): repeat the option or separate with commas. Without it (and without --scorer) the zero-shot lexical scorer is used."),
    tune_fraction: float = typer.Option(0.2, "--tune-fraction", help="Share of each --train file held out as the tune part."),
    part: str = typer.Option("all", "--part", help="Which part of --questions to score: all, train or tune (same split)."),
    scorer: Optional[str] = typer.Option(None, "--scorer", help="Instead of training: lexical, embedding, or a trained scorer file."),
    device: str = typer.Option("cpu", "--device", help="Embedding device for --scorer embedding: cpu or cuda."),
    save_scorer: Optional[Path] = typer.Option(None, "--save-scorer", help="Save the trained path scorer here."),
    max_hops: int = typer.Option(3, "--max-hops", help="Longest relation path."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Score only the first N questions of each file."),
    llm: bool = typer.Option(False, "--llm/--no-llm", help="Also let the LLM answer from each subgraph."),
    llm_base_url: Optional[str] = typer.Option(None, "--llm-base-url", help="OpenAI-compatible endpoint."),
    llm_model: Optional[str] = typer.Option(None, "--llm-model", help="Model name."),
    json_out: bool = typer.Option(False, "--json", help="Print only the reports as JSON on stdout (status lines go to stderr)."),
) -> None:
    """KGQA: Hits@1/5, answer F1, retrieval recall and latency over MetaQA or WebQSP/CWQ-style files.

    The graph is a --kb file, the graph of a --workdir (either store), or each question's own subgraph
    (JSON format). The scorer used is printed on stderr and stored in each report (``scorer``).
    """
    from kgkit.cli.common import err_console
    from kgkit.cli.options import split_paths

    files = split_paths([*questions, *(more_questions or [])])
    try:
        if not files:
            raise ConfigError("give at least one question file with --questions")
        if kb is not None and workdir is not None:
            raise ConfigError("give either --kb (a KB file) or --workdir (a kgkit graph), not both")
        graph = _graph(kb, workdir, store, pipeline)
        path_scorer, scorer_label = _scorer(scorer, split_paths(train), fmt, tune_fraction, graph, max_hops, device)
        if save_scorer is not None:
            from kgkit.reason.scoring import LearnedPathScorer

            if not isinstance(path_scorer, LearnedPathScorer):
                raise ConfigError("--save-scorer needs --train FILE to train a scorer")
            path_scorer.save(save_scorer)
        err_console.print(f"scorer: {scorer_label}", style="dim", highlight=False)
        reports = _run_eval(files, graph, fmt, tune_fraction, part, path_scorer, max_hops, limit,
                            _client(llm, llm_base_url, llm_model))
    except KgkitError as err:
        fail(str(err))
    rows = [{**r.as_dict(), "scorer": scorer_label} for r in reports]
    if json_out:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
        return
    _print_reports(reports)


def _graph(kb: Optional[Path], workdir: Optional[Path], store: Optional[str], pipeline: Optional[Path]) -> "GraphIndex | None":
    from kgkit.reason.graph import load_kb

    if kb is not None:
        return load_kb(kb)
    if workdir is None:
        return None
    from kgkit.api import KnowledgeGraph
    from kgkit.reason.graph import index_from_store

    kg = KnowledgeGraph(pipeline, store=store, workdir=workdir)
    try:
        return index_from_store(kg.store)
    finally:
        kg.close()


def _scorer(scorer: Optional[str], train: list[Path], fmt: str, tune_fraction: float, graph: "GraphIndex | None",
            max_hops: int, device: str) -> tuple[Any, str]:
    """The path scorer and how to name it in the output."""
    from kgkit.eval.kgqa import read_questions, split_examples, train_path_scorer
    from kgkit.reason.scoring import make_scorer

    if scorer is not None:
        if train:
            raise ConfigError("give either --scorer or --train, not both")
        kind = scorer if scorer in ("lexical", "embedding") else f"learned, loaded from {scorer}"
        return make_scorer(scorer, device=device), f"{kind} (--scorer)"
    if not train:
        return None, "lexical (zero-shot: no --train given)"
    examples = []
    for f in train:
        examples += split_examples(read_questions(f, fmt), tune_fraction=tune_fraction)[0]
    path_scorer, n = train_path_scorer(examples, graph, max_hops=max_hops, device=device)
    return path_scorer, (f"learned, trained on {n} labelled questions ({len(path_scorer.labels)} relation paths) "
                         f"from {', '.join(str(f) for f in train)}")


def _print_reports(reports: list[Any]) -> None:
    """A rich table on a terminal; otherwise a Markdown table (never truncated, whatever the width)."""
    head = ["questions", "n", "Hits@1", "Hits@5", "F1", "recall", "none", "p50 ms", "p95 ms", "LLM H@1"]
    rows = []
    for r in reports:
        llm_h1 = f"{r.llm_hits_at_1:.2f}" if r.llm_hits_at_1 is not None else "-"
        rows.append(["/".join(Path(r.name).parts[-3:]), str(r.questions), f"{r.hits_at_1:.2f}", f"{r.hits_at_5:.2f}",
                     f"{r.f1:.2f}", f"{r.retrieval_recall:.2f}", str(r.no_answer), f"{r.latency_p50_ms:.2f}",
                     f"{r.latency_p95_ms:.2f}", llm_h1])
    if not sys.stdout.isatty():
        typer.echo("| " + " | ".join(head) + " |")
        typer.echo("|---|" + "---:|" * (len(head) - 1))
        for row in rows:
            typer.echo("| " + " | ".join(row) + " |")
        return
    from rich.table import Table

    t = Table(*head)
    for row in rows:
        t.add_row(*row)
    console.print(t)


def _run_eval(questions: list[Path], graph: "GraphIndex | None", fmt: str, tune_fraction: float, part: str,
              path_scorer: Any, max_hops: int, limit: Optional[int], client: Any) -> list[Any]:
    from kgkit.eval.kgqa import ReasonerFactory, evaluate, read_questions, split_examples
    from kgkit.reason.llm_answer import LLMAnswerer

    if part not in ("all", "train", "tune"):
        raise ConfigError(f"--part must be all, train or tune, got {part!r}")
    factory = ReasonerFactory(graph, scorer=path_scorer, max_hops=max_hops)
    answerer = LLMAnswerer(client, on_invalid="collect", on_error="collect") if client is not None else None
    reports = []
    for qf in questions:
        items = read_questions(qf, fmt)
        if part != "all":
            train_part, tune_part = split_examples(items, tune_fraction=tune_fraction)
            items = train_part if part == "train" else tune_part
        if limit is not None:
            items = items[:limit]
        reports.append(evaluate(items, factory, name=str(qf), llm_answerer=answerer))
    return reports


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this area's commands to the root app and to the `kgkit eval` group."""
    app.command("ask")(ask_cmd)
    eval_app.command("kgqa")(eval_kgqa)
