"""Read-only queries: the guard refuses what may hurt, and the stores enforce a time/memory budget."""

from __future__ import annotations

import time

import pytest

from kgkit.errors import QueryBudgetError, ReadOnlyQueryError
from kgkit.store.readonly import MAX_NESTING, check_read_only_query, tokenize

NESTED = "RETURN " + "[" * 40 + "1" + "]" * 40


# -- the guard alone ------------------------------------------------------------------------------
@pytest.mark.parametrize("cypher", [
    "LOAD CSV FROM 'http://169.254.169.254/latest/meta-data' AS row RETURN row",
    "load csv with headers from 'file:///etc/passwd' as r return r",
    "TERMINATE TRANSACTIONS 'neo4j-transaction-1'",
    "SHOW TRANSACTIONS",
    "SHOW USERS",
    "SHOW ALL PRIVILEGES",
    "SHOW SETTINGS YIELD name, value",
    "CREATE USER eve SET PASSWORD 'x'",
    "CREATE OR REPLACE DATABASE x",
    "DROP DATABASE neo4j",
    "STOP DATABASE neo4j",
    "START DATABASE neo4j",
    "ALTER USER neo4j SET PASSWORD 'x'",
    "GRANT ROLE admin TO eve",
    "DENY READ ON GRAPH * TO eve",
    "REVOKE ROLE admin FROM eve",
    "MATCH (n) CALL { LOAD CSV FROM 'http://x' AS r RETURN r } RETURN n",
    "CALL dbms.killQuery('q-1')",
    "CALL apoc.load.json('http://x')",
    "CALL `dbms`.`listConfig`()",
    "MATCH (n) /* harmless */ CALL db.clearQueryCaches() RETURN n",
])
def test_guard_refuses_with_the_way_out(cypher: str) -> None:
    with pytest.raises(ReadOnlyQueryError, match=r"--write|CALL these procedures"):
        check_read_only_query(cypher)


@pytest.mark.parametrize("cypher", [
    "MATCH (n) WHERE n.name = 'LOAD CSV FROM http://x' RETURN n",
    'MATCH (n) WHERE n.note = "TERMINATE TRANSACTIONS; DROP DATABASE" RETURN n',
    "MATCH (n) // SHOW USERS\nRETURN n",
    "MATCH (n) /* CALL dbms.killQuery() */ RETURN n.show, n.drop AS `drop`",
    "MATCH (n:Entity) RETURN {show: n.name, grant: 1} AS m",
    "CALL db.labels() YIELD label RETURN label",
    "CALL db.schema.visualization()",
    "SHOW INDEXES YIELD name RETURN name",
    "SHOW NODE PROPERTY EXISTENCE CONSTRAINTS",
    "MATCH (n) CALL (n) { MATCH (n)--(m) RETURN count(m) AS c } RETURN c",
    "MATCH (n) CALL { WITH n RETURN n.name AS x } RETURN x",
    "MATCH (n) WHERE n.name = 'it''s' OR n.name = 'a \\' CALL x()' RETURN n",
    "UNWIND range(0, size($xs) - 1) AS i RETURN $xs[i]",
    "UNWIND range(1, $n) AS i RETURN i",
])
def test_guard_lets_reads_through(cypher: str) -> None:
    check_read_only_query(cypher, {"xs": [1, 2], "n": 10}, max_range=10_000_000)


def test_keywords_inside_strings_and_comments_are_not_tokens() -> None:
    words = [t.text for t in tokenize("RETURN 'LOAD CSV' /* TERMINATE */ // DROP\n, \"SHOW\"") if t.kind == "word"]
    assert words == ["RETURN"]


def test_deep_nesting_is_refused_and_shallow_nesting_passes() -> None:
    check_read_only_query("RETURN " + "[" * MAX_NESTING + "1" + "]" * MAX_NESTING)
    with pytest.raises(QueryBudgetError, match="nests brackets deeper"):
        check_read_only_query(NESTED)


@pytest.mark.parametrize("cypher, params", [
    ("UNWIND range(1, 100000000000) AS x RETURN count(x)", {}),
    ("UNWIND range(1, $to) AS x RETURN count(x)", {"to": 10**11}),
    ("UNWIND range(1, 10^11) AS x RETURN count(x)", {}),
    ("UNWIND range(1, 100000 * 100000) AS x RETURN count(x)", {}),
    ("UNWIND range(1, toInteger('100000000000')) AS x RETURN x", {}),
])
def test_huge_ranges_are_refused_when_sized(cypher: str, params: dict) -> None:
    with pytest.raises(QueryBudgetError, match="range"):
        check_read_only_query(cypher, params, max_range=10_000_000)


