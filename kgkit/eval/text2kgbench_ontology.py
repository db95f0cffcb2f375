"""Text2KGBench ontologies as kgkit ontologies, and hints that let the offline extractor use them.

:func:`to_kgkit_ontology` converts a benchmark ontology (concepts, relations with domain/range) into
an :class:`~kgkit.ontology.Ontology` with valid identifiers and spaCy NER labels per type;
:func:`mine_offline_hints` learns dependency-path patterns and NER labels from training sentences
(never from the split being scored), which the spaCy extractor needs to produce anything at all.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from kgkit.eval.text2kgbench import BenchOntology, BenchSentence
from kgkit.ontology import EntityType, Ontology, RelationType

__all__ = ["OfflineHints", "mine_offline_hints", "relation_label", "to_kgkit_ontology"]

_NON_WORD = re.compile(r"[^0-9A-Za-z]+")


# -- ontology conversion ---------------------------------------------------------------------------
def _identifier(label: str, *, upper_first: bool) -> str:
    parts = [p for p in _NON_WORD.split(label) if p]
    if not parts:
        parts = ["x"]
    head = parts[0][:1].upper() + parts[0][1:] if upper_first else parts[0][:1].lower() + parts[0][1:]
    ident = head + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    if not ident[0].isalpha():
        ident = ("T" if upper_first else "r") + ident
    return ident[:64]


# Concept-label keywords -> spaCy NER labels, so the offline extractor can type entities.
_NER_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PERSON", ("human", "person", "people", "composer", "producer", "writer", "author", "politician", "athlete",
                "artist", "scientist", "astronaut", "character", "saint", "commander", "monarch", "president",
                "sportsperson", "personnel", "engineer", "head of")),
    ("ORG", ("organization", "organisation", "company", "university", "team", "club", "band", "party", "agency",
             "publisher", "label", "league", "school", "college", "government", "library", "channel", "station",
             "museum", "observatory", "unit")),
    ("GPE", ("country", "city", "state", "municipality", "county", "territory", "region", "town")),
    ("LOC", ("place", "river", "mountain", "geographical", "body of water", "reservoir", "drainage", "watercourse",
             "habitat", "outer space", "planet", "constellation", "galaxy", "celestial", "asteroid")),
    ("FAC", ("airport", "building", "monument", "venue", "ground", "campus", "dam", "tenant")),
    ("WORK_OF_ART", ("film", "movie", "book", "album", "song", "musical work", "written work", "literary", "series",
                     "novel", "anthem", "work", "publication", "article", "journal", "magazine", "software")),
    ("NORP", ("ethnic", "demonym", "religion", "political alignment", "ideology", "nationality")),
    ("EVENT", ("event", "battle", "war", "conflict", "election", "competition", "race", "mission", "spaceflight",
               "season", "festival")),
    ("LANGUAGE", ("language",)),
    ("DATE", ("date", "year", "time")),
    ("PRODUCT", ("product", "aircraft", "vehicle", "spacecraft", "ship", "computer", "equipment", "means of")),
)
_DATE_RELATION = re.compile(r"\b(date|year|inception|start time|end time|time)\b", re.I)


def _assign_ner_labels(types: Mapping[str, str], usage: Counter[str]) -> dict[str, list[str]]:
    """Give each NER label to the most used concept whose label matches its keywords."""
    out: dict[str, list[str]] = {t: [] for t in types}
    for ner, words in _NER_HINTS:
        candidates = [t for t, label in types.items()
                      if any(re.search(rf"\b{re.escape(w)}", label.lower()) for w in words)]
        if candidates:
            best = max(candidates, key=lambda t: (usage[t], -list(types).index(t)))
            out[best].append(ner)
    return out


@dataclass(frozen=True)
class OfflineHints:
    """What an offline extractor needs beyond the benchmark ontology, mined from training sentences.

    ``patterns``: relation name -> lemma-path phrases; ``ner``: entity type -> spaCy NER labels.
    """

    patterns: Mapping[str, Sequence[str]] = field(default_factory=dict)
    ner: Mapping[str, Sequence[str]] = field(default_factory=dict)
    sentences: int = 0
    aligned: int = 0  # gold triples whose subject and object were found in the parse


def to_kgkit_ontology(bench: BenchOntology, hints: OfflineHints | None = None) -> Ontology:
    """Convert a benchmark ontology to kgkit's schema.

    Concepts become entity types (``film production company`` -> ``FilmProductionCompany``), relations
    become relation types (``lyrics by`` -> ``lyricsBy``) with domain/range; relations sharing a label
    are merged. A ``Date`` type is added for date-valued relations with no range. ``extra.text2kgbench``
    keeps the mapping back to benchmark labels. NER labels and label-derived patterns are filled in so
    that the offline extractor has something to match.
    """
    types: "OrderedDict[str, str]" = OrderedDict()
    by_qid: dict[str, str] = {}
    for c in bench.concepts:
        label = str(c["label"]).strip()
        name = _identifier(label, upper_first=True)
        types.setdefault(name, label)
        by_qid.setdefault(str(c["qid"]), name)
    rels: "OrderedDict[str, dict[str, Any]]" = OrderedDict()
    labels: dict[str, str] = {}
    usage: Counter[str] = Counter()
    needs_date = False
    for r in bench.relations:
        label = str(r["label"]).strip()
        name = _identifier(label, upper_first=False)
        spec = rels.setdefault(name, {"domain": [], "range": [], "label": label})
        labels[name] = label
        for key in ("domain", "range"):
            t = by_qid.get(str(r.get(key) or ""))
            if t and t not in spec[key]:
                spec[key].append(t)
                usage[t] += 1
        if not r.get("range") and _DATE_RELATION.search(label):
            spec["range"] = ["Date"]
            needs_date = True
    if needs_date and "Date" not in types:
        types["Date"] = "date"
    ner = _assign_ner_labels(types, usage)
    if hints is not None and hints.ner:
        ner = {t: list(hints.ner.get(t, ())) for t in types}
    entity_types = {
        n: EntityType(n, description=f"Text2KGBench concept '{label}'", aliases=(label,), ner_labels=tuple(ner[n]))
        for n, label in types.items()
    }
    relation_types = {
        n: RelationType(
            n, description=f"Text2KGBench relation '{spec['label']}'", domain=tuple(spec["domain"]),
            range=tuple(spec["range"]), aliases=(spec["label"],),
            patterns=tuple(dict.fromkeys((*_label_patterns(spec["label"]), *((hints.patterns.get(n, ())) if hints else ())))),
        )
        for n, spec in rels.items()
    }
    return Ontology(
        name=_identifier(bench.id, upper_first=False), entity_types=entity_types, relation_types=relation_types,
        description=bench.title, extra={"text2kgbench": {"id": bench.id, "relation_labels": labels}},
    )


def _label_patterns(label: str) -> tuple[str, ...]:
    """Lemma-path guesses from a relation label (``lyrics by`` -> ``lyrics by``; ``birthPlace`` -> ``birth place``)."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", label).replace("_", " ").lower().split()
    return (" ".join(words),) if words else ()


