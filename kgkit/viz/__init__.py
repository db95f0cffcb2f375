"""kgkit.viz: see the graph. Interactive views of the view of the truth, in a notebook or as a
standalone offline HTML page (``pip install 'kgkit[viz]'``).

>>> from kgkit import KnowledgeGraph                                 # doctest: +SKIP
>>> kg = KnowledgeGraph.open()                                      # doctest: +SKIP
>>> kg.show("Marie Curie")                                          # doctest: +SKIP
>>> kg.show("MATCH (p:Person)-[r:BORN_IN]->(c) RETURN p, r, c LIMIT 50")  # doctest: +SKIP
>>> from kgkit.reason.ask import ask_store                           # doctest: +SKIP
>>> kg.show(ask_store(kg.store, "Where was Marie Curie born?"))      # doctest: +SKIP
>>> kg.show("Marie Curie", hops=2).save_html("curie.html")          # doctest: +SKIP

Building a figure (:mod:`kgkit.viz.views`) needs nothing extra; drawing it
(:mod:`kgkit.viz.render`) needs the ``neo4j-viz`` package.
"""

from kgkit.viz.figure import EvidenceLine, FigureEdge, FigureNode, GraphFigure, type_colour
from kgkit.viz.views import (
    EntityNotFoundError, answer_figure, entity_figure, find_entity, query_figure, view_figure,
)
from kgkit.viz.show import looks_like_cypher, show

__all__ = [
    "GraphFigure", "FigureNode", "FigureEdge", "EvidenceLine", "type_colour", "EntityNotFoundError",
    "entity_figure", "query_figure", "answer_figure", "view_figure", "find_entity", "show", "looks_like_cypher",
]
