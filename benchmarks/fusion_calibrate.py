"""Calibrate fusion's merge threshold: pair precision by score on labelled dev data.

    python benchmarks/fusion_calibrate.py [--no-embeddings] [--target 0.95] [--out benchmarks/results/fusion_calibration.md]

Two dev sets, both read in place:

* the sample corpus (``data/sample``, ingested with the default spaCy pipeline into a scratch store):
  every pair fusion's blocking and scoring proposes (score >= ``ambiguous_threshold``, cannot-link
  rules applied) between two entities whose names are unambiguous gold aliases in ``GOLD.yaml`` is
  labelled same/different from the gold;
* the entity-matching sets in ``$KGKIT_DATA/fusion/er`` (train and valid of DBLP-ACM, Abt-Buy,
  Amazon-Google): each labelled record pair, reduced to its first attribute (title / product name) as
  an entity name, scored by the same ``score_pair`` (no graph context there).

For each threshold ``t`` it prints the precision of the pairs fusion would merge on their own (score
>= t and not review-only: acronyms, initials without a shared fact), and picks the smallest ``t``
whose precision on the sample corpus is >= ``--target`` at ``t`` and at every higher threshold.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kgkit.fuse.scoring import EntityView, ScoringParams, needs_review, score_pair  # noqa: E402

THRESHOLDS = [round(0.6 + 0.01 * i, 2) for i in range(41)]


def sample_pairs(use_embeddings: bool) -> list[tuple[float, str, bool, str, str]]:
    """(score, rule, same?, name a, name b) for proposed pairs between gold-mapped entities."""
    import yaml

    from kgkit.api import KnowledgeGraph
    from kgkit.eval.fusion import _gold_alias_index
    from kgkit.fuse.blocking import BlockingParams
    from kgkit.fuse.graph import build_views, load_snapshot
    from kgkit.fuse.normalize import match_key
    from kgkit.fuse.resolution import score_candidates

    corpus = REPO / "data" / "sample"
    gold = yaml.safe_load((corpus / "GOLD.yaml").read_text(encoding="utf-8"))
    alias_gold = _gold_alias_index(gold)
    out = []
    with tempfile.TemporaryDirectory(prefix="kgkit-calib-") as tmp, KnowledgeGraph(None, workdir=Path(tmp)) as kg:
        kg.ingest(corpus, fuse=False)
        snap = load_snapshot(kg.store)
        views = build_views(snap, kg.ontology)
        embedder = None
        if use_embeddings:
            from kgkit.fuse.embeddings import NameEmbedder

            embedder = NameEmbedder(device="cpu")
        sp = score_candidates(views, ontology=kg.ontology, scoring=ScoringParams(),
                              blocking=BlockingParams(ann_k=10 if use_embeddings else 0), embedder=embedder)
        for ps in sp.scored:
            a, b = sp.by_id[ps.a], sp.by_id[ps.b]
            ga, gb = alias_gold.get(match_key(a.name)), alias_gold.get(match_key(b.name))
            if ga and gb and needs_review(ps) is None:
                out.append((ps.score, ps.rule, ga == gb, a.name, b.name))
    return out


def er_pairs() -> dict[str, list[tuple[float, str, bool, str, str]]]:
    from kgkit.eval.fusion import ER_SPLITS, load_er_split
    from kgkit.fuse.datasets import data_root

    root = data_root(None)
    params = ScoringParams()
    out: dict[str, list[tuple[float, str, bool, str, str]]] = {}
    for name, splits in ER_SPLITS.items():
        rows = []
        for split in splits:
            if split == "test":
                continue  # never calibrate on test
            for a, b, label in load_er_split(root, name, split):
                attr = next(iter(a))
                va = EntityView(id="a", name=str(a.get(attr, "")), type="Work")
                vb = EntityView(id="b", name=str(b.get(attr, "")), type="Work")
                if not va.name or not vb.name:
                    continue
                ps = score_pair(va, vb, params)
                if needs_review(ps) is None:
                    rows.append((ps.score, ps.rule, bool(label), va.name, vb.name))
        out[name] = rows
    return out


def precision_table(pairs: list[tuple[float, str, bool, str, str]]) -> list[tuple[float, int, int, float | None]]:
    table = []
    for t in THRESHOLDS:
        sel = [p for p in pairs if p[0] >= t - 1e-9]
        tp = sum(p[2] for p in sel)
        table.append((t, len(sel), tp, tp / len(sel) if sel else None))
    return table


def pick_threshold(table: list[tuple[float, int, int, float | None]], target: float) -> float | None:
    for i, (t, _, _, _) in enumerate(table):
        if all(prec is None or prec >= target for _, _, _, prec in table[i:]):
            return t
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-embeddings", action="store_true")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "fusion_calibration.md")
    a = ap.parse_args()
    t0 = time.perf_counter()
    sample = sample_pairs(not a.no_embeddings)
    er = er_pairs()
    st = precision_table(sample)
    chosen = pick_threshold(st, a.target)
    lines = [
        "# Fusion merge-threshold calibration",
        "",
        f"Command: `python benchmarks/fusion_calibrate.py{' --no-embeddings' if a.no_embeddings else ''}` "
        f"(KGKIT_DATA={os.environ.get('KGKIT_DATA', '')}). Machine: 2-core x86-64 VM, 24 GiB. "
        f"Date: {time.strftime('%Y-%m-%d')}. {time.perf_counter() - t0:.0f} s.",
        "",
        "Pairs counted are those fusion would merge on their score alone (acronym pairs and initials without "
        "a shared fact are review-only and excluded). Split: sample corpus = all 40 documents (gold: GOLD.yaml, "
        "entities whose name is an unambiguous gold alias); entity matching = train + valid (never test).",
        "",
        f"Sample corpus: {len(sample)} labelled proposed pairs; rules {dict(Counter(p[1] for p in sample))}.",
        "",
        "| threshold | sample pairs >= t | correct | precision | " + " | ".join(f"{n} pairs / precision" for n in er) + " |",
        "|---:|---:|---:|---:|" + "---:|" * len(er),
    ]
    er_tables = {n: precision_table(rows) for n, rows in er.items()}
    for i, (t, n, tp, prec) in enumerate(st):
        if i % 5 and t not in (chosen,):
            continue
        cells = [f"{er_tables[nm][i][1]} / {er_tables[nm][i][3]:.3f}" if er_tables[nm][i][3] is not None else "0 / -"
                 for nm in er]
        lines.append(f"| {t:.2f} | {n} | {tp} | {prec:.3f} | " .replace("None", "-") + " | ".join(cells) + " |"
                     if prec is not None else f"| {t:.2f} | 0 | 0 | - | " + " | ".join(cells) + " |")
    lines += ["", f"Chosen merge threshold (smallest t with sample precision >= {a.target} at t and above): **{chosen}**", "",
              "Reading: no sample pair scores between the chosen threshold and 0.95, so every threshold in that "
              "plateau has the same measured precision; the pipeline default is 0.85 (inside it, away from the "
              "0.80 of an uncorroborated surname or partial-name match, whose precision on the sample is 7/9). "
              "Pairs below the threshold are kept as review candidates, not merged. On the entity-matching sets "
              "almost every pair at or above 0.6 is an exact (folded) title or product-name match, and those are "
              "not identity there (DBLP-ACM ~0.89, Amazon-Google ~0.5 precision: reprints, editions, product "
              "variants share a name); kgkit's store already keys an entity by its normalised name and type, so "
              "fusion's exact rule only adds folding (diacritics, punctuation, a leading 'the', titles before a "
              "person's name, corporate suffixes), with the review rules above for what folding gets wrong.", ""]
    wrong = sorted((p for p in sample if not p[2]), key=lambda p: -p[0])
    lines.append("Wrong proposed pairs on the sample corpus (score, rule, names):")
    lines.append("")
    lines += [f"- {s:.3f} {r}: {x!r} / {y!r}" for s, r, _, x, y in wrong[:40]]
    a.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
