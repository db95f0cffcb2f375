"""kgkit.fuse: entity resolution and conflict resolution over the graph, every decision reversible.

>>> from kgkit.fuse import fuse_graph, undo  # doctest: +SKIP
>>> report = fuse_graph(store, ontology, policy="accu", source_priors={"encyclopedia.md": 0.95})  # doctest: +SKIP
>>> undo(store)  # doctest: +SKIP
"""

from kgkit.fuse.adjudicate import llm_adjudicator
from kgkit.fuse.candidates import accept_candidate, list_candidates, reject_candidate
from kgkit.fuse.errors import FusionError, NothingToUndoError
from kgkit.fuse.fusion import FusionParams, FusionReport, UndoReport, fuse_graph, list_conflicts, list_runs, undo
from kgkit.fuse.runs import fusion_interrupted, recover_interrupted

__all__ = [
    "FusionError", "NothingToUndoError", "FusionParams", "FusionReport", "UndoReport",
    "fuse_graph", "undo", "list_runs", "list_conflicts", "llm_adjudicator",
    "list_candidates", "accept_candidate", "reject_candidate", "fusion_interrupted", "recover_interrupted",
]
