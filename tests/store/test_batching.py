"""Write plans: concurrent fact batches must touch disjoint nodes and cover every row exactly once."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from kgkit.store.batching import bucket, fact_phases, round_robin_rounds, spread


@pytest.mark.parametrize("k", [2, 4, 6, 8])
def test_round_robin_covers_every_pair_once_with_disjoint_rounds(k):
    rounds = round_robin_rounds(k)
    pairs = [p for rnd in rounds for p in rnd]
    assert sorted(pairs) == sorted([(i, i) for i in range(k)] + list(combinations(range(k), 2)))
    for rnd in rounds:
        used = [b for p in rnd for b in set(p)]
        assert len(used) == len(set(used)), f"a bucket appears twice in round {rnd}"


def test_round_robin_rejects_odd_bucket_counts():
    with pytest.raises(ValueError, match="even"):
        round_robin_rounds(3)


def _rows(n_rows: int, n_nodes: int, seed: int = 3) -> dict[str, list[dict[str, str]]]:
    rng = random.Random(seed)
    out: dict[str, list[dict[str, str]]] = {"A": [], "B": []}
    for i in range(n_rows):
        s, o = rng.randrange(n_nodes), rng.randrange(n_nodes)
        out["AB"[i % 2]].append({"id": f"f{i}", "s": f"n{s}", "o": f"n{o}"})
    return out


def test_fact_phases_cover_every_row_once_and_concurrent_jobs_share_no_node():
    rows = _rows(5000, 300)
    phases = fact_phases(rows, lambda t: f"STMT {t}", batch_size=64, writers=2)
    seen: list[str] = []
    for phase in phases:
        nodes_per_job = []
        for job in phase:
            nodes: set[str] = set()
            for stmt, params in job:
                assert len(params["rows"]) <= 64
                rel = stmt.split()[1]
                assert all(r in rows[rel] for r in params["rows"]), "a row went to the wrong statement"
                seen += [r["id"] for r in params["rows"]]
                nodes |= {r["s"] for r in params["rows"]} | {r["o"] for r in params["rows"]}
            nodes_per_job.append(nodes)
        for a, b in combinations(nodes_per_job, 2):
            assert not a & b, "two jobs of one phase touch the same node"
    assert sorted(seen) == sorted(r["id"] for rs in rows.values() for r in rs)
    assert len(phases) == 4  # diagonal round + 3 rounds of 4 buckets
    assert max(len(p) for p in phases) >= 2, "nothing would run concurrently"


def test_one_writer_or_a_small_write_is_a_single_ordered_job():
    rows = _rows(500, 50)
    for writers, batch in ((1, 64), (4, 1000)):
        phases = fact_phases(rows, lambda t: t, batch_size=batch, writers=writers)
        assert len(phases) == 1 and len(phases[0]) == 1
        assert sum(len(p["rows"]) for _, p in phases[0][0]) == 500


def test_spread_and_bucket():
    stmts = [("S", {"i": i}) for i in range(7)]
    jobs = spread(stmts, 3)
    assert [len(j) for j in jobs] == [3, 2, 2]
    assert sorted(p["i"] for j in jobs for _, p in j) == list(range(7))
    assert spread([], 3) == [] and len(spread(stmts[:1], 3)) == 1
    assert bucket("Person:ada lovelace", 4) == bucket("Person:ada lovelace", 4)  # crc32, not hash()
    assert {bucket(f"e{i}", 4) for i in range(100)} == {0, 1, 2, 3}
