"""Blocking benchmark: candidate pairs and time on >= 50k synthetic entity names vs all pairs.

Names are synthetic persons and organisations (syllable-built, so no real-world list is needed);
about a third get a variant (initial, dropped given name, typo, diacritic, 'Last, First', acronym),
which gives the true duplicate pairs used for pair completeness (recall of blocking).

    OMP_NUM_THREADS=2 flock /tmp/kgkit-heavy.lock python benchmarks/fusion_blocking.py --n 50000
"""

from __future__ import annotations

import argparse
import random
import time


SYL = ["ka", "lo", "mi", "ra", "ten", "vor", "sha", "el", "do", "bri", "an", "gu", "pe", "zo", "li", "mar", "sen", "tu",
       "ha", "ni", "qui", "bel", "os", "fa", "ri", "yo", "ce", "dan", "um", "ve"]
ORG_WORDS = ["Institute", "Laboratories", "Systems", "Group", "Foundation", "University", "Works", "Bank", "Press", "Society"]
ACCENT = str.maketrans({"a": "á", "e": "é", "o": "ö", "u": "ü", "i": "í"})


def word(rng: random.Random, lo: int = 2, hi: int = 3) -> str:
    return "".join(rng.choice(SYL) for _ in range(rng.randint(lo, hi))).capitalize()


def variant(name: str, kind: str, rng: random.Random) -> str:
    parts = name.split()
    if kind == "person":
        first, last = parts[0], parts[-1]
        op = rng.randrange(5)
        if op == 0:
            return f"{first[0]}. {last}"
        if op == 1:
            return f"{last}, {first}"
        if op == 2:
            i = rng.randrange(1, len(last) - 1)
            return f"{first} {last[:i]}{last[i + 1:]}"  # deletion typo
        if op == 3:
            return f"{first} {last.translate(ACCENT)}"
        return f"Dr. {first} {last}"
    if rng.random() < 0.5:
        return "".join(p[0] for p in parts).upper()
    return name + " Inc."


def make_names(n: int, seed: int = 1) -> tuple[list[str], set[tuple[int, int]]]:
    rng = random.Random(seed)
    names: list[str] = []
    dup: set[tuple[int, int]] = set()
    firsts = [word(rng, 2, 2) for _ in range(2000)]
    while len(names) < n:
        if rng.random() < 0.8:
            name, kind = f"{rng.choice(firsts)} {word(rng, 2, 4)}", "person"
        else:
            name, kind = f"{word(rng)} {word(rng)} {rng.choice(ORG_WORDS)}", "org"
        names.append(name)
        if rng.random() < 0.35 and len(names) < n:
            names.append(variant(name, kind, rng))
            dup.add((len(names) - 2, len(names) - 1))
    return names, dup


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--max-block-size", type=int, default=50)
    ap.add_argument("--ann-k", type=int, default=10)
    ap.add_argument("--no-ann", action="store_true")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from kgkit.fuse.blocking import ann_block_pairs, ngram_block_pairs, token_block_pairs
    from kgkit.fuse.scoring import EntityView, ScoringParams, score_pair

    names, dup = make_names(args.n)
    n = len(names)
    all_pairs = n * (n - 1) // 2
    print(f"names: {n}  true duplicate pairs: {len(dup)}  all pairs: {all_pairs:,}")

    rows = []
    t = time.perf_counter()
    tok = token_block_pairs(names, max_block_size=args.max_block_size)
    rows.append(("token+acronym keys", tok, time.perf_counter() - t))
    t = time.perf_counter()
    ng = ngram_block_pairs(names, max_block_size=args.max_block_size)
    rows.append(("char 3-gram keys", ng, time.perf_counter() - t))
    union = tok | ng
    if not args.no_ann:
        from kgkit.fuse.embeddings import NameEmbedder

        emb = NameEmbedder(device=args.device, batch_size=512)
        t = time.perf_counter()
        emb.warm_up()
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        vecs = emb.encode(names)
        t_enc = time.perf_counter() - t
        t = time.perf_counter()
        ann = ann_block_pairs(vecs, k=args.ann_k, min_similarity=0.6)
        t_ann = time.perf_counter() - t
        print(f"embedding: model load {t_load:.1f}s, encode {n} names {t_enc:.1f}s ({n / t_enc:.0f} names/s)")
        rows.append((f"HNSW ANN k={args.ann_k} (index+query)", ann, t_ann))
        union |= ann
    total_t = sum(r[2] for r in rows)
    rows.append(("union (all key families)", union, total_t))

    print(f"{'method':38} {'candidate pairs':>16} {'pairs/name':>10} {'% of all pairs':>15} {'recall':>8} {'time s':>8}")
    for label, pairs, secs in rows:
        rec = len(dup & pairs) / len(dup) if dup else 0.0
        print(f"{label:38} {len(pairs):16,} {len(pairs) / n:10.2f} {100 * len(pairs) / all_pairs:15.5f} {rec:8.3f} {secs:8.2f}")

    # Scoring cost: score the candidate pairs (measured on a sample), extrapolate all-pairs at the same rate.
    rng = random.Random(3)
    views = [EntityView(str(i), x, "Person") for i, x in enumerate(names)]
    sample = rng.sample(sorted(union), min(20_000, len(union)))
    p = ScoringParams()
    t = time.perf_counter()
    for i, j in sample:
        score_pair(views[i], views[j], p)
    per_pair = (time.perf_counter() - t) / len(sample)
    print(f"pair scoring: {per_pair * 1e6:.1f} us/pair -> candidates {per_pair * len(union):.1f}s, "
          f"all pairs (extrapolated, not run) {per_pair * all_pairs / 3600:.1f}h; "
          f"candidate/all ratio {len(union) / all_pairs:.2e}")


if __name__ == "__main__":
    main()
