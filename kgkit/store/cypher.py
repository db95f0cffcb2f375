"""Every Cypher statement kgkit's stores run, in one place.

All values travel as parameters. The only text ever put into a statement is a label or relationship
type that has passed :func:`kgkit.ontology.validate_identifier` (see :func:`upsert_entities` and
:func:`upsert_facts`). The statements are written in the subset of Cypher that both FalkorDB and
Neo4j 5 run; dialect-specific schema statements live in each store module.

Note: FalkorDB 4.x crashes on ``MERGE ... ON MATCH SET r.x = CASE ... r.x ...`` for relationships,
so confidence is kept with a plain ``SET`` after the ``MERGE``.
"""

from __future__ import annotations

from kgkit.ontology import validate_identifier

CLEAR = "MATCH (n) DETACH DELETE n"

UPSERT_DOCUMENTS = """
UNWIND $rows AS row
MERGE (d:Document {id: row.id})
SET d.path = row.path, d.content_hash = row.content_hash, d.title = row.title, d.media_type = row.media_type
"""


def upsert_entities(label: str, *, return_handles: bool = False) -> str:
    """Entity rows of one label. ``return_handles`` (Neo4j only) also returns each node's ``elementId``."""
    label = validate_identifier(label, "entity type")
    stmt = f"""
UNWIND $rows AS row
MERGE (n:Entity:{label} {{id: row.id}})
ON CREATE SET n.name = row.name, n.type = row.type, n.norm = row.norm, n.aliases = row.aliases
SET n.aliases = CASE WHEN n.aliases IS NULL THEN row.aliases
                     ELSE n.aliases + [a IN row.aliases WHERE NOT a IN n.aliases] END
"""
    return stmt + "RETURN row.id AS id, elementId(n) AS h\n" if return_handles else stmt


_FACT_SET = """SET r.predicate = row.p,
    r.confidence = CASE WHEN r.confidence IS NULL OR row.c > r.confidence THEN row.c ELSE r.confidence END
"""


def upsert_facts(rel_type: str) -> str:
    rel_type = validate_identifier(rel_type, "relationship type")
    return f"""
UNWIND $rows AS row
MATCH (s:Entity {{id: row.s}})
MATCH (o:Entity {{id: row.o}})
MERGE (s)-[r:{rel_type} {{id: row.id}}]->(o)
{_FACT_SET}"""


def upsert_facts_by_handle(rel_type: str) -> str:
    """Neo4j only: :func:`upsert_facts` with the endpoints found by ``elementId`` (rows carry ``sh``/``oh``
    from ``upsert_entities(return_handles=True)``), which skips two locking index seeks per row.

    A handle that no longer points at the right entity (the node was deleted and its id reused)
    drops the row; the returned count tells the caller to rerun the batch with :func:`upsert_facts`.
    """
    rel_type = validate_identifier(rel_type, "relationship type")
    return f"""
UNWIND $rows AS row
MATCH (s) WHERE elementId(s) = row.sh
MATCH (o) WHERE elementId(o) = row.oh
WITH row, s, o WHERE s.id = row.s AND o.id = row.o AND s:Entity AND o:Entity
MERGE (s)-[r:{rel_type} {{id: row.id}}]->(o)
{_FACT_SET}RETURN count(*) AS n
"""


UPSERT_EVIDENCE = """
UNWIND $rows AS row
MERGE (e:Evidence {id: row.id})
SET e += row
"""

EVIDENCE_TARGETS_OF_DOCUMENT = """
MATCH (e:Evidence {document_id: $doc})
RETURN e.kind AS kind, e.target AS target, e.subject AS subject, e.object AS object
"""

DELETE_EVIDENCE_OF_DOCUMENT = """
MATCH (e:Evidence {document_id: $doc})
DELETE e
RETURN count(*) AS n
"""

DELETE_DOCUMENT = "MATCH (d:Document {id: $doc}) DELETE d"

EVIDENCE_COUNTS = """
UNWIND $ids AS id
OPTIONAL MATCH (e:Evidence {target: id})
RETURN id, count(e) AS n
"""

DELETE_FACTS = """
MATCH (:Entity)-[r]->(:Entity)
WHERE r.id IN $ids
DELETE r
RETURN count(*) AS n
"""

# Anchored on both endpoints, so the entity index is used instead of a scan of all relationships.
DELETE_FACTS_ANCHORED = """
UNWIND $rows AS row
MATCH (:Entity {id: row.s})-[r]->(:Entity {id: row.o})
WHERE r.id = row.id
DELETE r
RETURN count(*) AS n
"""

