"""Link prediction used downstream (issue 16, item 3): candidate facts and calibrated plausibility.

Two parts, one report (``benchmarks/results/kge_predict.md``):

* **sample**: ingest ``data/sample`` (default pipeline, fusion on), train ``pipelines/kge-graph-complex.yaml``
  on the graph, run :func:`kgkit.embed.candidates.predict_candidates` (what ``kgkit embed predict --top K``
  does), and count how many candidates are facts of the sample's hand-written gold
  (``data/sample/GOLD.yaml``, matched by alias as in ``benchmarks/sample_extraction.py``) that the
  extracted graph lacks; check that a rerun writes the same candidates and the default view has none.
* **fb15k237**: hold out ``--heldout`` (1,000) test triples and ``--calibration`` (2,000) more, train
  ComplEx-N3 1-vs-all on everything else (train + valid + the rest of test) for ``--time-budget``
  seconds, fit the calibration on the calibration triples, and count how many held-out triples come
  back in the top 10 proposals of their ``(h, r)`` (tail) and ``(r, t)`` (head) query, proposals
  filtered against the training graph only (as ``kgkit embed predict`` filters against the user's
  graph). Also: Brier score and expected calibration error of the plausibility on the held-out
  triples against as many corruptions.

Usage::

    OMP_NUM_THREADS=2 nice -n 10 python benchmarks/kge_predict.py --time-budget 1200 --dim 200
    python benchmarks/kge_predict.py --smoke          # tiny, minutes: checks the script runs
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
logging.getLogger("pykeen").setLevel(logging.ERROR)

MACHINE = "2-core x86-64 VM, 24 GiB, no GPU, shared with other engineers' jobs"
HAND_NOTES = "### Reading these figures (notes added by hand after the runs)"


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- part 1: the sample graph -------------------------------------------------------------------------
def run_sample(k: int, min_probability: float, smoke: bool) -> dict[str, Any]:
    from sample_extraction import _aliases, _same  # benchmarks/sample_extraction.py
    import yaml

    from kgkit.api import KnowledgeGraph
    from kgkit.embed.candidates import predict_candidates
    from kgkit.embed.training import load_pipeline_config, train_kge
    from kgkit.view import read_view

    gold = yaml.safe_load((REPO / "data/sample/GOLD.yaml").read_text(encoding="utf-8"))
    aliases = _aliases(gold)
    gold_facts = [tuple(map(str, f[:3])) for f in gold["facts"]]
    cfg = load_pipeline_config(REPO / "pipelines/kge-graph-complex.yaml")
    if smoke:
        cfg["epochs"] = 5
    out: dict[str, Any] = {"pipeline": "pipelines/kge-graph-complex.yaml", "k": k, "min_probability": min_probability}
    with tempfile.TemporaryDirectory() as d:
        with KnowledgeGraph(workdir=Path(d) / "work") as kg:
            t0 = time.perf_counter()
            kg.ingest(REPO / "data/sample")
            out["ingest_seconds"] = round(time.perf_counter() - t0, 1)
            view = read_view(kg.store)
            out["graph"] = {"entities": len(view.entities), "facts": len(view.facts)}
            t0 = time.perf_counter()
            res = train_kge(run_dir=Path(d) / "run", store=kg.store, **{**cfg, "device": "cpu"})
            out["train"] = {"seconds": round(time.perf_counter() - t0, 1), "epochs": res.epochs,
                            "test_mrr": round(res.metrics["both.mrr"], 4), "test_hits@10": round(res.metrics["both.hits@10"], 4)}
            _log(f"sample: trained {res.epochs} epochs, MRR {res.metrics['both.mrr']:.3f}")
            rep = predict_candidates(kg.store, Path(d) / "run", k=k, ontology=kg.ontology, min_probability=min_probability)
            again = predict_candidates(kg.store, Path(d) / "run", k=k, ontology=kg.ontology, min_probability=min_probability)
            stored = kg.store.candidate_facts(rep.model_id)
            stored_ids = {f.id for f in stored}
            names = {e.id: e.name for e in kg.store.iter_entities()}
            out["calibration"] = {k2: (round(v, 4) if isinstance(v, float) else v)
                                  for k2, v in vars(rep.calibration).items()} if rep.calibration else None
            out["predict"] = {**rep.summary(), "rerun_written": again.written,
                              "rerun_same_ids": [f.id for f in kg.store.candidate_facts(rep.model_id)] == [f.id for f in stored],
                              "in_default_view": sum(1 for f in read_view(kg.store).facts if f.id in stored_ids),
                              "in_audit_view": sum(1 for f in read_view(kg.store, include="all").facts
                                                   if f.properties.get("fusion_status") == "candidate")}
            extracted = [(names.get(f.subject_id, ""), f.predicate, names.get(f.object_id, "")) for f in view.facts]
            out["downstream"] = _fuse_with_plausibility(kg, Path(d) / "run")

    gold_true = {(c["subject"], c["relation"]): str(c["true"]) for c in gold.get("conflicts", [])}

    def matches(g: tuple, x: tuple) -> bool:
        return g[1] == x[1] and _same(g[0], x[0], aliases) and _same(g[2], x[2], aliases)

    missing_gold = [g for g in gold_facts if not any(matches(g, x) for x in extracted)]
    cands = [(names.get(c.subject_id, c.subject_id), c.predicate, names.get(c.object_id, c.object_id), c.probability)
             for c in rep.candidates]
    hit = [any(matches(g, c[:3]) for g in gold_facts) for c in cands]
    out["gold"] = {"gold_facts": len(gold_facts), "gold_missing_from_graph": len(missing_gold),
                   "candidates_in_gold": int(sum(hit)),
                   "missing_gold_recovered": sum(1 for g in missing_gold if any(matches(g, c[:3]) for c in cands)),
                   "precision_at": {str(n): round(sum(hit[:n]) / max(1, min(n, len(hit))), 3) for n in (10, 50, 100, 500)}}
    out["top"] = [{"s": s, "p": p, "o": o, "probability": round(pr, 3), "in_gold": h}
                  for (s, p, o, pr), h in list(zip(cands, hit))[:10]]
    out["gold_hits"] = [{"s": s, "p": p, "o": o, "probability": round(pr, 3), "rank": i + 1}
                        for i, ((s, p, o, pr), h) in enumerate(zip(cands, hit)) if h][:15]

    def in_gold(s: str, p: str, o: str | None) -> bool:
        if o is None:
            return False
        true = next((v for (gs, gp), v in gold_true.items() if gp == p and _same(gs, s, aliases)), None)
        return _same(true, o, aliases) if true is not None else any(matches(g, (s, p, o)) for g in gold_facts)

    for pol in out["downstream"]["policies"].values():
        for c in pol["changed"]:
            c["before_in_gold"], c["after_in_gold"] = in_gold(c["s"], c["p"], c["before"]), in_gold(c["s"], c["p"], c["after"])
    return out


def _fuse_with_plausibility(kg: Any, run: Path) -> dict[str, Any]:
    """What `kgkit stats` counts with candidates in the graph; then, for the pipeline's policy and for
    majority vote, fusion without and with the model as tie-breaker (`kgkit fuse --plausibility-model
    RUN`), each run undone: the conflicts whose choice the model changes, and whether every undo gives
    back the graph exactly, candidate facts included."""
    from kgkit.fuse import fuse_graph, undo
    from kgkit.store.testing_fusion import fusion_graph_state

    st = kg.stats()
    out: dict[str, Any] = {"stats": {"facts": st.facts, "rejected_facts": st.rejected_facts,
                                     "candidate_facts": st.candidate_facts}, "policies": {}}
    state = fusion_graph_state(kg.store)
    params = {k: v for k, v in kg.config.fusion.items() if k != "enabled"}
    exact = True
    for policy in dict.fromkeys([str(params.get("policy") or "accucopy"), "majority"]):
        chosen: list[dict[tuple[str, str], str]] = []
        for extra in ({}, {"plausibility_model": str(run)}):
            t0 = time.perf_counter()
            rep = fuse_graph(kg.store, kg.ontology, **{**params, "policy": policy, **extra})
            chosen.append({(c["subject_name"], c["predicate"]): c["chosen_name"] for c in rep.conflict_rows})
            seconds = round(time.perf_counter() - t0, 1)
            undo(kg.store, rep.run_id)
            exact = exact and fusion_graph_state(kg.store) == state
        out["policies"][policy] = {
            "conflicts": rep.conflicts, "ties_broken": rep.ties_broken, "seconds_with_model": seconds,
            "changed": [{"s": sp[0], "p": sp[1], "before": chosen[0].get(sp), "after": v}
                        for sp, v in sorted(chosen[1].items()) if chosen[0].get(sp) != v]}
    out["undo_exact"] = exact
    out["candidates_after_undo"] = len(kg.store.candidate_facts())
    _log(f"sample downstream: {json.dumps(out, default=str)}")
    return out


# -- part 2: FB15k-237 held-out triples -----------------------------------------------------------------
def _ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[idx == b].mean() - y[idx == b].mean()) * (idx == b).sum() for b in range(bins) if (idx == b).any()) / len(p))


def run_fb15k237(data: str | None, heldout: int, calibration: int, dim: int, budget: float, k: int,
                 smoke: bool) -> dict[str, Any]:
    import torch

    from kgkit.embed.candidates import top_k_links
    from kgkit.embed.datasets import KGEDataset, load_dataset
    from kgkit.embed.fast_training import OneVsAllConfig, make_model, train_one_vs_all
    from kgkit.embed.graph import triples_factory_from_labeled
    from kgkit.embed.plausibility import _score_ids, corrupt, fit_calibration
    from kgkit.embed.predict import KGEPredictor

    t0 = time.perf_counter()
    base = load_dataset("fb15k237", data)
    e2i, r2i = dict(base.training.entity_to_id), dict(base.training.relation_to_id)
    train_lab, valid_lab, test_lab = base.training.triples, base.validation.triples, base.testing.triples
    rng = np.random.default_rng(0)
    order = rng.permutation(len(test_lab))
    held_lab, cal_lab = test_lab[order[:heldout]], test_lab[order[heldout:heldout + calibration]]
    rest = test_lab[order[heldout + calibration:]]
    graph_lab = np.concatenate([train_lab, valid_lab, rest])
    if smoke:  # a small slice of the graph, entities of the held-out triples kept
        graph_lab = graph_lab[rng.permutation(len(graph_lab))[:20000]]
    tf = lambda lab: triples_factory_from_labeled(lab, e2i, r2i, create_inverse_triples=True)  # noqa: E731
    ds = KGEDataset("fb15k237-heldout", tf(graph_lab), tf(cal_lab), tf(held_lab))
    load_s = time.perf_counter() - t0
    _log(f"fb15k237: graph {len(graph_lab)} triples, held out {len(held_lab)}, calibration {len(cal_lab)}; "
         f"training ComplEx d={dim} for {budget:.0f} s")
    model = make_model("ComplEx", ds, embedding_dim=dim)
    cfg = OneVsAllConfig(epochs=1000, batch_size=1000, lr=0.1, regularizer_weight=0.05, eval_every=0,
                         time_budget_s=budget)
    res = train_one_vs_all(model, ds, cfg, on_epoch=lambda e, loss, _: _log(f"epoch {e}: loss {loss:.4f}"))
    p = KGEPredictor.from_model(model, e2i, r2i)
    graph_ids = ds.training.mapped_triples.numpy()
    known = set(map(tuple, graph_ids.tolist()))
    t1 = time.perf_counter()
    cal = fit_calibration(p, ds.validation.mapped_triples.numpy(), known, fitted_on="2,000 held-out FB15k-237 test triples")
    held = ds.testing.mapped_triples.numpy()
    known_t: dict[tuple[int, int], list[int]] = defaultdict(list)
    known_h: dict[tuple[int, int], list[int]] = defaultdict(list)
    for h, r, t in graph_ids.tolist():
        known_t[(h, r)].append(t)
        known_h[(r, t)].append(h)
    tail_q = np.unique(held[:, :2], axis=0)
    head_q = np.unique(held[:, 1:], axis=0)
    tails = dict(zip(map(tuple, tail_q.tolist()), top_k_links(p, tail_q, "tail", k, known=known_t)))
    heads = dict(zip(map(tuple, head_q.tolist()), top_k_links(p, head_q, "head", k, known=known_h)))
    tail_hit = [t in {e for e, _ in tails[(h, r)]} for h, r, t in held.tolist()]
    head_hit = [h in {e for e, _ in heads[(r, t)]} for h, r, t in held.tolist()]
    proposals = {(h, r, e) for (h, r), ans in tails.items() for e, _ in ans}
    held_set = set(map(tuple, held.tolist()))
    prop_arr = np.asarray(sorted(proposals), dtype=np.int64)
    prop_p = cal.probability(_score_ids(p, prop_arr))
    is_held = np.asarray([tuple(x) in held_set for x in prop_arr.tolist()])
    predict_s = time.perf_counter() - t1
    # calibration on held-out triples (not used for the fit) against as many uniform corruptions
    neg = corrupt(held, len(e2i), known | held_set, seed=1)
    probs = cal.probability(np.concatenate([_score_ids(p, held), _score_ids(p, neg)]))
    labels = np.concatenate([np.ones(len(held)), np.zeros(len(neg))])
    from kgkit.embed.evaluation import FastRankEvaluator

    filt = FastRankEvaluator(batch_size=512).evaluate(model, torch.as_tensor(held), additional_filter_triples=[
        ds.training.mapped_triples, ds.validation.mapped_triples]).metrics
    return {
        "graph_triples": int(len(graph_lab)), "heldout": int(len(held)), "calibration_triples": int(len(cal_lab)),
        "dim": dim, "time_budget_s": budget, "epochs": res.epochs, "train_seconds": round(res.seconds, 1),
        "load_seconds": round(load_s, 1), "predict_seconds": round(predict_s, 1), "k": k,
        "tail_in_top_k": int(sum(tail_hit)), "head_in_top_k": int(sum(head_hit)),
        "either_in_top_k": int(sum(a or b for a, b in zip(tail_hit, head_hit))),
        "tail_queries": int(len(tail_q)), "head_queries": int(len(head_q)), "proposals": int(len(proposals)),
        "proposals_heldout": int(is_held.sum()),
        "mean_probability_heldout_proposals": round(float(prop_p[is_held].mean()), 3) if is_held.any() else None,
        "mean_probability_other_proposals": round(float(prop_p[~is_held].mean()), 3),
        "calibration": {"a": round(cal.a, 4), "b": round(cal.b, 4), "fit_brier": round(cal.brier, 4),
                        "heldout_brier": round(float(np.mean((probs - labels) ** 2)), 4),
                        "heldout_ece": round(_ece(probs, labels), 4)},
        "filtered_mrr_heldout": round(filt["both.mrr"], 4), "filtered_hits@10_heldout": round(filt["both.hits@10"], 4),
        "losses": [round(x, 4) for x in res.losses],
    }


def _run_line(part: dict[str, Any]) -> str:
    return (f"Command: `{part['command']}`. Machine: {MACHINE}; torch threads: {part['threads']}. "
            f"Date: {part['date']}. Wall time {part['seconds']:.0f} s.")


def write_report(path: Path, fig: dict[str, Any]) -> None:
    lines = ["# Link prediction used downstream: candidate facts and plausibility (issue 16, item 3)", ""]
    s = fig.get("sample")
    if s:
        pr, g = s["predict"], s["gold"]
        lines += [
            "## Sample graph (`data/sample`)", "", _run_line(s), "",
            f"Ingested with the default pipeline (fusion on): {s['graph']['entities']} entities, {s['graph']['facts']} "
            f"accepted facts. Trained `{s['pipeline']}` on the graph (split 80/10/10 by fact id): {s['train']['epochs']} "
            f"epochs, {s['train']['seconds']} s, test MRR {s['train']['test_mrr']}, Hits@10 {s['train']['test_hits@10']}. "
            f"Calibration: {s['calibration']}.", "",
            f"`predict_candidates(k={s['k']}, min_probability={s['min_probability']})` (= `kgkit embed predict --top "
            f"{s['k']}`): {pr['queries']} queries (typed by the ontology's domain/range), {pr['proposed']} distinct "
            f"proposals, **{pr['kept']} written as candidate facts** in {pr['seconds']} s. A rerun wrote "
            f"{pr['rerun_written']} with the same ids: {pr['rerun_same_ids']}. Candidates in the default view: "
            f"**{pr['in_default_view']}**; in the audit view: {pr['in_audit_view']}. By relation: {pr['by_relation']}.", "",
            f"Against the sample's gold ({g['gold_facts']} true facts, {g['gold_missing_from_graph']} of them missing "
            f"from the extracted graph): **{g['candidates_in_gold']} candidates are gold facts**, recovering "
            f"{g['missing_gold_recovered']} of the {g['gold_missing_from_graph']} missing ones. Share of gold facts among "
            f"the most probable N candidates (a lower bound of precision: the gold lists only facts the documents "
            f"state): {g['precision_at']}.", "",
            "Most probable candidates: " + "; ".join(f"{t['s']} {t['p']} {t['o']} ({t['probability']}"
                                                      f"{', gold' if t['in_gold'] else ''})" for t in s["top"]) + ".", "",
            "Gold facts among the candidates (rank by probability): " + ("; ".join(
                f"#{t['rank']} {t['s']} {t['p']} {t['o']} ({t['probability']})" for t in s["gold_hits"]) or "none") + ".", "",
        ]
        ds = s.get("downstream")
        if ds:
            lines += [
                "### Downstream: stats, fusion's tie-breaker, undo", "",
                f"`kgkit stats` with the candidates written: facts (the view) {ds['stats']['facts']}, rejected facts "
                f"{ds['stats']['rejected_facts']}, candidate facts {ds['stats']['candidate_facts']}.", "",
                "Fusion again, without and with the model as tie-breaker (`kgkit fuse --plausibility-model RUN`), "
                "each run undone:", "",
                "| policy | conflicts | exact ties decided by the model | choices changed (gold: before/after) |",
                "|---|---|---|---|",
            ]
            for pol, r in ds["policies"].items():
                changed = "; ".join(f"{c['s']} {c['p']}: {c['before']} -> {c['after']} ({c['before_in_gold']}/"
                                    f"{c['after_in_gold']})" for c in r["changed"]) or "none"
                lines.append(f"| {pol} | {r['conflicts']} | {r['ties_broken']} | {changed} |")
            lines += ["", f"Every undo gave back the graph exactly, candidate facts included: {ds['undo_exact']} "
                          f"({ds['candidates_after_undo']} candidates after the last undo).", ""]
    f = fig.get("fb15k237")
    if f:
        c = f["calibration"]
        lines += [
            "## FB15k-237: held-out test triples back in the top 10", "", _run_line(f), "",
            f"{f['heldout']} test triples held out (seed 0) and {f['calibration_triples']} more for the calibration; "
            f"ComplEx d={f['dim']} + N3, 1-vs-all with reciprocal relations (kgkit's loop), trained on the other "
            f"{f['graph_triples']} triples (train + valid + rest of test) for a {f['time_budget_s']:.0f} s budget: "
            f"{f['epochs']} epochs in {f['train_seconds']} s. Proposals are filtered against the training graph only "
            f"(as `kgkit embed predict` filters against the user's graph), no types (FB15k-237 has none in kgkit).", "",
            "| held-out triples | back in the top 10 of their (h, r) | of their (r, t) | in either |",
            "|---|---|---|---|",
            f"| {f['heldout']} | **{f['tail_in_top_k']}** ({f['tail_in_top_k'] / f['heldout']:.1%}) | "
            f"{f['head_in_top_k']} ({f['head_in_top_k'] / f['heldout']:.1%}) | {f['either_in_top_k']} "
            f"({f['either_in_top_k'] / f['heldout']:.1%}) |", "",
            f"Filtered (standard) MRR of the same model on the held-out triples: {f['filtered_mrr_heldout']}, Hits@10 "
            f"{f['filtered_hits@10_heldout']}. The {f['tail_queries']} (h, r) queries gave {f['proposals']} proposals; "
            f"{f['proposals_heldout']} of them are held-out triples (mean calibrated probability "
            f"{f['mean_probability_heldout_proposals']} vs {f['mean_probability_other_proposals']} for the others).", "",
            f"Plausibility calibration (Platt, fitted on the {f['calibration_triples']} calibration triples vs one "
            f"uniform corruption each): a={c['a']}, b={c['b']}; on the held-out triples vs as many corruptions: Brier "
            f"{c['heldout_brier']} (0.25 = no information), expected calibration error {c['heldout_ece']} (10 bins).", "",
            f"Training loss by epoch: {f['losses']}.", "",
        ]
    # notes written by hand after a run (the section below the figures) survive a rerun
    notes = path.read_text(encoding="utf-8").split(HAND_NOTES, 1) if path.is_file() else []
    if len(notes) == 2:
        lines += [HAND_NOTES + notes[1].rstrip("\n")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("KGKIT_DATA"), help="datasets root (holds kge/fb15k237)")
    ap.add_argument("--parts", nargs="*", default=["sample", "fb15k237"], choices=["sample", "fb15k237"])
    ap.add_argument("--heldout", type=int, default=1000)
    ap.add_argument("--calibration", type=int, default=2000)
    ap.add_argument("--dim", type=int, default=200)
    ap.add_argument("--time-budget", type=float, default=1200.0, help="FB15k-237 training seconds")
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--min-probability", type=float, default=0.8)
    ap.add_argument("--out", default=str(REPO / "benchmarks/results/kge_predict.md"))
    ap.add_argument("--smoke", action="store_true", help="tiny: checks that the script runs")
    args = ap.parse_args(argv)
    import torch

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # a part not run now keeps its figures (and their command) from the previous run's JSON
    fig: dict[str, Any] = json.loads(out.with_suffix(".json").read_text()) if out.with_suffix(".json").is_file() else {}
    raw = list(argv if argv is not None else sys.argv[1:])
    meta = {"command": "python benchmarks/kge_predict.py " + " ".join(raw), "date": date.today().isoformat(),
            "threads": torch.get_num_threads()}
    if "sample" in args.parts:
        t0 = time.perf_counter()
        fig["sample"] = {**run_sample(args.top, args.min_probability, args.smoke), **meta,
                         "seconds": round(time.perf_counter() - t0, 1)}
        _log(f"sample: {json.dumps(fig['sample']['predict'])} gold {fig['sample']['gold']}")
    if "fb15k237" in args.parts:
        heldout, cal, dim, budget = (100, 200, 16, 20.0) if args.smoke else (args.heldout, args.calibration, args.dim,
                                                                            args.time_budget)
        t0 = time.perf_counter()
        fig["fb15k237"] = {**run_fb15k237(args.data, heldout, cal, dim, budget, args.top, args.smoke), **meta,
                           "seconds": round(time.perf_counter() - t0, 1)}
        _log("fb15k237: " + json.dumps({k: v for k, v in fig["fb15k237"].items() if k != "losses"}))
    out.with_suffix(".json").write_text(json.dumps(fig, indent=2, ensure_ascii=False))
    write_report(out, fig)
    _log(f"report in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
