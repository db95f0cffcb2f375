"""CLI commands for the trained extractor: ``kgkit extract train | evaluate | label``.

Each command is a few lines over :mod:`kgkit.extract.trained`; heavy imports happen inside the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from kgkit.cli.common import console, fail
from kgkit.errors import KgkitError

extract_app = typer.Typer(help="Train an extractor from examples, score it, or label examples with an LLM teacher.",
                          no_args_is_help=True)


@extract_app.command("train")
def train_cmd(
    examples: list[Path] = typer.Argument(..., help="JSONL example files or folders ({text, triples} or Text2KGBench rows)."),
    ontology: list[Path] = typer.Option(..., "--ontology", help="kgkit schema YAML, or Text2KGBench ontology JSON file(s)/folder (merged)."),
    out: Path = typer.Option(..., "--out", help="Model folder to write."),
    epochs: int = typer.Option(15, "--epochs", help="Training epochs over the example pairs."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    gazetteer_folds: int = typer.Option(5, "--gazetteer-folds", help="Featurise each part of the examples with a gazetteer learned on the others (1: no cross-fitting; suits texts whose entities all recur in the examples)."),
    threshold_metric: str = typer.Option("facts-f5", "--threshold-metric", help="How the held-back examples choose the decision threshold: facts-f5, facts-f3 or facts-f2 (recall-weighted, for graphs that are queried), facts (F1) or text2kgbench (the benchmark's sentence F1)."),
    no_label_prior: bool = typer.Option(False, "--no-label-prior", help="Do not add the relation-name prior to the classifier."),
    no_repeat_prior: bool = typer.Option(False, "--no-repeat-prior",
                                         help="Keep a sentence's second fact of one relation at its own probability."),
    relations_per_pair: int = typer.Option(0, "--relations-per-pair", min=0,
                                           help="Most relations one mention pair may hold, each above the threshold (0: no cap; 1 or 2 give a sparser graph)."),
    encoder: str = typer.Option("gru", "--encoder", help="The sentence encoder that scores the pairs next to the classifier: 'gru' (light, trained from scratch over MiniLM's word-piece embeddings), 'minilm' or a local Hugging Face model folder (fine-tuned: several times slower to train and extract), or 'none' (the classifier alone: fastest)."),
    encoder_epochs: int | None = typer.Option(None, "--encoder-epochs", min=1, help="Training epochs of the --encoder (default: 4 for a transformer, 10 for 'gru')."),
    members: int = typer.Option(3, "--members", min=1, help="Classifiers trained on the same pairs from different starts, their scores averaged: steadier and better; each adds to training and extraction time (1: fastest)."),
    exclude_texts: Path | None = typer.Option(None, "--exclude-texts", help="Skip examples whose text occurs in this file or folder of documents."),
    skip_unknown: bool = typer.Option(False, "--skip-unknown-relations", help="Drop example triples whose relation is not in the ontology instead of failing."),
    json_out: bool = typer.Option(False, "--json", help="Print the training metrics as JSON only."),
) -> None:
    """Learn an extractor from examples; the model folder works in a pipeline as `extractor: {name: trained, model: DIR}`."""
    from kgkit.extract.trained import (
        TrainConfig,
        load_training_ontology,
        read_examples,
        train_model,
    )
    from kgkit.extract.trained.examples import drop_examples_in

    try:
        onto = load_training_ontology(ontology)
        rows = read_examples(examples, onto, skip_unknown=skip_unknown)
        if exclude_texts is not None:
            rows = drop_examples_in(rows, exclude_texts)
        log = None if json_out else (lambda msg: console.print(f"[dim]{msg}[/]"))
        model = train_model(rows, onto, TrainConfig(epochs=epochs, seed=seed, gazetteer_folds=gazetteer_folds,
                                                       threshold_metric=threshold_metric, label_prior=not no_label_prior,
                                                       repeat_prior=not no_repeat_prior,
                                                       relations_per_pair=relations_per_pair,
                                                       encoder=None if encoder.lower() == "none" else encoder,
                                                       encoder_epochs=encoder_epochs, members=members), log=log)
        model.save(out)
    except KgkitError as err:
        fail(str(err))
    if json_out:
        sys.stdout.write(json.dumps(model.metrics, indent=2) + "\n")
        return
    h = model.metrics.get("heldout", {})
    console.print(f"[bold]trained[/] {out}: {len(rows)} examples, {len(model.relations) - 1} relations, "
                  f"{model.metrics['train_seconds']}s; held-back P {h.get('precision')} R {h.get('recall')} "
                  f"F1 {h.get('f1')} (encoder {model.encoder or 'none'}, threshold {model.threshold}, runner-up floor {model.runner_up_floor}, "
                  f"full names {'on' if model.full_names else 'off'}, ECE {h.get('ece')})")


@extract_app.command("evaluate")
def evaluate_cmd(
    model: Path = typer.Argument(..., help="Model folder from `kgkit extract train`."),
    examples: list[Path] = typer.Argument(..., help="JSONL example files or folders to score on."),
    skip_unknown: bool = typer.Option(False, "--skip-unknown-relations", help="Score gold triples whose relation is not in the ontology as misses instead of failing."),
    json_out: bool = typer.Option(False, "--json", help="Print only JSON on stdout."),
) -> None:
    """Score a model on examples with Text2KGBench's metrics (P, R, F1, conformance, hallucination)."""
    from kgkit.extract.trained import TrainedModel, evaluate_model, read_examples

    try:
        m = TrainedModel.load(model)
        rows = read_examples(examples, m.ontology, unknown_relations="keep" if skip_unknown else "raise")
        result = evaluate_model(m, rows)
    except KgkitError as err:
        fail(str(err))
    if json_out:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
        return
    o = result["overall"]
    console.print(f"[bold]{result['sentences']} sentences[/]: P {o['precision']:.3f} R {o['recall']:.3f} F1 {o['f1']:.3f}; "
                  f"conformance {o['onto_conf']:.3f}, hallucination rel {o['rel_halluc']:.3f} "
                  f"sub {o['sub_halluc']:.3f} obj {o['obj_halluc']:.3f}")
    for name, s in result["by_ontology"].items():
        console.print(f"  {name}: F1 {s['f1']:.3f}")


