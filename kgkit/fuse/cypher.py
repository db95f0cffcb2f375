"""Every Cypher statement the fusion stage runs (through ``GraphStore.query``), in one place.

Values are always parameters; the only text spliced in is a relationship type or label that has
passed :func:`kgkit.ontology.validate_identifier`. The subset used runs on FalkorDB and Neo4j 5.
"""

from __future__ import annotations

from kgkit.ontology import validate_identifier

ENTITY_IMAGES = """
UNWIND $ids AS id
MATCH (n:Entity {id: id})
RETURN n.id AS id, labels(n) AS labels, properties(n) AS props
"""

FACT_IMAGES = """
MATCH (s:Entity)-[r]->(o:Entity)
WHERE r.id IN $ids
RETURN r.id AS id, type(r) AS rel, s.id AS s, o.id AS o, properties(r) AS props
"""

EVIDENCE_IMAGES = """
MATCH (e:Evidence)
WHERE e.id IN $ids
RETURN e.id AS id, properties(e) AS props
"""

FACTS_TOUCHING = """
MATCH (s:Entity)-[r]->(o:Entity)
WHERE s.id IN $ids OR o.id IN $ids
RETURN r.id AS id
"""

EVIDENCE_TARGETING = """
MATCH (e:Evidence)
WHERE e.target IN $ids
RETURN e.id AS id
"""

DELETE_FACTS_BY_ID = """
MATCH (:Entity)-[r]->(:Entity)
WHERE r.id IN $ids
DELETE r
"""

DELETE_EVIDENCE_BY_ID = """
MATCH (e:Evidence)
WHERE e.id IN $ids
DELETE e
"""

DELETE_ENTITIES_BY_ID = """
MATCH (n:Entity)
WHERE n.id IN $ids
DETACH DELETE n
"""

# Anchored on the (indexed) subject id: matching relationships by id alone scans every edge per row.
SET_FACT_PROPS = """
UNWIND $rows AS row
MATCH (:Entity {id: row.s})-[r]->(:Entity)
WHERE r.id = row.id
SET r += row.props
"""

REPLACE_EVIDENCE = """
UNWIND $rows AS row
MERGE (e:Evidence {id: row.id})
SET e = row.props
"""

UPDATE_EVIDENCE = """
UNWIND $rows AS row
MATCH (e:Evidence {id: row.id})
SET e += row.props
"""


def replace_entities(labels: list[str]) -> str:
    """Recreate (or overwrite) entities with exactly ``row.props`` under ``labels``."""
    lab = ":".join(validate_identifier(x, "label") for x in labels)
    return f"""
UNWIND $rows AS row
MERGE (n:{lab} {{id: row.id}})
SET n = row.props
"""


def create_facts(rel_type: str) -> str:
    """Create relationships with exactly ``row.props`` (callers delete any old one first)."""
    rel_type = validate_identifier(rel_type, "relationship type")
    return f"""
UNWIND $rows AS row
MATCH (s:Entity {{id: row.s}})
MATCH (o:Entity {{id: row.o}})
CREATE (s)-[r:{rel_type}]->(o)
SET r = row.props
"""


# -- the fusion log ---------------------------------------------------------------------------------
CREATE_RUN = "CREATE (r:FusionRun) SET r = $props"
UPDATE_RUN = "MATCH (r:FusionRun {id: $id}) SET r += $props"
RUNS = "MATCH (r:FusionRun) RETURN properties(r) AS r ORDER BY r.started"
CREATE_NODES = {
    label: f"UNWIND $rows AS row CREATE (x:{validate_identifier(label)}) SET x = row"
    for label in ("MergeDecision", "Conflict", "FusionJournal")
}
JOURNAL_OF_RUN = "MATCH (j:FusionJournal {run_id: $run}) RETURN j.seq AS seq, j.kind AS kind, j.data AS data ORDER BY j.seq"
DELETE_RUN_NODES = """
MATCH (x)
WHERE (x:FusionRun AND x.id = $run) OR ((x:MergeDecision OR x:Conflict OR x:FusionJournal) AND x.run_id = $run)
DELETE x
"""
CONFLICTS_OF_RUN = "MATCH (c:Conflict {run_id: $run}) RETURN properties(c) AS c ORDER BY c.subject_name, c.predicate"
DECISIONS_OF_RUN = "MATCH (m:MergeDecision {run_id: $run}) RETURN properties(m) AS m ORDER BY m.canonical"