def test_allow_list_is_configurable() -> None:
    check_read_only_query("CALL algo.pageRank(null, null)", allowed_procedures=["algo.*"])
    with pytest.raises(ReadOnlyQueryError, match="algo.pageRank"):
        check_read_only_query("CALL algo.pageRank(null, null)")


# -- both stores ----------------------------------------------------------------------------------
@pytest.fixture(params=["falkordb", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest):
    s = request.getfixturevalue(f"{request.param}_store")
    s.query("CREATE (:Entity {id: 'e1', name: 'LOAD CSV'})", write=True)
    return s


def test_store_refuses_load_csv_and_admin_commands_before_the_server_sees_them(store) -> None:
    with pytest.raises(ReadOnlyQueryError, match="--write"):
        store.query("LOAD CSV FROM 'http://127.0.0.1:9/x.csv' AS row RETURN row")
    with pytest.raises(ReadOnlyQueryError, match="--write"):
        store.query("TERMINATE TRANSACTIONS 'neo4j-transaction-1'")
    with pytest.raises(ReadOnlyQueryError, match="CALL these procedures"):
        store.query("CALL dbms.procedures()")
    assert store.query("MATCH (n:Entity) WHERE n.name = 'LOAD CSV' RETURN n.id AS id") == [{"id": "e1"}]
    assert {"label": "Entity"} in store.query("CALL db.labels() YIELD label RETURN label")


def test_huge_range_is_a_quick_budget_error_and_the_server_survives(store) -> None:
    store.read_timeout = 2.0  # Neo4j streams range() lazily: its transaction timeout stops it
    t0 = time.monotonic()
    with pytest.raises(QueryBudgetError):
        store.query("UNWIND range(1, 100000000000) AS x RETURN count(x) AS c")
    assert time.monotonic() - t0 < 15
    assert store.query("MATCH (n:Entity) RETURN count(n) AS c") == [{"c": 1}]


def test_deeply_nested_literal_is_refused_and_the_server_survives(store) -> None:
    t0 = time.monotonic()
    with pytest.raises(QueryBudgetError, match="nests brackets"):
        store.query(NESTED)
    assert time.monotonic() - t0 < 1
    assert store.query("RETURN 1 AS one") == [{"one": 1}]


def test_falkordb_time_budget_stops_a_long_read(falkordb_store) -> None:
    falkordb_store.read_timeout_ms = 500
    t0 = time.monotonic()
    with pytest.raises(QueryBudgetError, match="time budget"):
        falkordb_store.query("UNWIND range(1, 3000) AS x UNWIND range(1, 3000) AS y UNWIND range(1, 3000) AS z RETURN count(*)")
    assert time.monotonic() - t0 < 10
    assert falkordb_store.query("RETURN 1 AS one") == [{"one": 1}]


def test_falkordb_memory_cap_stops_a_big_read(falkordb_store) -> None:
    falkordb_store._db.connection.execute_command("GRAPH.CONFIG", "SET", "QUERY_MEM_CAPACITY", 32 << 20)
    try:
        with pytest.raises(QueryBudgetError, match="more memory"):
            falkordb_store.query("UNWIND range(1, 5000000) AS x WITH collect(x) AS l RETURN size(l)")
    finally:
        falkordb_store._db.connection.execute_command("GRAPH.CONFIG", "SET", "QUERY_MEM_CAPACITY", falkordb_store.server.query_mem_capacity)
    assert falkordb_store.query("RETURN 1 AS one") == [{"one": 1}]


@pytest.mark.neo4j
def test_neo4j_write_mode_still_runs_admin_free_writes(neo4j_store) -> None:
    neo4j_store.query("CREATE (:Entity {id: 'w'})", write=True)
    with pytest.raises(ReadOnlyQueryError, match="--write"):
        neo4j_store.query("CREATE (:Entity {id: 'x'})")


def test_cli_query_refuses_without_write_and_names_the_fix(tmp_path) -> None:
    from typer.testing import CliRunner

    from kgkit.cli.main import app

    work = ["--workdir", str(tmp_path / "w")]
    res = CliRunner().invoke(app, ["query", "LOAD CSV FROM 'http://127.0.0.1:9/x' AS row RETURN row", *work])
    assert res.exit_code == 1 and "--write" in res.output
    res = CliRunner().invoke(app, ["query", "UNWIND range(1, 100000000000) AS x RETURN count(x)", *work])
    assert res.exit_code == 1 and "range()" in res.output
    res = CliRunner().invoke(app, ["query", "RETURN 'TERMINATE TRANSACTIONS' AS s", "--format", "json", *work])
    assert res.exit_code == 0 and "TERMINATE TRANSACTIONS" in res.output