DELETE_ENTITIES = """
UNWIND $ids AS id
MATCH (x:Entity {id: id})
DETACH DELETE x
RETURN count(*) AS n
"""

# A candidate fact (kgkit.store.candidate_ops) is no support: an entity only candidates touch is an
# orphan, and its candidates go with it.
DELETE_ORPHAN_ENTITIES = """
UNWIND $ids AS id
MATCH (x:Entity {id: id})
OPTIONAL MATCH (x)-[r]-()
WHERE r.fusion_status IS NULL OR r.fusion_status <> 'candidate'
WITH x, count(r) AS deg
OPTIONAL MATCH (m:Evidence {target: x.id})
WITH x, deg, count(m) AS ev
WHERE deg = 0 AND ev = 0
DETACH DELETE x
RETURN count(*) AS n
"""

SET_ENTITY_PROPERTIES = """
UNWIND $rows AS row
MATCH (x:Entity {id: row.id})
SET x += row.props
RETURN count(*) AS n
"""

SET_FACT_PROPERTIES = """
UNWIND $rows AS row
MATCH (:Entity)-[r]->(:Entity)
WHERE r.id = row.id
SET r += row.props
RETURN count(*) AS n
"""

ENTITY_TYPE_COUNTS = "MATCH (n:Entity) RETURN n.type AS t, count(*) AS c"
# by type and fusion status, so that stats count rejected and candidate facts apart from the view's
REL_TYPE_COUNTS = "MATCH (:Entity)-[r]->(:Entity) RETURN type(r) AS t, r.fusion_status AS st, count(*) AS c"
COUNT_LABEL = {
    "Document": "MATCH (n:Document) RETURN count(n) AS c",
    "Evidence": "MATCH (n:Evidence) RETURN count(n) AS c",
}

ALL_ENTITIES = """
MATCH (n:Entity)
RETURN n.id AS id, n.name AS name, n.type AS type, n.aliases AS aliases, properties(n) AS props
"""

ALL_FACTS = """
MATCH (s:Entity)-[r]->(o:Entity)
RETURN r.id AS id, s.id AS s, r.predicate AS p, type(r) AS rel, o.id AS o, r.confidence AS c,
       properties(r) AS props
"""

EVIDENCE_BY_TARGET = "MATCH (e:Evidence {target: $t}) RETURN properties(e) AS e"
EVIDENCE_BY_DOCUMENT = "MATCH (e:Evidence {document_id: $doc}) RETURN properties(e) AS e"
ALL_EVIDENCE = "MATCH (e:Evidence) RETURN properties(e) AS e"
DOCUMENT_IDS = "MATCH (d:Document) RETURN d.id AS id"

# Indexed properties, per label; each store turns these into its own index/constraint syntax.
UNIQUE_KEYS = {"Entity": "id", "Document": "id", "Evidence": "id"}
INDEXED = {"Entity": ("norm", "name"), "Evidence": ("target", "document_id")}

# -- the view of the truth (kgkit.view) -------------------------------------------------------------
# Every fact with the confidence readers should use (fusion's where it scored the fact) and its
# fusion status; facts fusion rejected in a conflict and candidate facts a model proposed
# (kgkit.store.candidate_ops) are left out unless $all is true.
VIEW_FACTS = """
MATCH (s:Entity)-[r]->(o:Entity)
WHERE $all OR r.fusion_status IS NULL OR NOT r.fusion_status IN ['rejected', 'candidate']
RETURN r.id AS id, s.id AS s, r.predicate AS p, type(r) AS rel, o.id AS o,
       coalesce(r.fused_confidence, r.confidence) AS c, properties(r) AS props
"""


# -- fusion: pre-images, exact rewrites, and the fusion log (see kgkit.store.fusion_ops) -------------
ENTITY_IMAGES = """
UNWIND $ids AS id
MATCH (n:Entity {id: id})
RETURN n.id AS id, labels(n) AS labels, properties(n) AS props
"""

# Relationships are matched by id alone (no index on relationship properties in either store), one
# scan per batch; callers batch their ids.
FACT_IMAGES = """
MATCH (s:Entity)-[r]->(o:Entity)
WHERE r.id IN $ids
RETURN r.id AS id, type(r) AS rel, s.id AS s, o.id AS o, properties(r) AS props
"""

