"""CLI of the embedding stage: ``kgkit embed {train,predict,score,download}`` and ``kgkit eval kge``.

Nothing heavy is imported at module import time; each command imports what it needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from kgkit.cli.common import PipelineOpt, StoreOpt, WorkdirOpt, console, fail
from kgkit.errors import KgkitError

embed_app = typer.Typer(help="Knowledge-graph embeddings (PyKEEN): train, predict links, score facts.",
                        no_args_is_help=True)

DataOpt = typer.Option(None, "--data", help="Datasets folder (default: $KGKIT_DATA or ../shared/datasets).",
                       envvar="KGKIT_DATA")


@embed_app.command("train")
def train_cmd(
    config: Optional[Path] = typer.Argument(None, help="KGE pipeline YAML, e.g. pipelines/kge-transe.yaml."),
    run_dir: Path = typer.Option(Path("runs/kge"), "--run-dir", help="Folder for model, id maps, metrics, curve."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="nations, umls, kinships, fb15k237, wn18rr; default: the graph."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Override training_kwargs.num_epochs."),
    device: Optional[str] = typer.Option(None, "--device", help="auto (CUDA when present), cpu or cuda."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="training_loop one_vs_all: save every "
                                              "epoch here and resume from it when it exists."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="training_loop one_vs_all: stop "
                                                "before this many seconds."),
    data: Optional[Path] = DataOpt,
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """Train an embedding on a dataset or on the graph built by `kgkit ingest`, and save a run folder."""
    from kgkit.embed.training import load_pipeline_config, train_kge

    try:
        kwargs: dict[str, Any] = load_pipeline_config(config) if config else {"model": "TransE"}
        if dataset:
            kwargs["dataset"] = dataset
        one_vs_all = kwargs.get("training_loop") == "one_vs_all"
        if epochs is not None and one_vs_all:
            kwargs["epochs"] = epochs
        elif epochs is not None:
            kwargs["training_kwargs"] = {**(kwargs.get("training_kwargs") or {}), "num_epochs": epochs}
        if (checkpoint or time_budget) and not one_vs_all:
            fail("--checkpoint and --time-budget need a pipeline with training_loop: one_vs_all "
                 "(e.g. pipelines/kge-fb15k237-complex-n3.yaml)")
        if checkpoint:
            kwargs["checkpoint"] = checkpoint
        if time_budget is not None:
            kwargs["time_budget_s"] = time_budget
        if device:
            kwargs["device"] = device
        if data:
            kwargs["data_dir"] = data
        if kwargs.get("dataset") in (None, "store", "graph"):
            kwargs.pop("dataset", None)
            from kgkit.api import KnowledgeGraph

            with KnowledgeGraph(pipeline, store=store, workdir=workdir) as kg:
                result = train_kge(run_dir=run_dir, store=kg.store, **kwargs)
        else:
            result = train_kge(run_dir=run_dir, **kwargs)
    except KgkitError as err:
        fail(str(err))
    m = result.metrics
    console.print(
        f"[bold]embed train[/]: {result.epochs} epochs on {result.device} in {result.seconds:.1f}s; "
        f"MRR {m['both.mrr']:.4f}, Hits@1 {m['both.hits@1']:.4f}, Hits@10 {m['both.hits@10']:.4f}; saved to {result.run_dir}"
    )


@embed_app.command("predict")
def predict_cmd(
    run_dir: Optional[Path] = typer.Argument(None, help="A run folder from `kgkit embed train` (or give --model)."),
    model: Optional[Path] = typer.Option(None, "--model", help="The run folder (same as RUN_DIR)."),
    head: Optional[str] = typer.Option(None, "--head", help="Head entity (id or unique name)."),
    relation: Optional[str] = typer.Option(None, "--relation", help="Relation."),
    tail: Optional[str] = typer.Option(None, "--tail", help="Tail entity (id or unique name)."),
    k: int = typer.Option(10, "-k", "--top", help="How many answers (per query, when proposing facts)."),
    min_probability: float = typer.Option(0.8, "--min-probability", help="Proposing facts: keep candidates whose "
                                          "calibrated probability is at least this."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Proposing facts: print them, write nothing."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """Predict links. With two of --head, --relation, --tail: the missing part. With none: propose
    missing facts for the whole graph (`--workdir`) and store them as candidate facts, never accepted
    ones (`kgkit ask` and `kgkit export` leave them out; `--audit` shows them)."""
    from kgkit.embed.predict import KGEPredictor

    run = model or run_dir
    if run is None:
        fail("give the run folder of `kgkit embed train`: RUN_DIR or --model")
    given = sum(x is not None for x in (head, relation, tail))
    if given == 0:
        _propose(run, k, min_probability, dry_run, json_out, pipeline, store, workdir)
        return
    if given != 2:
        fail("give exactly two of --head, --relation, --tail (the third is predicted), or none of them to "
             "propose missing facts for the whole graph")
    try:
        p = KGEPredictor(run)
        if tail is None:
            preds, what = p.predict_tails(head, relation, k), "tail"  # type: ignore[arg-type]
        elif head is None:
            preds, what = p.predict_heads(relation, tail, k), "head"  # type: ignore[arg-type]
        else:
            preds, what = p.predict_relations(head, tail, k), "relation"
    except KgkitError as err:
        fail(str(err))
    if json_out:
        console.print_json(json.dumps([{"label": x.label, "name": x.name, "score": x.score} for x in preds]))
        return
    console.print(f"[bold]{what}[/] predictions ({run}):")
    for i, x in enumerate(preds, 1):
        shown = x.label if x.name == x.label else f"{x.name} ({x.label})"
        console.print(f"  {i:>2}. {shown}  score={x.score:.4f}")


def _propose(run: Path, k: int, min_probability: float, dry_run: bool, json_out: bool, pipeline: Optional[Path],
             store: Optional[str], workdir: Path) -> None:
    """`kgkit embed predict --top K` without a query: candidate facts for the whole graph."""
    from kgkit.api import KnowledgeGraph
    from kgkit.embed.candidates import predict_candidates

    try:
        with KnowledgeGraph(pipeline, store=store, workdir=workdir) as kg:
            report = predict_candidates(kg.store, run, k=k, ontology=kg.ontology, min_probability=min_probability,
                                        write=not dry_run)
            names = {e.id: e.name for e in kg.store.iter_entities()}
    except KgkitError as err:
        fail(str(err))
    rows = [{"subject": c.subject_id, "subject_name": names.get(c.subject_id, c.subject_id), "predicate": c.predicate,
             "object": c.object_id, "object_name": names.get(c.object_id, c.object_id), "score": c.score,
             "probability": c.probability, "rank": c.rank, "via": c.via} for c in report.candidates]
    if json_out:
        console.print_json(json.dumps({**report.summary(), "dry_run": dry_run, "candidates": rows}))
        return
    what = "would write" if dry_run else "wrote"
    console.print(f"[bold]embed predict[/]: {report.queries} queries, {report.proposed} proposals, "
                  f"{len(rows)} with probability >= {min_probability}; {what} {len(rows) if dry_run else report.written} "
                  f"candidate facts (model {report.model_id}; never accepted: see them with --audit)")
    for r in rows[:20]:
        console.print(f"  {r['subject_name']} -[{r['predicate']}]-> {r['object_name']}  p={r['probability']:.3f} "
                      f"score={r['score']:.3f} rank={r['rank']}", highlight=False, markup=False)
    if len(rows) > 20:
        console.print(f"  ... {len(rows) - 20} more (--json lists all)")


@embed_app.command("score")
def score_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder from `kgkit embed train`."),
    facts: Path = typer.Argument(..., help="TSV file of subject<TAB>predicate<TAB>object lines."),
) -> None:
    """Print the model's plausibility score of each fact (nan: unknown entity or relation)."""
    from kgkit.embed.datasets import read_triples
    from kgkit.embed.predict import score_facts

    try:
        rows = [tuple(map(str, r)) for r in read_triples(facts)]
        scores = score_facts(run_dir, rows)  # type: ignore[arg-type]
    except KgkitError as err:
        fail(str(err))
    for (s, p, o), sc in zip(rows, scores):
        console.print(f"{s}\t{p}\t{o}\t{sc:.4f}", highlight=False)


