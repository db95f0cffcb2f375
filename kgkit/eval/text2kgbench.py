"""Text2KGBench (Mihindukulasooriya et al., ISWC 2023): loader, download and metrics.

Turning a benchmark ontology into a kgkit :class:`~kgkit.ontology.Ontology` (and mining hints for the
offline extractor) lives in :mod:`kgkit.eval.text2kgbench_ontology`.

The benchmark gives, per ontology, sentences with gold triples (``sub``, ``rel``, ``obj``). Two
datasets: Wikidata-TekGen (10 ontologies; train/validation/test) and DBpedia-WebNLG (19 ontologies;
train/test). The metrics re-implement the benchmark's own ``src/evaluation/run_eval.py``:

* precision / recall / F1 per sentence, over normalised ``sub+rel+obj`` strings (spaces and ``_``
  removed, lower-cased), after dropping predicted triples whose relation is not among the sentence's
  gold relations; a sentence with no prediction scores 0;
* ontology conformance: share of predicted triples whose relation is in the ontology (1 when none);
  relation hallucination = 1 - conformance;
* subject / object hallucination: share of predicted triples whose (stemmed, normalised) subject or
  object does not occur in the (stemmed, normalised) sentence plus concept labels;
* every metric averaged over the ontology's sentences, then over ontologies (macro).

Stemming uses NLTK's Porter stemmer and Treebank tokenizer like the original when ``nltk`` is installed
(no data download needed); without it, tokens are only lower-cased and the hallucination rates are an
approximation (the result says which was used).

Data location: ``--data`` / ``KGKIT_DATA`` / ``../shared/datasets`` next to the repository, under
``extraction/text2kgbench/data``; :func:`download` fetches the benchmark for users who do not have it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from kgkit.datasets import data_root
from kgkit.errors import ConfigError

__all__ = [
    "DATASETS",
    "BenchSentence",
    "BenchOntology",
    "SentenceScores",
    "data_root",
    "dataset_dir",
    "list_ontologies",
    "available_splits",
    "load_bench_ontology",
    "load_split",
    "score_sentence",
    "Scorer",
    "download",
    "average",
    "normalize_triple",
    "HOLDOUT_EVERY",
]

DATASETS = ("wikidata_tekgen", "dbpedia_webnlg")
REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE_REPO = "https://github.com/cenguix/Text2KGBench"
SOURCE_COMMIT = "50a3d255371b8817cdff70fd88459ac82b339cfe"
_NORM = re.compile(r"(_|\s+)")
HOLDOUT_EVERY = 5


# -- data location ---------------------------------------------------------------------------------
def dataset_dir(dataset: str, data: str | os.PathLike[str] | None = None) -> Path:
    if dataset not in DATASETS:
        raise ConfigError(f"unknown Text2KGBench dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")
    root = data_root(data)
    for cand in (root / "extraction" / "text2kgbench" / "data" / dataset, root / "data" / dataset, root / dataset):
        if cand.is_dir():
            return cand
    raise ConfigError(
        f"Text2KGBench data for {dataset} not found under {root}; pass --data (the datasets folder), set "
        f"KGKIT_DATA, or fetch it with `python -m kgkit.eval.text2kgbench download DIR`"
    )


def list_ontologies(dataset: str, data: str | os.PathLike[str] | None = None) -> list[str]:
    """Ontology ids (``1_movie``, ...) in numeric order."""
    files = (dataset_dir(dataset, data) / "ontologies").glob("*_ontology.json")
    ids = [f.name[: -len("_ontology.json")] for f in files]
    return sorted(ids, key=lambda s: (int(s.split("_", 1)[0]) if s.split("_", 1)[0].isdigit() else 10**6, s))


def available_splits(dataset: str, data: str | os.PathLike[str] | None = None) -> list[str]:
    """Splits present on disk; ``test`` counts when its gold (``ground_truth/``) is there too."""
    d = dataset_dir(dataset, data)
    have = [s for s in ("train", "validation", "test") if (d / s).is_dir() and any((d / s).glob("*.jsonl"))]
    if "test" not in have and (d / "ground_truth").is_dir() and any((d / "ground_truth").glob("*.jsonl")):
        have.append("test")
    return have


# -- loading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchSentence:
    id: str
    text: str
    triples: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True)
class BenchOntology:
    id: str
    title: str
    concepts: tuple[Mapping[str, str], ...]
    relations: tuple[Mapping[str, str], ...]

    @property
    def relation_labels(self) -> set[str]:
        """Relation labels as the benchmark compares them (spaces -> ``_``)."""
        return {r["label"].replace(" ", "_") for r in self.relations}

    @property
    def concept_text(self) -> str:
        return " ".join(c["label"] for c in self.concepts)


def load_bench_ontology(dataset: str, onto_id: str, data: str | os.PathLike[str] | None = None) -> BenchOntology:
    path = dataset_dir(dataset, data) / "ontologies" / f"{onto_id}_ontology.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no ontology {onto_id!r} in {dataset}; known: {', '.join(list_ontologies(dataset, data))}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: invalid JSON ({err})") from err
    return BenchOntology(raw.get("id", onto_id), raw.get("title", onto_id), tuple(raw["concepts"]), tuple(raw["relations"]))


def _split_file(d: Path, onto_id: str, dataset: str, split: str, data: str | os.PathLike[str] | None) -> Path:
    matches = sorted(d.glob(f"ont_{onto_id}_*.jsonl")) if d.is_dir() else []
    if not matches:
        raise ConfigError(
            f"{dataset} has no {split!r} split for {onto_id} under {d.parent}; available: "
            f"{', '.join(available_splits(dataset, data)) or 'none'}"
        )
    return matches[0]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ConfigError(f"{path}:{n}: not a JSON line ({err})") from err
    return rows


def _load_test(dataset: str, onto_id: str, data: str | os.PathLike[str] | None) -> list[BenchSentence]:
    """The test split as published: ``test/`` rows carry ``id``/``sent`` only, the gold is in
    ``ground_truth/ont_<id>_ground_truth.jsonl`` (keyed by ``id``). Every gold row is one unit, as in the
    benchmark's ``run_eval.py`` (duplicate sentences are scored once per row)."""
    d = dataset_dir(dataset, data)
    gold_path = d / "ground_truth" / f"ont_{onto_id}_ground_truth.jsonl"
    if not gold_path.is_file():
        test_dir = d / "test"
        if test_dir.is_dir() and any(test_dir.glob(f"ont_{onto_id}_*.jsonl")):
            raise ConfigError(f"{dataset} test rows for {onto_id} carry no triples and their gold file {gold_path} is "
                              f"missing; the benchmark publishes it as ground_truth/ont_{onto_id}_ground_truth.jsonl")
        _split_file(test_dir, onto_id, dataset, "test", data)  # raises the 'no test split' error
    out = []
    for row in _read_jsonl(gold_path):
        try:
            triples = tuple((str(t["sub"]), str(t["rel"]), str(t["obj"])) for t in row["triples"])
            out.append(BenchSentence(str(row["id"]), str(row["sent"]), triples))
        except (KeyError, TypeError) as err:
            raise ConfigError(f"{gold_path}: expected rows {{'id', 'sent', 'triples': [{{'sub', 'rel', 'obj'}}]}}, "
                              f"got keys {sorted(row)}") from err
    return out


