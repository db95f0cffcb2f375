from __future__ import annotations

import pytest

from kgkit.reason.graph import GraphIndex, KBFormatError, load_kb
from kgkit.reason.paths import (
    enumerate_relation_paths,
    follow_path,
    path_from_names,
    path_to_names,
    shortest_path,
)
from kgkit.errors import ConfigError


def names(g, nodes):
    return sorted(g.names[int(i)] for i in nodes)


def test_index_counts_and_csr(movies):
    assert movies.num_facts == 23
    assert set(movies.relations) == {"directed_by", "starred_actors", "release_year", "has_genre", "written_by"}
    # every fact appears twice in the adjacency (forwards and backwards)
    assert movies.adj_nbr.shape[0] == 2 * movies.num_facts
    assert movies.degree(movies.node_id("Heat")) == 5


def test_follow_known_two_hop_path(movies):
    g = movies
    path = path_from_names(g, "directed_by^-1/starred_actors")
    got = follow_path(g, [g.node_id("Michael Mann")], path)
    assert names(g, got) == ["Al Pacino", "James Caan", "Robert De Niro", "Tom Cruise"]
    assert path_to_names(g, path) == "directed_by^-1/starred_actors"


def test_topic_is_excluded_even_through_cycles(movies):
    g = movies
    # Heat -> Michael Mann -> his films: Heat itself must not come back (cycle through the topic).
    path = path_from_names(g, "directed_by/directed_by^-1")
    assert names(g, follow_path(g, [g.node_id("Heat")], path)) == ["Collateral", "Thief"]


def test_enumeration_finds_paths_and_bounds_hubs():
    triples = [(f"m{i}", "has_genre", "Drama") for i in range(500)] + [("m0", "directed_by", "D")]
    g = GraphIndex.from_triples(triples)
    cands = enumerate_relation_paths(g, [g.node_id("m0")], max_hops=3, max_frontier=100)
    by_name = {path_to_names(g, c.path): c for c in cands}
    assert by_name["has_genre/has_genre^-1"].answers.shape[0] == 499
    assert by_name["has_genre/has_genre^-1"].truncated
    # the 499-node frontier is over the bound, so it is not expanded a third time
    assert not any(p.startswith("has_genre/has_genre^-1/") for p in by_name)
    assert "directed_by" in by_name


def test_shortest_path_bidirectional(movies):
    g = movies
    facts = shortest_path(g, g.node_id("Gene Hackman"), g.node_id("Al Pacino"), max_hops=6)
    # Hackman - The Conversation - Coppola - The Godfather - Pacino
    assert facts is not None and len(facts) == 4
    nodes = {g.names[g.heads[f]] for f in facts} | {g.names[g.tails[f]] for f in facts}
    assert nodes == {"Gene Hackman", "The Conversation", "Francis Ford Coppola", "The Godfather", "Al Pacino"}
    long = shortest_path(g, g.node_id("Gene Hackman"), g.node_id("Tom Cruise"), max_hops=10)
    assert long is not None and len(long) == 8
    assert shortest_path(g, g.node_id("Jim Cash"), g.node_id("Gene Hackman"), max_hops=1) is None


def test_kb_errors(tmp_path):
    bad = tmp_path / "kb.txt"
    bad.write_text("a|b\n")
    with pytest.raises(KBFormatError, match="expected 3 fields"):
        load_kb(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_kb(tmp_path / "missing.txt")


def test_fact_ids_deterministic(movies):
    assert movies.fact_id_of(0) == movies.fact_id_of(0)
    assert movies.fact_id_of(0).startswith("f:")
    assert len({movies.fact_id_of(i) for i in range(movies.num_facts)}) == movies.num_facts
