"""Fusion evaluations: entity matching (DeepMatcher splits), sample corpus, and value normalisers.

* Truth discovery (Book and any other data set of the DATA family) lives in :mod:`kgkit.eval.truth`;
  the author-list and ISBN normalisation it uses are here (:func:`normalize_authors`, :func:`isbn13`).
* :func:`evaluate_er` — F1 of kgkit's pair signals (string, token, numeric, embedding similarity)
  combined by a logistic regression trained on the train split, threshold picked on a held-out part
  of train, reported on every evaluation split file present (``valid``, ``test``); ``reported_split``
  names the one to quote (``test`` when it exists).
* :func:`evaluate_sample` — ingest ``data/sample`` with the default (spaCy) pipeline, fuse, and score
  pairwise merge precision/recall and conflict accuracy against ``GOLD.yaml``.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from kgkit.fuse.datasets import data_root, dataset_path

__all__ = ["data_root", "normalize_authors", "isbn13", "evaluate_er", "evaluate_sample"]

# -- value normalisation for the Book data ---------------------------------------------------------
_PAREN = re.compile(r"\([^)]*\)")
_JUNK = re.compile(r"\b(by|edited|editor|editors|eds?|translated|foreword|introduction|illustrated|et al)\b\.?")


def isbn13(isbn: str) -> str:
    """ISBN-10 -> ISBN-13 (978 prefix); other strings are returned stripped.

    >>> isbn13("0201853949")
    '9780201853940'
    """
    s = isbn.strip().replace("-", "")
    if len(s) != 10:
        return s
    core = "978" + s[:9]
    check = (10 - sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(core)) % 10) % 10
    return core + str(check)


def _surname(author: str) -> str:
    author = author.strip(" .,")
    if not author:
        return ""
    if "," in author:
        return author.split(",", 1)[0].strip()
    toks = author.split()
    return toks[-1] if toks else ""


def normalize_authors(raw: str) -> str:
    """A comparable author-list value: the sorted set of surnames, joined by ``|``.

    Handles "Last, First; Last, First", "First Last, First Last", "Last, First (Author) Last, ...",
    "By (author) Last, First", "A/B" and "A and B".

    >>> normalize_authors("Knuth, Donald E.") == normalize_authors("Donald E. Knuth")
    True
    >>> normalize_authors("Russell, Stuart J.; Norvig, Peter")
    'norvig|russell'
    """
    s = html.unescape(raw).lower()
    s = re.sub(r"\((joint )?author\)|by \(author\)", ";", s)
    s = _PAREN.sub(" ", s)
    s = _JUNK.sub(" ", s)
    s = re.sub(r"\s+(and|&)\s+|/", ";", s)
    s = re.sub(r"[^\w,;'\- ]", " ", s)
    parts = [p.strip(" ,") for p in s.split(";")]
    authors: list[str] = []
    for p in parts:
        if not p:
            continue
        commas = [c.strip() for c in p.split(",") if c.strip()]
        if len(commas) == 2 and len(commas[0].split()) >= 2 and len(commas[1].split()) >= 2:
            authors.extend(commas)  # "first last, first last"
        elif len(commas) <= 2:
            authors.append(p)  # "last, first" or "first last"
        elif all(len(c.split()) >= 2 for c in commas):
            authors.extend(commas)  # "first last, first last, ..."
        else:
            authors.extend(f"{commas[i]}, {commas[i + 1] if i + 1 < len(commas) else ''}" for i in range(0, len(commas), 2))
    names = sorted({sn for a in authors if (sn := re.sub(r"[^\w'\-]", "", _surname(a)))})
    return "|".join(names)


# -- entity matching on the DeepMatcher splits -----------------------------------------------------
_COL = re.compile(r"COL\s+(\S+)\s+VAL\s?")
_NUM = re.compile(r"-?\d+(?:\.\d+)?")
_TOKEN = re.compile(r"\w+")
ER_SETS = ("DBLP-ACM", "Abt-Buy", "Amazon-Google")
EVAL_SPLITS = ("valid", "test")


def parse_record(text: str) -> dict[str, str]:
    """``"COL title VAL x COL year VAL 2001"`` -> ``{"title": "x", "year": "2001"}``."""
    parts = _COL.split(text.strip())
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def er_folder(root: Path, dataset: str) -> Path:
    """The folder of an entity-matching set: ``dataset`` itself when it is a folder with ``train.txt``,
    else ``<root>/fusion/er/<dataset>``."""
    from kgkit.errors import ConfigError

    for cand in (Path(dataset), root / "fusion" / "er" / dataset):
        if (cand / "train.txt").is_file():
            return cand
    known = sorted(p.name for p in (root / "fusion" / "er").glob("*") if (p / "train.txt").is_file())
    raise ConfigError(f"no entity-matching set {dataset!r} under {root / 'fusion' / 'er'} (expected a folder with "
                      f"train.txt and valid.txt and/or test.txt, DeepMatcher/Ditto layout); found: "
                      f"{', '.join(known) or 'none'}; point --data (or KGKIT_DATA) at the datasets folder")


def er_splits(folder: Path) -> list[str]:
    """``train`` plus every evaluation split file present (``valid``, ``test``)."""
    from kgkit.errors import ConfigError

    present = [s for s in EVAL_SPLITS if (folder / f"{s}.txt").is_file()]
    if not present:
        raise ConfigError(f"{folder} has train.txt but neither valid.txt nor test.txt to evaluate on")
    return ["train", *present]


def load_er_split(root: Path, dataset: str, split: str) -> list[tuple[dict[str, str], dict[str, str], int]]:
    """Labelled pairs of one split file: ``COL a VAL x ...<TAB>COL a VAL y ...<TAB>0|1``."""
    from kgkit.errors import ConfigError

    path = dataset_path(er_folder(root, dataset), f"{split}.txt")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        cols = line.split("\t")
        if len(cols) != 3 or cols[2].strip() not in ("0", "1"):
            if line.strip():
                raise ConfigError(f"{path}:{n}: expected 'COL .. VAL ..<TAB>COL .. VAL ..<TAB>0|1'")
            continue
        rows.append((parse_record(cols[0]), parse_record(cols[1]), int(cols[2])))
    return rows


def _record_text(r: dict[str, str], limit: int = 300) -> str:
    return " ".join(v for v in r.values() if v)[:limit]


def _pair_features(a: dict[str, str], b: dict[str, str], attrs: list[str], idf: dict[str, float],
                   emb: dict[str, Any] | None) -> list[float]:
    from rapidfuzz import fuzz

    feats: list[float] = []
    for attr in attrs:
        x, y = a.get(attr, ""), b.get(attr, "")
        if not x or not y:
            feats += [0.0, 0.0, 0.0, 0.0, 1.0]
            continue
        tx, ty = set(_TOKEN.findall(x)), set(_TOKEN.findall(y))
        jac = len(tx & ty) / len(tx | ty) if tx | ty else 0.0
        nx, ny = _NUM.findall(x), _NUM.findall(y)
        num = 0.0
        if nx and ny:
            fx, fy = float(nx[0]), float(ny[0])
            num = 1.0 - min(1.0, abs(fx - fy) / max(abs(fx), abs(fy), 1e-9))
        feats += [jac, fuzz.token_set_ratio(x, y) / 100.0, fuzz.ratio(x, y) / 100.0, num, 0.0]
    ta, tb = _TOKEN.findall(_record_text(a, 10_000)), _TOKEN.findall(_record_text(b, 10_000))
    feats.append(_tfidf_cosine(ta, tb, idf))
    # Rare shared tokens (model numbers, surnames) are strong evidence; the max idf of a shared token.
    shared = set(ta) & set(tb)
    feats.append(max((idf.get(t, 0.0) for t in shared), default=0.0) / 10.0)
    if emb is not None:
        first = attrs[0]
        feats.append(float(emb[a.get(first, "")] @ emb[b.get(first, "")]))
        feats.append(float(emb[_record_text(a)] @ emb[_record_text(b)]))
    return feats


def _tfidf_cosine(ta: list[str], tb: list[str], idf: dict[str, float]) -> float:
    import math

    def vec(ts: list[str]) -> dict[str, float]:
        v: dict[str, float] = defaultdict(float)
        for t in ts:
            v[t] += idf.get(t, 1.0)
        return v

    va, vb = vec(ta), vec(tb)
    dot = sum(w * vb.get(t, 0.0) for t, w in va.items())
    na = math.sqrt(sum(w * w for w in va.values()))
    nb = math.sqrt(sum(w * w for w in vb.values()))
    return dot / (na * nb) if na and nb else 0.0


def _fit_logistic(X: Any, y: Any, *, l2: float = 1e-3, steps: int = 3000, lr: float = 0.1) -> tuple[Any, Any, Any]:
    """Logistic regression by full-batch Adam on standardised features (numpy only)."""
    import numpy as np

    mu, sd = X.mean(0), X.std(0) + 1e-9
    Z = np.hstack([(X - mu) / sd, np.ones((len(X), 1))])
    w = np.zeros(Z.shape[1])
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    pos = y.mean()
    sw = np.where(y == 1, 0.5 / max(pos, 1e-9), 0.5 / max(1 - pos, 1e-9))  # balance the classes
    for t in range(1, steps + 1):
        p = 1.0 / (1.0 + np.exp(-Z @ w))
        g = Z.T @ ((p - y) * sw) / len(y) + l2 * np.r_[w[:-1], 0.0]
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w, mu, sd


def _predict(model: tuple[Any, Any, Any], X: Any) -> Any:
    import numpy as np

    w, mu, sd = model
    Z = np.hstack([(X - mu) / sd, np.ones((len(X), 1))])
    return 1.0 / (1.0 + np.exp(-Z @ w))


def _prf(pred: Any, y: Any) -> dict[str, float]:
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}


def evaluate_er(root: Path | None, dataset: str, *, use_embeddings: bool = True, device: str | None = "cpu",
                seed: int = 0) -> dict[str, Any]:
    """F1 of kgkit's matcher on one DeepMatcher data set (train -> fit; held-out 20% -> threshold).

    Every evaluation split file present is scored (``valid``, ``test``); ``reported_split`` names the one
    to quote: ``test`` when the set ships it, else ``valid``. ``dataset`` is a name under
    ``<root>/fusion/er/`` or a folder path.
    """
    import math

    import numpy as np

    root = data_root(root)
    names = er_splits(er_folder(root, dataset))
    splits = {s: load_er_split(root, dataset, s) for s in names}
    attrs = list(splits["train"][0][0].keys())
    # IDF from the train records only.
    docs = {_record_text(r, 10_000) for a, b, _ in splits["train"] for r in (a, b)}
    df: dict[str, int] = defaultdict(int)
    for d in docs:
        for t in set(_TOKEN.findall(d)):
            df[t] += 1
    idf = {t: math.log((1 + len(docs)) / (1 + c)) + 1.0 for t, c in df.items()}
    emb = None
    if use_embeddings:
        from kgkit.fuse.embeddings import NameEmbedder

        texts = sorted({t for rows in splits.values() for a, b, _ in rows for r in (a, b)
                        for t in (r.get(attrs[0], ""), _record_text(r))})
        enc = NameEmbedder(device=device, batch_size=128)
        emb = dict(zip(texts, enc.encode(texts)))
    feats = {s: (np.array([_pair_features(a, b, attrs, idf, emb) for a, b, _ in rows]),
                 np.array([lab for _, _, lab in rows], dtype=float)) for s, rows in splits.items()}
    X, y = feats["train"]
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(y))
    cut = int(0.8 * len(y))
    fit_idx, hold_idx = idx[:cut], idx[cut:]
    model = _fit_logistic(X[fit_idx], y[fit_idx])
    p_hold = _predict(model, X[hold_idx])
    best_t = max(np.linspace(0.05, 0.95, 91), key=lambda t: _prf((p_hold >= t).astype(int), y[hold_idx])["f1"])
    out: dict[str, Any] = {"attributes": attrs, "embeddings": use_embeddings, "threshold": round(float(best_t), 3),
                           "pairs": {s: len(r) for s, r in splits.items()}, "splits": names[1:],
                           "reported_split": "test" if "test" in names else "valid"}
    for s in names[1:]:
        Xs, ys = feats[s]
        out[s] = _prf((_predict(model, Xs) >= best_t).astype(int), ys)
    return out


# -- the sample corpus against GOLD.yaml ----------------------------------------------------------
_MARKER = ".kgkit-eval-fusion"


def _iso_date(text: str) -> str:
    """'7 November 1867' -> '1867-11-07'; '1818' -> '1818'; anything else folded."""
    from datetime import datetime

    from kgkit.fuse.normalize import match_key

    t = text.strip()
    for fmt in ("%d %B %Y", "%B %d, %Y", "%Y-%m-%d", "%d %b %Y"):
        try:
            return datetime.strptime(t, fmt).strftime("%Y-%m-%d")
        except ValueError:
            pass
    return t if re.fullmatch(r"\d{4}", t) else match_key(t)


def _scratch(workdir: Path) -> Path:
    import shutil

    from kgkit.errors import ConfigError

    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / _MARKER).exists():
            raise ConfigError(f"{workdir} is not empty and was not made by this evaluation; pass an empty --workdir")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / _MARKER).write_text("scratch folder of `kgkit eval fusion sample`; safe to delete\n")
    return workdir


def _gold_alias_index(gold: dict[str, Any]) -> dict[str, str]:
    """folded alias -> gold canonical, only for aliases that belong to exactly one gold entity."""
    from kgkit.fuse.normalize import match_key

    owners: dict[str, set[str]] = defaultdict(set)
    for e in gold.get("entities", []):
        for a in [e["canonical"], *e.get("aliases", [])]:
            owners[match_key(a)].add(e["canonical"])
    return {k: next(iter(v)) for k, v in owners.items() if len(v) == 1}


def _pair_metrics(gold_of: dict[str, str], cluster_of: dict[str, str]) -> dict[str, float]:
    ids = sorted(gold_of)
    tp = fp = fn = 0
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            g = gold_of[a] == gold_of[b]
            p = cluster_of[a] == cluster_of[b]
            tp += g and p
            fp += p and not g
            fn += g and not p
    prec = tp / (tp + fp) if tp + fp else 1.0
    rec = tp / (tp + fn) if tp + fn else 1.0
    return {"pairs_tp": tp, "pairs_fp": fp, "pairs_fn": fn, "precision": round(prec, 4), "recall": round(rec, 4),
            "f1": round(2 * prec * rec / (prec + rec) if prec + rec else 0.0, 4)}


def _conflict_accuracy(gold: dict[str, Any], rows: list[dict[str, Any]], canon_of_entity: dict[str, str],
                       field: str) -> dict[str, Any]:
    from kgkit.fuse.normalize import match_key

    found = correct = 0
    details = []
    for g in gold.get("conflicts", []):
        true = _iso_date(str(g["true"]))
        row = next((r for r in rows if r["predicate"] == g["relation"]
                    and canon_of_entity.get(r["subject"]) == g["subject"]), None)
        ok = False
        chosen_name = None
        if row is not None:
            found += 1
            key = row["chosen"] if field == "chosen" else row["majority_choice"]
            chosen_name = next((v["name"] for v in row["values"] if v["key"] == key), "")
            got = _iso_date(chosen_name)
            ok = got == true or match_key(chosen_name) == match_key(str(g["true"])) or (
                len(true) == 4 and got.startswith(true) and len(got) <= 4)
        correct += ok
        details.append({"subject": g["subject"], "relation": g["relation"], "true": g["true"],
                        "detected": row is not None, "chosen": chosen_name, "correct": ok})
    n = len(gold.get("conflicts", []))
    return {"gold_conflicts": n, "detected": found, "correct": correct,
            "accuracy": round(correct / n, 4) if n else 0.0,
            "accuracy_on_detected": round(correct / found, 4) if found else 0.0, "details": details}


def evaluate_sample(corpus: Path = Path("data/sample"), workdir: Path = Path(".kgkit/eval-fusion"),
                    *, use_embeddings: bool = True) -> dict[str, Any]:
    """Ingest ``corpus`` (default spaCy pipeline), fuse, and score against ``corpus/GOLD.yaml``.

    Merge quality is pairwise precision/recall over extracted entities whose name is an unambiguous
    gold alias; the baseline merges on exact (folded) names. Conflict accuracy counts a gold conflict
    as correct when fusion recorded it and chose the true value; it is reported for majority vote,
    ACCU, TruthFinder and ACCU-COPY with learned reliability only, and ACCU with the corpus's
    configured publisher priors (fan blogs 0.3, everything else the default).
    """
    import yaml

    from kgkit.api import KnowledgeGraph
    from kgkit.errors import ConfigError
    from kgkit.fuse import fuse_graph, list_conflicts, undo
    from kgkit.fuse.normalize import match_key

    gold_path = corpus / "GOLD.yaml"
    if not gold_path.exists():
        raise ConfigError(f"{gold_path} not found; pass --corpus pointing at the sample corpus")
    gold = yaml.safe_load(gold_path.read_text(encoding="utf-8"))
    alias_gold = _gold_alias_index(gold)
    workdir = _scratch(Path(workdir))
    out: dict[str, Any] = {}
    with KnowledgeGraph(None, workdir=workdir) as kg:
        rep = kg.ingest(corpus, fuse=False)
        out["ingest"] = {"documents": rep.processed, "facts": rep.triples}
        before = {e.id: e for e in kg.store.iter_entities()}
        gold_of = {i: alias_gold[match_key(e.name)] for i, e in before.items() if match_key(e.name) in alias_gold}
        out["entities_before"] = len(before)
        out["entities_mapped_to_gold"] = len(gold_of)
        out["merge_baseline_exact_name"] = _pair_metrics(gold_of, {i: match_key(before[i].name) for i in gold_of})
        blog_docs = {d for d in kg.store.document_ids() if "/blogs/" in f"/{d}"}
        variants: dict[str, dict[str, Any]] = {
            "majority": {"policy": "majority"},
            "accu": {"policy": "accu"},
            "truthfinder": {"policy": "truthfinder"},
            "accucopy": {"policy": "accucopy"},
            "accu_with_publisher_priors": {"policy": "accu", "publishers": {d: "fan-blogs" for d in sorted(blog_docs)},
                                           "source_priors": {"fan-blogs": 0.3}},
        }
        for name, params in variants.items():
            report = fuse_graph(kg.store, kg.ontology, use_embeddings=use_embeddings, **params)
            after = list(kg.store.iter_entities())
            cluster_of = {}
            canon_of_entity: dict[str, str] = {}
            for e in after:
                for member in [e.id, *(e.properties.get("merged_ids") or [])]:
                    cluster_of[member] = e.id
                names = [match_key(a) for a in (e.name, *e.aliases)]
                hits = {alias_gold[n] for n in names if n in alias_gold}
                if len(hits) == 1:
                    canon_of_entity[e.id] = next(iter(hits))
            if "merge" not in out:
                out["merge_kgkit"] = _pair_metrics(gold_of, {i: cluster_of.get(i, i) for i in gold_of})
                out["merge"] = {"clusters": report.clusters, "entities_after": report.entities_after,
                                "homonym_pairs_merged": _homonyms_merged(gold, gold_of, cluster_of)}
            rows = list_conflicts(kg.store, report.run_id)
            out[f"conflicts_{name}"] = _conflict_accuracy(gold, rows, canon_of_entity, "chosen")
            if name == "majority":
                out["conflicts_detected_by_fusion"] = len(rows)
            undo(kg.store, report.run_id)
    return out


def _homonyms_merged(gold: dict[str, Any], gold_of: dict[str, str], cluster_of: dict[str, str]) -> list[list[str]]:
    clusters_of_gold: dict[str, set[str]] = defaultdict(set)
    for eid, g in gold_of.items():
        clusters_of_gold[g].add(cluster_of.get(eid, eid))
    return [[a, b] for a, b in gold.get("homonyms", []) if clusters_of_gold.get(a, set()) & clusters_of_gold.get(b, set())]