def load_split(dataset: str, onto_id: str, split: str, data: str | os.PathLike[str] | None = None) -> list[BenchSentence]:
    """Sentences and gold triples of one ontology's split, as the benchmark publishes them.

    * ``test``: ids and sentences in ``test/``, gold in ``ground_truth/`` (see :func:`_load_test`); one
      unit per row.
    * Wikidata-TekGen's train/validation files have one line per triple (``sub_label``, ``rel_label``,
      ``obj_label``): lines with the same sentence are merged into one example.
    * Rows with ``triples: [{sub, rel, obj}]`` (DBpedia-WebNLG train) are one unit each.

    ``train-fit`` / ``train-holdout`` are a deterministic 80 % / 20 % partition of ``train`` (every fifth
    sentence held out), for datasets that ship no validation split (DBpedia-WebNLG here).
    """
    base_split, _, part = split.partition("-")
    if part not in ("", "fit", "holdout") or (part and base_split != "train"):
        raise ConfigError(f"unknown split {split!r}; use train, validation, test, train-fit or train-holdout")
    if base_split == "test":
        return _load_test(dataset, onto_id, data)
    path = _split_file(dataset_dir(dataset, data) / base_split, onto_id, dataset, split, data)
    merged: dict[str, tuple[str, list[tuple[str, str, str]], str]] = {}
    for row in _read_jsonl(path):
        if "triples" in row:
            triples = [(str(t["sub"]), str(t["rel"]), str(t["obj"])) for t in row["triples"]]
            key = f"id:{row['id']}"
        elif "sub_label" in row:
            triples = [(str(row["sub_label"]), str(row["rel_label"]), str(row["obj_label"]))]
            key = f"sent:{row['sent']}"
        else:
            raise ConfigError(f"{path}: rows carry neither 'triples' nor 'sub_label'/'rel_label'/'obj_label' "
                              f"(keys: {sorted(row)}); expected Text2KGBench's train/validation layout")
        entry = merged.setdefault(key, (str(row["id"]), [], str(row["sent"])))
        for t in triples:
            if t not in entry[1]:
                entry[1].append(t)
    out = [BenchSentence(i, text, tuple(ts)) for i, ts, text in merged.values()]
    if part:
        # Deterministic 80/20 cut for datasets without a validation split: every 5th sentence is held out.
        out = [x for k, x in enumerate(out) if (k % HOLDOUT_EVERY == HOLDOUT_EVERY - 1) == (part == "holdout")]
    return out


# -- metrics ---------------------------------------------------------------------------------------
def _normalize(s: str) -> str:
    return _NORM.sub("", s).lower()


def normalize_triple(sub: str, rel: str, obj: str) -> str:
    return f"{_normalize(sub)}{_normalize(rel)}{_normalize(obj)}"


