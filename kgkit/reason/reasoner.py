"""The path-search reasoner: link, search, rank, and build the supporting subgraph.

>>> from kgkit.reason.graph import GraphIndex
>>> g = GraphIndex.from_triples([("Heat", "directed_by", "Michael Mann"), ("Heat", "release_year", "1995")])
>>> Reasoner(g).ask("who directed [Heat]").top
'Michael Mann'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from kgkit.reason.graph import GraphIndex
from kgkit.reason.linking import EntityLinker, LinkedEntity
from kgkit.reason.paths import CandidatePath, enumerate_relation_paths, follow_path, path_from_names, path_to_names
from kgkit.reason.scoring import LearnedPathScorer, PathScorer
from kgkit.reason.subgraph import Subgraph, build_subgraph, supporting_chains
from kgkit.reason.zero_shot import ZeroShotPathScorer

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.ontology import Ontology

__all__ = ["Reasoner", "Answer", "RankedAnswer", "ScoredPath", "Plausibility"]

# (topic key, relation path as names, answer key) -> a plausibility score, e.g. from a KGE model.
Plausibility = Callable[[str, str, str], float]


@dataclass(frozen=True, slots=True)
class ScoredPath:
    """A relation path from the topic entities, its probability among the candidates, its answers."""

    path: str  # relation names, "directed_by^-1/starred_actors"
    score: float  # probability in [0, 1] among the candidate paths
    hops: int
    num_answers: int


@dataclass(frozen=True, slots=True)
class RankedAnswer:
    """A candidate answer with its score and the relation paths that reach it."""

    name: str
    key: str  # node key: the store id, or the name for KB files
    score: float
    paths: tuple[str, ...]


@dataclass
class Answer:
    """Everything the reasoner found for one question; ``answers`` is empty when it has no answer."""

    question: str
    entities: list[LinkedEntity]
    answers: list[RankedAnswer]
    paths: list[ScoredPath]
    subgraph: Subgraph = field(default_factory=Subgraph)
    no_answer_reason: str | None = None
    seconds: float = 0.0

    @property
    def top(self) -> str | None:
        return self.answers[0].name if self.answers else None

    def names(self, k: int | None = None) -> list[str]:
        return [a.name for a in (self.answers if k is None else self.answers[:k])]


class Reasoner:
    """Answers questions from a :class:`GraphIndex` by ranking relation paths from the topic entities.

    Args:
        graph: the in-memory graph.
        scorer: ranks relation paths; a :class:`LearnedPathScorer` proposes paths from its labels,
            any other scorer ranks every path enumerated up to ``max_hops`` (default: the zero-shot
            :class:`~kgkit.reason.zero_shot.ZeroShotPathScorer` over ``ontology``).
        ontology: relation aliases, descriptions, domain/range and type aliases for the default scorer.
        linker: entity linker (default: one over ``graph``).
        max_hops: longest relation path searched.
        k_paths: relation paths kept per question.
        candidate_labels: learned labels tried, best first, to find ``k_paths`` non-empty paths.
        min_path_prob: a path less probable than this is not used; with none left the reasoner
            answers nothing rather than guess.
        max_frontier: largest frontier expanded again during enumeration (bounds hub fan-out).
        max_answers: answers kept per path.
        max_subgraph_facts: size budget of the supporting subgraph.
        plausibility: optional hook, e.g. a KGE score, added with ``plausibility_weight``.
        plausibility_weight: weight of the hook's score.
    """

    def __init__(
        self,
        graph: GraphIndex,
        *,
        scorer: PathScorer | None = None,
        linker: EntityLinker | None = None,
        max_hops: int = 3,
        k_paths: int = 3,
        candidate_labels: int = 10,
        min_path_prob: float = 0.05,
        max_frontier: int = 2000,
        max_answers: int = 200,
        max_subgraph_facts: int = 60,
        plausibility: Plausibility | None = None,
        plausibility_weight: float = 0.1,
        ontology: "Ontology | None" = None,
    ) -> None:
        self.graph = graph
        self.scorer: PathScorer = scorer if scorer is not None else ZeroShotPathScorer(ontology)
        self.linker = linker if linker is not None else EntityLinker(graph)
        self.max_hops = max_hops
        self.k_paths = k_paths
        self.candidate_labels = candidate_labels
        self.min_path_prob = min_path_prob
        self.max_frontier = max_frontier
        self.max_answers = max_answers
        self.max_subgraph_facts = max_subgraph_facts
        self.plausibility = plausibility
        self.plausibility_weight = plausibility_weight
        self._label_paths: dict[str, tuple[int, ...] | None] = {}

    def warm_up(self) -> None:
        """Build the linker's tables (and load an embedding model if the scorer has one)."""
        self.linker.warm_up()
        warm = getattr(self.scorer, "warm_up", None)
        if callable(warm):
            warm()

    # -- the whole question ---------------------------------------------------------------------
    def ask(self, question: str, *, with_subgraph: bool = True) -> Answer:
        """Answer ``question``: linked entities, ranked answers and paths, supporting subgraph."""
        t0 = time.perf_counter()
        entities = self.linker.link(question)
        if not entities:
            return Answer(question, [], [], [], no_answer_reason="no entity of the question was found in the graph",
                          seconds=time.perf_counter() - t0)
        topics = sorted({e.node for e in entities})
        masked = self.linker.mask(question, entities)
        candidates = self.rank_paths(masked, topics)
        if not candidates:
            return Answer(question, entities, [], [], no_answer_reason="no relation path from the linked entities "
                          "matches the question", seconds=time.perf_counter() - t0)
        answers = self._rank_answers(topics, candidates)
        paths = [ScoredPath(path_to_names(self.graph, c.path), p, len(c.path), int(c.answers.shape[0]))
                 for c, p in candidates]
        sub = self._subgraph(topics, candidates, answers) if with_subgraph else Subgraph()
        return Answer(question, entities, answers, paths, sub, seconds=time.perf_counter() - t0)

    # -- steps ----------------------------------------------------------------------------------
    def rank_paths(self, masked_question: str, topics: Sequence[int]) -> list[tuple[CandidatePath, float]]:
        """The ``k_paths`` best non-empty relation paths from ``topics``, with their probabilities."""
        if isinstance(self.scorer, LearnedPathScorer):
            return self._rank_learned(masked_question, topics, self.scorer)
        cands = enumerate_relation_paths(self.graph, topics, max_hops=self.max_hops, max_frontier=self.max_frontier)
        if not cands:
            return []
        if isinstance(self.scorer, ZeroShotPathScorer):
            scores = self.scorer.score_candidates(masked_question, self.graph, topics, cands)
            # -inf: nothing in the question supports the path; none left means no answer.
            keep = np.isfinite(scores)
            if not keep.any():
                return []
            cands = [c for c, k in zip(cands, keep) if k]
            scores = scores[keep]
        else:
            names = [path_to_names(self.graph, c.path) for c in cands]
            scores = np.asarray(self.scorer.score(masked_question, names), dtype=np.float64)
        probs = _softmax(scores / 0.1)
        order = np.argsort(-probs, kind="stable")[: self.k_paths]
        return [(cands[i], float(probs[i])) for i in order if probs[i] >= self.min_path_prob]

    def _rank_learned(
        self, masked_question: str, topics: Sequence[int], scorer: LearnedPathScorer
    ) -> list[tuple[CandidatePath, float]]:
        out: list[tuple[CandidatePath, float]] = []
        for label, logp in scorer.rank(masked_question, self.candidate_labels):
            prob = float(np.exp(logp))
            if prob < self.min_path_prob:
                break
            if label not in self._label_paths:
                self._label_paths[label] = path_from_names(self.graph, label)
            path = self._label_paths[label]
            if path is None or len(path) > self.max_hops:
                continue
            reached = follow_path(self.graph, topics, path)
            if reached.shape[0]:
                out.append((CandidatePath(path, reached), prob))
                if len(out) >= self.k_paths:
                    break
        return out

    def _rank_answers(self, topics: Sequence[int], candidates: list[tuple[CandidatePath, float]]) -> list[RankedAnswer]:
        score: dict[int, float] = {}
        support: dict[int, list[str]] = {}
        for cand, prob in candidates:
            name = path_to_names(self.graph, cand.path)
            conf = self._last_hop_confidence(topics, cand) if len(cand.path) == 1 else {}
            for node in cand.answers[: self.max_answers].tolist():
                # A path's answers share its probability; the (fused) confidence of the fact that
                # reaches each one orders them (the better-supported of two birthplaces first).
                score[node] = score.get(node, 0.0) + prob * (1.0 + 0.01 * conf.get(node, 0.0))
                support.setdefault(node, []).append(name)
        if self.plausibility is not None:
            topic_key = self.graph.node_keys[topics[0]]
            for node in score:
                bonus = self.plausibility(topic_key, support[node][0], self.graph.node_keys[node])
                score[node] += self.plausibility_weight * float(bonus)
        order = sorted(score, key=lambda n: (-score[n], self.graph.names[n]))
        return [RankedAnswer(self.graph.names[n], self.graph.node_keys[n], score[n], tuple(support[n])) for n in order]

    def _last_hop_confidence(self, topics: Sequence[int], cand: CandidatePath) -> dict[int, float]:
        """Best confidence of a fact linking the topics to each answer of a one-hop path."""
        if self.graph.confidences is None:
            return {}
        _, pos = self.graph.expand(topics, cand.path[0])
        out: dict[int, float] = {}
        for node, edge in zip(self.graph.adj_nbr[pos].tolist(), self.graph.adj_edge[pos].tolist()):
            out[node] = max(out.get(node, 0.0), float(self.graph.confidences[edge]))
        return out

    def _subgraph(
        self, topics: Sequence[int], candidates: list[tuple[CandidatePath, float]], answers: list[RankedAnswer]
    ) -> Subgraph:
        budget = self.max_subgraph_facts
        chains: list[list[int]] = []
        ranked = [self.graph.node_id(a.key) for a in answers]
        for cand, _ in candidates:
            # Best-ranked answers first, enough to fill the budget with one chain each.
            on_path = set(cand.answers.tolist())
            wanted = [n for n in ranked if n in on_path][: max(1, budget // len(cand.path))]
            for found in supporting_chains(self.graph, topics, cand.path, wanted).values():
                chains.extend(found)
            if sum(len(c) for c in chains) >= budget:
                break
        return build_subgraph(self.graph, chains, max_facts=budget)


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()
