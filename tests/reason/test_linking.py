from __future__ import annotations

from kgkit.reason.graph import GraphIndex
from kgkit.reason.linking import EntityLinker


def linker_for(triples, aliases=None):
    g = GraphIndex.from_triples(triples, aliases=aliases)
    lk = EntityLinker(g)
    lk.warm_up()
    return g, lk


def test_bracket_exact_alias_normalized_fuzzy():
    g, lk = linker_for([("The Godfather", "directed_by", "Francis Ford Coppola")],
                       aliases={"Francis Ford Coppola": ["F. F. Coppola"]})
    assert [(e.name, e.method) for e in lk.link("who directed [The Godfather]")] == [("The Godfather", "exact")]
    assert lk.link("films by [F. F. Coppola]")[0].method == "alias"
    assert lk.link("who directed [the godfather ]")[0].method == "normalized"
    fz = lk.link("who directed [The Godfathr]")
    assert fz and fz[0].name == "The Godfather" and fz[0].method == "fuzzy" and fz[0].score < 1


def test_unbracketed_longest_match_wins():
    g, lk = linker_for([("The Godfather Part II", "directed_by", "Francis Ford Coppola"),
                        ("The Godfather", "directed_by", "Francis Ford Coppola")])
    found = lk.link("who directed the godfather part ii")
    assert [e.name for e in found] == ["The Godfather Part II"]
    masked = lk.mask("who directed the godfather part ii", found)
    assert masked == "who directed NE"


def test_unknown_entity_links_nothing():
    g, lk = linker_for([("Heat", "directed_by", "Michael Mann")])
    assert lk.link("who directed [Zzyzx Road Qwerty]") == []
    assert lk.link("what is the meaning of life") == []