def relation_label(ontology: Ontology, predicate: str) -> str:
    """The benchmark label of a kgkit relation name, as the benchmark compares it (spaces -> ``_``)."""
    labels = (ontology.extra.get("text2kgbench") or {}).get("relation_labels", {})
    return str(labels.get(predicate, predicate)).replace(" ", "_")


# -- hints for the offline extractor, mined from training sentences ---------------------------------
def _surface(name: str) -> str:
    """A benchmark entity name as it would appear in text (DBpedia: ``Alba_(city)`` -> ``Alba``)."""
    name = re.sub(r"_\([^)]*\)$", "", name).replace("_", " ").strip().strip('"')
    return name


def _find_span(doc: Any, name: str) -> Any | None:
    text = _surface(name)
    if len(text) < 2:
        return None
    i = doc.text.lower().find(text.lower())
    if i < 0:
        return None
    return doc.char_span(i, i + len(text), alignment_mode="expand")


def mine_offline_hints(
    nlp: Any, bench: BenchOntology, sentences: Sequence[BenchSentence], *, min_count: int = 2,
    min_share: float = 0.5,
) -> OfflineHints:
    """Learn relation patterns and NER-label -> type assignments from gold training triples.

    For each gold triple whose subject and object are found in the parsed sentence, the dependency
    path between them is read exactly as :class:`kgkit.extract.spacy_extractor.SpacyExtractor` reads it
    (same helper functions), so a mined phrase matches at extraction time. A phrase becomes a pattern
    of a relation when seen ``min_count`` times and at least ``min_share`` of its uses are that relation.
    NER labels go to the ontology type most often found under them in domain/range positions.
    """
    from kgkit.extract.spacy_extractor import _dependency_path, _phrase  # same reading of paths

    onto = to_kgkit_ontology(bench)
    name_of = {str(r["label"]).strip().replace(" ", "_"): _identifier(str(r["label"]).strip(), upper_first=False)
               for r in bench.relations}
    pattern_counts: Counter[tuple[str, str]] = Counter()
    phrase_totals: Counter[str] = Counter()
    ner_counts: Counter[tuple[str, str]] = Counter()
    aligned = 0
    docs = nlp.pipe((s.text for s in sentences), batch_size=256)
    for sent, doc in zip(sentences, docs):
        for sub, rel, obj in sent.triples:
            rel_name = name_of.get(rel.replace(" ", "_"))
            if rel_name is None:
                continue
            s_span, o_span = _find_span(doc, sub), _find_span(doc, obj)
            if s_span is None or o_span is None or s_span.start == o_span.start:
                continue
            aligned += 1
            spec = onto.relation_types[rel_name]
            for span, types in ((s_span, spec.domain), (o_span, spec.range)):
                label = next((e.label_ for e in doc.ents if e.start <= span.root.i < e.end), None)
                if label and len(types) == 1:
                    ner_counts[(label, types[0])] += 1
            path = _dependency_path(s_span, o_span)
            if path is None:
                continue
            tokens, first_is_subject = path
            phrase = _phrase(tokens if first_is_subject else tokens[::-1], s_span, o_span)
            if not phrase or len(phrase.split()) > 5:
                continue
            if not first_is_subject:  # the gold object is the syntactic subject: only a passive "by" reads right
                if not phrase.endswith(" by"):
                    continue
                phrase = phrase[:-3]
            pattern_counts[(rel_name, phrase)] += 1
            phrase_totals[phrase] += 1
    patterns: dict[str, list[str]] = {}
    for (rel_name, phrase), n in pattern_counts.most_common():
        if n >= min_count and n / phrase_totals[phrase] >= min_share:
            patterns.setdefault(rel_name, []).append(phrase)
    # Each NER label maps to one type (the extractor's lookup is label -> type). Score a pairing by
    # P(type | label) * P(label | type), so a type that is the domain of everything (Film) does not
    # swallow PERSON just because film titles are often mis-tagged as people.
    ner: dict[str, list[str]] = {}
    label_total: Counter[str] = Counter()
    type_total: Counter[str] = Counter()
    for (label, t), n in ner_counts.items():
        label_total[label] += n
        type_total[t] += n
    best: dict[str, tuple[float, str]] = {}
    for (label, t), n in ner_counts.items():
        score = n * n / (label_total[label] * type_total[t])
        if n >= min_count and score > best.get(label, (0.0, ""))[0]:
            best[label] = (score, t)
    for label, (_, t) in sorted(best.items()):
        ner.setdefault(t, []).append(label)
    return OfflineHints(patterns, ner, len(sentences), aligned)
