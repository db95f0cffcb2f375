"""One view of the truth: after ingest + fusion of data/sample, no rejected fact reaches any reader.

The sample corpus has 17 functional facts with contradicting claims (data/sample/GOLD.yaml
``conflicts``). Fusion keeps one value each and marks the others ``fusion_status = "rejected"``.
Twenty questions about those facts are asked through ``ask_store`` (what ``kgkit ask`` runs); no
answer and no cited fact may be a rejected one. The same holds for the KGE training triples and for
every export. ``include="all"`` (``--audit``) shows the rejected facts again, which proves the checks
could fail.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"

# relation -> how the questions ask about it (two wordings for the first three of the 17 conflicts: 20 questions)
WORDING = {
    "birthDate": ("When was {x} born?", "What is the date of birth of [{x}]?"),
    "bornIn": ("Where was {x} born?", "In which city was [{x}] born?"),
    "foundingDate": ("When was {x} founded?", "In what year was [{x}] established?"),
    "publicationDate": ("When was {x} published?", "In what year was [{x}] published?"),
    "headquarteredIn": ("Where is {x} headquartered?", "Where is [{x}] based?"),
    "deathDate": ("When did {x} die?", "What is the date of death of [{x}]?"),
    "diedIn": ("Where did {x} die?", "What was the place of death of [{x}]?"),
}


def _questions() -> list[tuple[str, str, str]]:
    gold = yaml.safe_load((SAMPLE / "GOLD.yaml").read_text(encoding="utf-8"))
    out = []
    for i, c in enumerate(gold["conflicts"]):
        wordings = WORDING[c["relation"]]
        for w in wordings[: 2 if i < 3 else 1]:
            out.append((w.format(x=c["subject"]), c["subject"], c["relation"]))
    return out


@pytest.fixture(scope="module")
def fused(tmp_path_factory):
    from kgkit.api import KnowledgeGraph

    with KnowledgeGraph(None, workdir=tmp_path_factory.mktemp("truth")) as kg:
        report = kg.ingest(SAMPLE)
        assert report.fusion, "the default pipeline fuses after ingest"
        yield kg


@pytest.fixture(scope="module")
def rejected(fused) -> dict[str, tuple[str, str, str]]:
    """fact id -> (subject id, predicate, object id) of every fact fusion rejected (read raw)."""
    out = {f.id: (f.subject_id, f.predicate, f.object_id)
           for f in fused.store.iter_facts() if f.properties.get("fusion_status") == "rejected"}
    assert len(out) >= 5, "fusion rejected the losing claims of the sample's conflicts"
    return out


def test_twenty_questions_never_answer_or_cite_a_rejected_fact(fused, rejected):
    from kgkit.reason.ask import ask_store
    from kgkit.reason.graph import index_from_store

    questions = _questions()
    assert len(questions) == 20
    index = index_from_store(fused.store)
    audit = index_from_store(fused.store, include="all")
    lost = set(rejected.values())
    answered = audit_hits = 0
    for q, _subject, _relation in questions:
        res = ask_store(fused.store, q, index=index, ontology=fused.ontology)
        topics = [index.node_keys[e.node] for e in res.answer.entities]
        for a in res.answer.answers:
            for path in a.paths:  # an answer one rejected fact away from the topic is never given
                if "/" not in path and not path.endswith("^-1"):
                    assert not any((t, path, a.key) in lost for t in topics), (q, a.name)
        assert not ({c.fact.id for c in res.cited} & set(rejected)), f"{q}: cited a rejected fact"
        assert not (res.answer.subgraph.fact_ids & set(rejected)), f"{q}: the subgraph holds a rejected fact"
        answered += res.answer.top is not None
        seen = ask_store(fused.store, q, index=audit, ontology=fused.ontology, include="all")
        audit_hits += bool(seen.answer.subgraph.fact_ids & set(rejected))
    assert answered >= 10, "most conflict questions get an answer from the accepted facts"
    assert audit_hits >= 1, "with include='all' rejected facts are reachable (the check above can fail)"


def test_kge_training_triples_hold_no_rejected_fact(fused, rejected):
    from kgkit.embed.graph import graph_dataset, graph_triples

    accepted = graph_triples(fused.store)
    assert accepted.fact_ids and not (set(accepted.fact_ids) & set(rejected))
    everything = graph_triples(fused.store, include="all")
    assert set(rejected) <= set(everything.fact_ids)
    ds, _names = graph_dataset(fused.store)
    triples = {tuple(t) for tf in (ds.training, ds.validation, ds.testing) for t in tf.triples.tolist()}
    assert not (triples & set(rejected.values()))


def test_exports_hold_no_rejected_fact(fused, rejected, tmp_path):
    n = fused.export(tmp_path / "g.csv", "csv")
    with (tmp_path / "g.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n > 0
    assert not ({r["fact_id"] for r in rows} & set(rejected))
    assert {r["status"] for r in rows} <= {"accepted", "chosen"}
    fused.export(tmp_path / "all.csv", "csv", include="all")
    with (tmp_path / "all.csv").open(encoding="utf-8") as fh:
        assert set(rejected) <= {r["fact_id"] for r in csv.DictReader(fh)}

    g = fused.to_networkx()
    assert not ({k for _, _, k in g.edges(keys=True)} & set(rejected))
    assert set(rejected) <= {k for _, _, k in fused.to_networkx(include="all").edges(keys=True)}

    from urllib.parse import quote

    from rdflib import Graph, URIRef

    from kgkit.export import BASE

    nt = tmp_path / "g.nt"
    assert fused.export(nt, "nt") == n
    rdf = Graph().parse(nt, format="nt")

    def triple(s: str, p: str, o: str) -> tuple[URIRef, URIRef, URIRef]:
        ent = BASE + "entity/"
        return URIRef(ent + quote(s, safe="")), URIRef(BASE + "relation/" + p), URIRef(ent + quote(o, safe=""))

    assert not [t for t in rejected.values() if triple(*t) in rdf]
    full = Graph().parse(data=(fused.export(tmp_path / "all.nt", "nt", include="all") and
                               (tmp_path / "all.nt").read_text(encoding="utf-8")), format="nt")
    assert all(triple(*t) in full for t in rejected.values())


def test_view_carries_fused_confidence_and_status(fused, rejected):
    df = fused.facts_df()
    assert not (set(df["fact_id"]) & set(rejected))
    raw = {f.id: f for f in fused.store.iter_facts()}
    for row in df.itertuples():
        fused_conf = raw[row.fact_id].properties.get("fused_confidence")
        if fused_conf is not None:
            assert abs(row.confidence - fused_conf) < 1e-6
    assert "chosen" in set(df["status"]), "conflict winners are marked chosen"
    audit = fused.facts_df("all")
    assert set(audit.loc[audit["status"] == "rejected", "fact_id"]) == set(rejected)


def test_unknown_view_is_refused(fused):
    from kgkit.errors import ConfigError

    with pytest.raises(ConfigError, match="accepted, all"):
        fused.view("everything")


def test_merged_entities_are_seen_as_their_canonical_entity(fused):
    view = fused.view()
    merged = {old: e.id for e in fused.store.iter_entities() for old in (e.properties.get("merged_ids") or ()) if old != e.id}
    assert merged, "fusion merged some of the sample's entities (e.g. Einstein into Albert Einstein)"
    for old, canonical in merged.items():
        assert view.canonical_id(old) == canonical
        assert old not in view.entities
    ids = {x for f in view.facts for x in (f.subject_id, f.object_id)}
    assert not (ids & set(merged)), "no fact of the view points at a merged-away entity"