@extract_app.command("label")
def label_cmd(
    folder: Path = typer.Argument(..., help="Folder of documents to sample chunks from."),
    pipeline: Path = typer.Option(..., "--pipeline", help="An LLM pipeline (pipelines/llm-*.yaml): its extractor is the teacher."),
    out: Path = typer.Option(Path("examples.jsonl"), "--out", help="Example file to write (appended; resumable)."),
    sample: int = typer.Option(200, "--sample", help="Chunks to label (stratified over documents)."),
    budget: int | None = typer.Option(None, "--budget", help="Hard token budget for the teacher."),
    seed: int = typer.Option(0, "--seed", help="Sampling seed."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON only."),
) -> None:
    """Ask an LLM teacher for facts on a sample of your chunks and write them as training examples."""
    from kgkit.extract.trained.labeling import label_folder

    if not folder.is_dir():
        fail(f"{folder} is not a folder; pass the folder of documents to sample from")
    try:
        report = label_folder(folder, pipeline=pipeline, out=out, sample=sample, budget_tokens=budget, seed=seed)
    except KgkitError as err:
        fail(str(err))
    if json_out:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2) + "\n")
        return
    console.print(f"[bold]labelled[/] {report.labelled} chunk(s) into {out} ({report.already_done} already done, "
                  f"{report.quarantined} quarantined, {report.triples} facts)")
    if report.stopped:
        console.print(f"[yellow]stopped:[/] {report.stopped}")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add ``kgkit extract ...`` to the root app."""
    app.add_typer(extract_app, name="extract")