@embed_app.command("download")
def download_cmd(
    name: str = typer.Argument(..., help="fb15k237 or wn18rr."),
    dest: Path = typer.Option(Path("datasets"), "--dest", help="Datasets folder to fill (kge/<name>/...)."),
    archive: Optional[Path] = typer.Option(None, "--archive", help="Use this local archive instead of downloading."),
) -> None:
    """Download (or unpack a local copy of) a benchmark dataset, checking sha256 checksums."""
    from kgkit.embed.datasets import download_dataset

    try:
        out = download_dataset(name, dest, local_archive=archive)
    except KgkitError as err:
        fail(str(err))
    console.print(f"[bold]{name}[/] ready in {out} (checksums verified); use --data {dest}")


def eval_kge_cmd(
    run_dir: Path = typer.Argument(..., help="A run folder from `kgkit embed train` on a dataset."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset (default: the run's)."),
    split: str = typer.Option("valid", "--split", help="valid or test."),
    batch_size: int = typer.Option(256, "--batch-size", help="Evaluation batch size."),
    data: Optional[Path] = DataOpt,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Filtered link-prediction metrics (MRR, Hits@k, both sides) of a trained run."""
    import yaml

    from kgkit.embed.datasets import load_dataset
    from kgkit.embed.evaluation import FastRankEvaluator
    from kgkit.embed.predict import load_model

    try:
        cfg = yaml.safe_load((run_dir / "config.yaml").read_text()) if (run_dir / "config.yaml").is_file() else {}
        name = dataset or cfg.get("dataset")
        if not name or name == "store":
            fail("give --dataset (graph runs are evaluated at training time; see metrics.json)")
        ds = load_dataset(str(name), data, create_inverse_triples=bool(cfg.get("create_inverse_triples", False)))
        model = load_model(run_dir)
        triples = ds.validation if split == "valid" else ds.testing
        extra = [ds.training.mapped_triples] + ([ds.validation.mapped_triples] if split == "test" else [])
        res = FastRankEvaluator(batch_size=batch_size).evaluate(model, triples.mapped_triples, additional_filter_triples=extra)
    except KgkitError as err:
        fail(str(err))
    if json_out:
        console.print_json(json.dumps({"seconds": res.seconds, **res.metrics}))
        return
    m = res.metrics
    console.print(f"[bold]{name}[/] {split}: MRR {m['both.mrr']:.4f}  Hits@1 {m['both.hits@1']:.4f}  "
                  f"Hits@3 {m['both.hits@3']:.4f}  Hits@10 {m['both.hits@10']:.4f}  ({res.seconds:.1f}s)")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this area's commands to the root app and to the `kgkit eval` group."""
    app.add_typer(embed_app, name="embed")
    eval_app.command("kge")(eval_kge_cmd)