class _Stemmer:
    """NLTK Porter stemming + Treebank tokenisation when available (as the benchmark), else lower-casing."""

    def __init__(self) -> None:
        try:
            from nltk.stem import PorterStemmer
            from nltk.tokenize import NLTKWordTokenizer
        except ImportError:
            self.kind = "none (nltk not installed: hallucination rates approximate)"
            self._stem = str.lower
            self._tokenize = lambda s: re.findall(r"\w+|[^\w\s]", s)
        else:
            self.kind = "nltk-porter"
            self._stem = PorterStemmer().stem
            self._tokenize = NLTKWordTokenizer().tokenize

    def clean(self, text: str) -> str:
        return _normalize("".join(self._stem(w) for w in self._tokenize(text)))


@dataclass(frozen=True)
class SentenceScores:
    precision: float
    recall: float
    f1: float
    onto_conf: float
    rel_halluc: float
    sub_halluc: float
    obj_halluc: float

    METRICS = ("precision", "recall", "f1", "onto_conf", "rel_halluc", "sub_halluc", "obj_halluc")

    def as_dict(self) -> dict[str, float]:
        return {m: getattr(self, m) for m in self.METRICS}


class Scorer:
    """Scores predictions for one benchmark ontology (see the module docstring)."""

    def __init__(self, bench: BenchOntology) -> None:
        self.bench = bench
        self.stemmer = _Stemmer()
        self._ont_rels = bench.relation_labels

    def score(self, sentence: BenchSentence, predicted: Sequence[tuple[str, str, str]]) -> SentenceScores:
        gold_rels = {r.replace(" ", "_") for _, r, _ in sentence.triples}
        kept = [t for t in predicted if t[1] in gold_rels]
        pred = {normalize_triple(*t) for t in kept}
        gold = {normalize_triple(*t) for t in sentence.triples}
        if pred:
            hit = len(gold & pred)
            p, r = hit / len(pred), hit / len(gold) if gold else 0.0
            f1 = 2 * p * r / (p + r) if p + r else 0.0
        else:
            p = r = f1 = 0.0
        if not predicted:
            return SentenceScores(p, r, f1, 1.0, 0.0, 0.0, 0.0)
        conf = sum(1 for t in predicted if t[1] in self._ont_rels) / len(predicted)
        # Like the original: sentence and concept labels concatenated without a separator.
        context = self.stemmer.clean(sentence.text + self.bench.concept_text)
        sub_h = sum(1 for t in predicted if self.stemmer.clean(t[0]).replace("01januari", "") not in context)
        obj_h = sum(1 for t in predicted if self.stemmer.clean(t[2]).replace("01januari", "") not in context)
        n = len(predicted)
        return SentenceScores(p, r, f1, conf, 1 - conf, sub_h / n, obj_h / n)


def score_sentence(bench: BenchOntology, sentence: BenchSentence, predicted: Sequence[tuple[str, str, str]]) -> SentenceScores:
    return Scorer(bench).score(sentence, predicted)


def average(scores: Iterable[SentenceScores | Mapping[str, float]]) -> dict[str, float]:
    rows = [s.as_dict() if isinstance(s, SentenceScores) else dict(s) for s in scores]
    if not rows:
        return {m: 0.0 for m in SentenceScores.METRICS}
    return {m: sum(r[m] for r in rows) / len(rows) for m in SentenceScores.METRICS}


# -- download (for users without the shared copy) ---------------------------------------------------
def download(dest: str | os.PathLike[str], *, commit: str = SOURCE_COMMIT, datasets: Sequence[str] = DATASETS) -> Path:
    """Fetch the benchmark's ontologies and splits from GitHub (pinned commit) into ``dest``.

    Files are fetched with ``httpx`` from raw.githubusercontent.com; the layout matches what
    :func:`dataset_dir` expects (``dest/extraction/text2kgbench/data/<dataset>``). For checksums, compare
    with the ``MANIFEST.sha256`` of a verified copy.
    """
    import httpx

    base = f"https://raw.githubusercontent.com/cenguix/Text2KGBench/{commit}/data"
    api = f"https://api.github.com/repos/cenguix/Text2KGBench/git/trees/{commit}?recursive=1"
    out = Path(dest) / "extraction" / "text2kgbench" / "data"
    with httpx.Client(timeout=60, follow_redirects=True) as http:
        tree = http.get(api).raise_for_status().json()["tree"]
        wanted = [
            t["path"] for t in tree
            if t["type"] == "blob" and any(t["path"].startswith(f"data/{d}/{sub}/")
                                           for d in datasets for sub in ("ontologies", "train", "validation", "test", "ground_truth"))
            and t["path"].endswith((".json", ".jsonl"))
        ]
        for path in wanted:
            target = out / path[len("data/"):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(http.get(f"{base}/{path[len('data/'):]}").raise_for_status().content)
    return out


if __name__ == "__main__":  # pragma: no cover
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "download":
        print(download(sys.argv[2]))
    else:
        print("usage: python -m kgkit.eval.text2kgbench download DEST_DIR")
