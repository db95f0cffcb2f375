"""Evaluation speed: kgkit's FastRankEvaluator vs PyKEEN 1.11.1's RankBasedEvaluator, same model, same run.

Trains TransE (d=200) on FB15k-237 for a few epochs (so the scores look like a real model's), then
evaluates the filtered validation split both ways with evaluation batch 256, asserts that every
optimistic / pessimistic rank is identical and the metrics match, and prints both times and the ratio.

    OMP_NUM_THREADS=2 flock /tmp/kgkit-heavy.lock python benchmarks/kge_eval_speed.py [--data DIR]

For L1 TransE kgkit ranks with a numba kernel. By default the script points numba's on-disk cache at a
fresh temporary folder, so kgkit's timed evaluation includes compiling the kernel from scratch (the
worst case, a fresh install); it then times loading the compiled kernel from that cache in a fresh
process (the usual case) and a second, in-process kgkit evaluation with the kernel already loaded.
``--no-numba`` measures kgkit's torch.cdist fallback instead.
"""

from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

METRIC_NAMES = {"mrr": "inverse_harmonic_mean_rank", "hits@1": "hits_at_1", "hits@3": "hits_at_3",
                "hits@10": "hits_at_10", "mean_rank": "arithmetic_mean_rank"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=None)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--dim", type=int, default=200)
    ap.add_argument("--norm", type=int, default=1, help="TransE scoring norm p (PyKEEN's default is 1)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--limit", type=int, default=None, help="evaluate only the first N validation triples")
    ap.add_argument("--skip-pykeen", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-numba", action="store_true", help="kgkit without the numba kernel (torch.cdist)")
    ap.add_argument("--warm-numba-cache", action="store_true",
                    help="use numba's usual cache instead of a fresh one (kgkit's time then excludes compiling)")
    args = ap.parse_args()
    if not args.warm_numba_cache:  # before numba is imported anywhere
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="kgkit-numba-cache-")
        atexit.register(shutil.rmtree, os.environ["NUMBA_CACHE_DIR"], ignore_errors=True)
    logging.getLogger("pykeen").setLevel(logging.ERROR)

    import torch
    from pykeen.evaluation import RankBasedEvaluator
    from pykeen.models import TransE
    from pykeen.training import SLCWATrainingLoop

    from kgkit.embed.datasets import load_local_dataset
    from kgkit.embed.evaluation import FastRankEvaluator

    ds = load_local_dataset("fb15k237", args.data)
    valid = ds.validation.mapped_triples
    if args.limit:
        valid = valid[: args.limit]
    print(f"FB15k-237: {ds.num_entities} entities, {ds.num_relations} relations, "
          f"{ds.training.num_triples} train, {len(valid)} valid (dropped for unseen entities: {ds.dropped['valid']})")
    model = TransE(triples_factory=ds.training, embedding_dim=args.dim, scoring_fct_norm=args.norm, random_seed=0)
    t0 = time.perf_counter()
    if args.epochs:
        loop = SLCWATrainingLoop(model=model, triples_factory=ds.training,
                                 negative_sampler_kwargs={"num_negs_per_pos": 32})
        loop.train(triples_factory=ds.training, num_epochs=args.epochs, batch_size=1024, use_tqdm=False)
    train_s = time.perf_counter() - t0
    print(f"trained TransE d={args.dim} p={args.norm}: {args.epochs} epoch(s) in {train_s:.1f} s")
    filt = [ds.training.mapped_triples]

    fast = FastRankEvaluator(batch_size=args.batch_size, use_numba=not args.no_numba)
    ours = fast.evaluate(model, valid, additional_filter_triples=filt)
    print(f"kgkit FastRankEvaluator: {ours.seconds:.1f} s (numba kernel: {fast.used_numba}; of which compiling/loading "
          f"it: {fast.kernel_load_seconds:.2f} s; rows with near-tie candidates re-ranked exactly: {fast.rescored_rows}, candidates: {fast.rescored_candidates})"
          f"  MRR {ours.metrics['both.mrr']:.6f} H@1 {ours.metrics['both.hits@1']:.6f} H@10 {ours.metrics['both.hits@10']:.6f}")
    out = {"ours_s": ours.seconds, "used_numba": fast.used_numba, "kernel_load_s": fast.kernel_load_seconds,
           "numba_cache": os.environ.get("NUMBA_CACHE_DIR", "default"),
           "rescored_rows": fast.rescored_rows, "rescored_candidates": fast.rescored_candidates, "ours": ours.metrics, "train_s": train_s, "n_valid": len(valid),
           "dim": args.dim, "norm": args.norm, "epochs": args.epochs, "machine": platform.machine(),
           "threads": torch.get_num_threads()}
    if fast.used_numba:
        warm = FastRankEvaluator(batch_size=args.batch_size).evaluate(model, valid, additional_filter_triples=filt)
        load = subprocess.run(
            [sys.executable, "-c", "from kgkit.embed import _l1_kernel as K; print(K.warm_up())"],
            capture_output=True, text=True, check=True, env=os.environ.copy())
        out.update(ours_warm_s=warm.seconds, kernel_cache_load_s=float(load.stdout.strip().splitlines()[-1]))
        print(f"kgkit again, kernel already loaded in this process: {warm.seconds:.1f} s; loading the compiled kernel "
              f"from numba's disk cache in a fresh process (incl. importing numba): {out['kernel_cache_load_s']:.2f} s")
    if not args.skip_pykeen:
        ev = RankBasedEvaluator(clear_on_finalize=False)
        t0 = time.perf_counter()
        res = ev.evaluate(model, valid, batch_size=args.batch_size, additional_filter_triples=filt, use_tqdm=False)
        pk_s = time.perf_counter() - t0
        same = {}
        for side in ("head", "tail"):
            for rt, mine in (("optimistic", ours.optimistic[side]), ("pessimistic", ours.pessimistic[side])):
                theirs = np.concatenate(ev.ranks[side, rt]).astype(np.int64)
                same[f"{side}.{rt}"] = int((theirs == mine.astype(np.int64)).sum())
        diffs = {}
        for key, v in ours.metrics.items():
            side, name = key.split(".")
            if name in METRIC_NAMES:
                diffs[key] = abs(res.get_metric(f"{side}.realistic.{METRIC_NAMES[name]}") - v)
        print(f"PyKEEN RankBasedEvaluator: {pk_s:.1f} s  MRR {res.get_metric('both.realistic.inverse_harmonic_mean_rank'):.6f}")
        print(f"identical ranks (of {len(valid)} per side and type): {same}")
        print(f"max |metric difference|: {max(diffs.values()):.2e}")
        print(f"speed-up: {pk_s / ours.seconds:.1f}x" + (
            f" (kgkit's kernel already loaded: {pk_s / out['ours_warm_s']:.1f}x)" if "ours_warm_s" in out else ""))
        out.update(pykeen_s=pk_s, speedup=pk_s / ours.seconds, identical_ranks=same, max_metric_diff=max(diffs.values()))
        assert all(v == len(valid) for v in same.values()), "ranks differ from PyKEEN's"
        assert max(diffs.values()) < 1e-6, "metrics differ from PyKEEN's"
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