EVIDENCE_IMAGES = """
UNWIND $ids AS id
MATCH (e:Evidence {id: id})
RETURN e.id AS id, properties(e) AS props
"""

DELETE_EVIDENCE = """
UNWIND $ids AS id
MATCH (e:Evidence {id: id})
DELETE e
RETURN count(*) AS n
"""

# Anchored on the (indexed) subject id: matching relationships by id alone scans every edge per row.
SET_FACT_PROPERTIES_ANCHORED = """
UNWIND $rows AS row
MATCH (:Entity {id: row.s})-[r]->(:Entity)
WHERE r.id = row.id
SET r += row.props
RETURN count(*) AS n
"""

REPLACE_EVIDENCE = """
UNWIND $rows AS row
MERGE (e:Evidence {id: row.id})
SET e = row.props
RETURN count(*) AS n
"""

UPDATE_EVIDENCE = """
UNWIND $rows AS row
MATCH (e:Evidence {id: row.id})
SET e += row.props
RETURN count(*) AS n
"""


def replace_entities(labels: list[str]) -> str:
    """Recreate (or overwrite) entities with exactly ``row.props`` under ``labels``."""
    lab = ":".join(validate_identifier(x, "label") for x in labels)
    return f"""
UNWIND $rows AS row
MERGE (n:{lab} {{id: row.id}})
SET n = row.props
RETURN count(*) AS n
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
RETURN count(*) AS n
"""


#: Labels of the fusion log; each record has an ``id``; all but the run carry ``run_id``.
FUSION_LABELS = ("FusionRun", "MergeDecision", "Conflict", "FusionJournal", "MergeCandidate")


def create_fusion_records(label: str) -> str:
    return f"UNWIND $rows AS row CREATE (x:{_fusion_label(label)}) SET x = row RETURN count(*) AS n"


def fusion_records(label: str, *, of_run: bool) -> str:
    where = " WHERE x.run_id = $run" if of_run else ""
    return f"MATCH (x:{_fusion_label(label)}){where} RETURN properties(x) AS x"


def update_fusion_record(label: str) -> str:
    return f"MATCH (x:{_fusion_label(label)} {{id: $id}}) SET x += $props RETURN count(*) AS n"


DELETE_FUSION_RUN = """
MATCH (x)
WHERE (x:FusionRun AND x.id = $run)
   OR ((x:MergeDecision OR x:Conflict OR x:FusionJournal OR x:MergeCandidate) AND x.run_id = $run)
DELETE x
RETURN count(*) AS n
"""


def _fusion_label(label: str) -> str:
    if label not in FUSION_LABELS:
        raise ValueError(f"unknown fusion record label {label!r}; known: {', '.join(FUSION_LABELS)}")
    return label


# -- candidate facts proposed by a model (see kgkit.store.candidate_ops) ------------------------------
_CANDIDATE_RETURN = """RETURN r.id AS id, s.id AS s, r.predicate AS p, type(r) AS rel, o.id AS o, r.confidence AS c,
       properties(r) AS props
"""
CANDIDATE_FACTS = """
MATCH (s:Entity)-[r]->(o:Entity)
WHERE r.fusion_status = 'candidate'
""" + _CANDIDATE_RETURN
CANDIDATE_FACTS_OF_MODEL = """
MATCH (s:Entity)-[r]->(o:Entity)
WHERE r.fusion_status = 'candidate' AND r.kge_model = $model
""" + _CANDIDATE_RETURN
DELETE_CANDIDATES = """
MATCH (:Entity)-[r]->(:Entity)
WHERE r.fusion_status = 'candidate'
DELETE r
RETURN count(*) AS n
"""
DELETE_CANDIDATES_OF_MODEL = """
MATCH (:Entity)-[r]->(:Entity)
WHERE r.fusion_status = 'candidate' AND r.kge_model = $model
DELETE r
RETURN count(*) AS n
"""
# the candidate facts leaving / entering given entities (fusion re-points them when it merges those)
CANDIDATE_FACTS_FROM = """
UNWIND $ids AS id
MATCH (s:Entity {id: id})-[r]->(o:Entity)
WHERE r.fusion_status = 'candidate'
""" + _CANDIDATE_RETURN
CANDIDATE_FACTS_TO = """
UNWIND $ids AS id
MATCH (s:Entity)-[r]->(o:Entity {id: id})
WHERE r.fusion_status = 'candidate'
""" + _CANDIDATE_RETURN
