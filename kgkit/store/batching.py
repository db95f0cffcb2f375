"""Write plans: how a big write is cut into batches that may run at the same time.

A *statement* is one Cypher text with its parameters (one ``UNWIND $rows`` batch, one transaction).
A *job* is a list of statements that one writer runs in order; a *phase* is a list of jobs that may
run concurrently. A store with one writer (FalkorDB) simply runs every statement in order.

Nodes keyed by distinct ids never conflict, so entity and evidence batches are spread over the
writers as they come. Relationships do conflict: creating one locks both endpoint nodes (and, in
Neo4j's record format, the first relationship of each endpoint's chain), so two transactions that
touch the same node in opposite orders deadlock. :func:`fact_phases` uses "mix and batch": every
entity id is hashed into one of ``2 * writers`` buckets, a fact goes to the cell of its two endpoint
buckets, and each phase holds cells that share no bucket (a round-robin tournament schedule), so
concurrent jobs touch disjoint node sets. What remains (chain-head locks shared through a
relationship created in an earlier phase) is rare; the driver retries it, and every write is an
idempotent ``MERGE``, so a retried batch cannot duplicate anything.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["Job", "Phase", "Statement", "batches", "bucket", "fact_phases", "round_robin_rounds", "spread"]

Statement = tuple[str, dict[str, Any]]
Job = list[Statement]
Phase = list[Job]


def batches(rows: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(rows[i : i + size]) for i in range(0, len(rows), size)]


def spread(statements: Sequence[Statement], writers: int) -> Phase:
    """Deal independent statements round-robin into at most ``writers`` jobs (one phase)."""
    if not statements:
        return []
    n = max(1, min(writers, len(statements)))
    jobs: Phase = [[] for _ in range(n)]
    for i, stmt in enumerate(statements):
        jobs[i % n].append(stmt)
    return jobs


def bucket(entity_id: str, n_buckets: int) -> int:
    """A stable bucket for an entity id (crc32, the same in every process)."""
    return zlib.crc32(entity_id.encode("utf-8")) % n_buckets


def round_robin_rounds(n_buckets: int) -> list[list[tuple[int, int]]]:
    """Rounds of bucket pairs in which no bucket appears twice, covering every pair once.

    The first round is the diagonal ``(i, i)``; then the circle method for a round-robin
    tournament gives ``n_buckets - 1`` rounds of ``n_buckets / 2`` disjoint pairs.
    ``n_buckets`` must be even.
    """
    if n_buckets < 2 or n_buckets % 2:
        raise ValueError(f"n_buckets must be an even number >= 2, got {n_buckets}")
    rounds = [[(i, i) for i in range(n_buckets)]]
    ring = list(range(n_buckets))
    for _ in range(n_buckets - 1):
        pairs = [(min(ring[i], ring[-1 - i]), max(ring[i], ring[-1 - i])) for i in range(n_buckets // 2)]
        rounds.append(sorted(pairs))
        ring = [ring[0], ring[-1], *ring[1:-1]]
    return rounds


def fact_phases(
    rows_by_type: Mapping[str, Sequence[Mapping[str, Any]]],
    statement_for: Callable[[str], str],
    *,
    batch_size: int,
    writers: int,
) -> list[Phase]:
    """Plan the relationship batches of one write.

    Args:
        rows_by_type: fact rows (with endpoint ids ``s`` and ``o``) per relationship type.
        statement_for: the ``UNWIND`` statement for a relationship type.
        batch_size: rows per statement.
        writers: concurrent writers; 1 gives a single job with every batch in order.

    Returns:
        Phases to run one after the other; the jobs inside a phase touch disjoint node sets.
    """
    total = sum(len(rows) for rows in rows_by_type.values())
    if writers <= 1 or total <= batch_size:
        return [[[(statement_for(t), {"rows": b}) for t, rows in rows_by_type.items() for b in batches(rows, batch_size)]]]
    n_buckets = 2 * writers
    cells: dict[tuple[int, int], dict[str, list[Mapping[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for rel_type, rows in rows_by_type.items():
        for row in rows:
            a, b = bucket(row["s"], n_buckets), bucket(row["o"], n_buckets)
            cells[(min(a, b), max(a, b))][rel_type].append(row)
    phases: list[Phase] = []
    for rnd in round_robin_rounds(n_buckets):
        phase: Phase = []
        for cell in rnd:
            job = [(statement_for(t), {"rows": b}) for t, rows in cells.get(cell, {}).items() for b in batches(rows, batch_size)]
            if job:
                phase.append(job)
        if phase:
            phases.append(phase)
    return phases
