"""kgkit.reason: answer questions over the graph by searching relation paths.

Pipeline for one question: entity linking (:mod:`~kgkit.reason.linking`) -> relation paths from the
topic entities, proposed and scored (:mod:`~kgkit.reason.paths`, :mod:`~kgkit.reason.scoring`; with no
training, :mod:`~kgkit.reason.zero_shot` uses the ontology's relation words and the answer type) ->
answers ranked with their supporting paths and a subgraph under a size budget
(:mod:`~kgkit.reason.reasoner`, :mod:`~kgkit.reason.subgraph`) -> optionally an LLM answer that cites
fact ids, checked against the subgraph (:mod:`~kgkit.reason.llm_answer`).

Example::

    from kgkit.reason import Reasoner, load_kb
    graph = load_kb("kb.txt")
    Reasoner(graph).ask("who directed [Heat]").top

Nothing heavy is imported here: torch and sentence-transformers load only when a scorer is trained
or an embedding scorer warms up.
"""

from kgkit.reason.graph import GraphIndex, index_from_store, load_kb
from kgkit.reason.linking import EntityLinker, LinkedEntity
from kgkit.reason.reasoner import Answer, RankedAnswer, Reasoner, ScoredPath
from kgkit.reason.scoring import EmbeddingPathScorer, LearnedPathScorer, LexicalPathScorer, make_scorer
from kgkit.reason.subgraph import Subgraph, SubgraphFact
from kgkit.reason.zero_shot import ZeroShotPathScorer

__all__ = [
    "GraphIndex",
    "load_kb",
    "index_from_store",
    "EntityLinker",
    "LinkedEntity",
    "Reasoner",
    "Answer",
    "RankedAnswer",
    "ScoredPath",
    "LexicalPathScorer",
    "EmbeddingPathScorer",
    "LearnedPathScorer",
    "make_scorer",
    "ZeroShotPathScorer",
    "Subgraph",
    "SubgraphFact",
]
