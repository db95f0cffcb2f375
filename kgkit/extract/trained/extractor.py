"""The ``trained`` extractor: a model folder from ``kgkit extract train`` as a pipeline stage.

Pipeline YAML::

    extractor: {name: trained, model: models/webnlg}

The ontology comes from the model folder; a pipeline that names another ontology is refused (the
model only knows the relations it was trained on). The model's fingerprint (training data hash,
threshold, vocabulary) is part of ``version`` and so of the ledger's extractor key: a retrained
model re-extracts every document.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kgkit.errors import ConfigError
from kgkit.extract.base import ChunkExtraction
from kgkit.extract.trained.examples import FALLBACK_TYPES
from kgkit.extract.trained.mentions import sentence_of, sentences
from kgkit.extract.trained.model import Prediction, TrainedModel, read_fingerprint
from kgkit.ontology import Ontology, load_ontology
from kgkit.types import Chunk, Entity, Evidence, Provenance, Span, Triple

__all__ = ["OntologyMismatchError", "TrainedExtractor", "model_ontology"]


class OntologyMismatchError(ConfigError):
    """The model was trained for another ontology than the pipeline's."""


def model_ontology(model: str | Path) -> Ontology:
    """The ontology stored in a model folder (what a pipeline with ``extractor: {name: trained}`` uses)."""
    path = Path(model) / "ontology.yaml"
    if not path.is_file():
        raise ConfigError(f"{model} is not a trained extractor model (no ontology.yaml); "
                          "create one with `kgkit extract train EXAMPLES --ontology ... --out DIR`")
    return load_ontology(path)


class TrainedExtractor:
    """Extracts with a model trained on examples (see :mod:`kgkit.extract.trained.model`).

    Args:
        ontology: the pipeline's ontology; ``None`` or the default means "the model's". Any other
            ontology must contain every relation of the model, else :class:`OntologyMismatchError`.
        model: the model folder.
        threshold: override the decision threshold chosen at training time.
        resolve_pronouns: resolve it/he/she/they to an antecedent (facts about pronouns are kept).
        batch_size: texts per spaCy ``pipe`` batch.
    """

    name = "trained"

    def __init__(self, ontology: Ontology | str | None = None, *, model: str | Path, threshold: float | None = None,
                 resolve_pronouns: bool = True, batch_size: int = 64) -> None:
        self.model_dir = Path(model)
        own = model_ontology(self.model_dir)
        if isinstance(ontology, str):
            ontology = load_ontology(ontology)
        if ontology is not None and ontology.name != "default" and ontology.name != own.name:
            missing = sorted(set(own.relation_types) - set(ontology.relation_types))
            if missing:
                raise OntologyMismatchError(
                    f"model {self.model_dir} was trained for ontology {own.name!r}, not {ontology.name!r} "
                    f"(relations {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''} are unknown to it); "
                    f"drop 'ontology' from the pipeline to use the model's, or retrain with --ontology {ontology.name}"
                )
        self.ontology = own if ontology is None or ontology.name == "default" else ontology
        self.threshold = threshold
        self.resolve_pronouns = resolve_pronouns
        self.batch_size = batch_size
        self._model: TrainedModel | None = None
        self._nlp: Any = None
        self._version: str | None = None

    @property
    def version(self) -> str:
        """``4+<model fingerprint>``: a retrained model, or a kgkit whose mention finder changed (the leading
        number), changes the ledger's extractor key."""
        if self._version is None:
            self._version = f"4+{read_fingerprint(self.model_dir)}"
        return self._version

    def warm_up(self) -> None:
        if self._model is not None:
            return
        from kgkit.extract.trained.training import load_spacy

        self._model = TrainedModel.load(self.model_dir)
        self._nlp = load_spacy(self._model.spacy_model)

    @property
    def model(self) -> TrainedModel:
        self.warm_up()
        assert self._model is not None
        return self._model

    def extract(self, chunks: Sequence[Chunk]) -> list[ChunkExtraction]:
        model = self.model
        docs = list(self._nlp.pipe((c.text for c in chunks), batch_size=self.batch_size))
        preds = model.predict_docs(docs, threshold=self.threshold)  # scored together: shared encoder batches
        return [self._extract_doc(chunk, doc, p) for chunk, doc, p in zip(chunks, docs, preds)]

    def _entity(self, name: str, mention: Any, role_types: tuple[str, ...]) -> Entity:
        gaz_type = self.model.gazetteer.type_of(name) if mention.resolved.known else None
        if gaz_type and gaz_type in self.ontology.entity_types:
            etype = gaz_type
        elif mention.is_literal:
            etype = "Literal" if "Literal" in self.ontology.entity_types else (role_types[0] if role_types else FALLBACK_TYPES[0])
        else:
            etype = "Thing" if "Thing" in self.ontology.entity_types else (role_types[0] if role_types else FALLBACK_TYPES[0])
        aliases = (mention.surface,) if mention.surface != name and mention.kind != "pron" else ()
        return Entity(name, etype, aliases=aliases)

    def _extract_doc(self, chunk: Chunk, doc: Any, preds: Sequence[Prediction]) -> ChunkExtraction:
        off = chunk.start
        text = doc.text  # Doc.text joins every token on each access
        triples: list[Triple] = []
        mentions: dict[tuple[str, int], tuple[Entity, Evidence]] = {}
        for p in preds:
            if p.head.kind == "pron" and not self.resolve_pronouns:
                continue
            rel = self.ontology.relation_types.get(p.relation)
            if rel is None:
                continue
            subj = self._entity(p.subject, p.head, rel.domain)
            obj = self._entity(p.object, p.tail, rel.range)
            sent = sentences(doc)[sentence_of(doc)[p.head.start]]
            s0 = min(sent.start_char, p.tail.start_char)
            s1 = max(sent.end_char, p.tail.end_char)
            prov = Provenance(chunk.document_id, chunk.id, Span(off + s0, off + s1), self.name, self.version, p.confidence)
            triples.append(Triple(subj, p.relation, obj, prov, text[s0:s1]))
            for ent, m in ((subj, p.head), (obj, p.tail)):
                if m.kind == "pron" or (ent.id, m.start_char) in mentions:
                    continue
                mp = Provenance(chunk.document_id, chunk.id, Span(off + m.start_char, off + m.end_char), self.name,
                                self.version, p.confidence)
                mentions[(ent.id, m.start_char)] = (ent, Evidence.for_mention(ent, mp, m.surface))
        return ChunkExtraction(chunk, tuple(triples), tuple(mentions.values()))
