"""Truth discovery on data sets of the DATA family (Book, Flight, Stock as packaged by TrustFuse).

A data set is one folder, read as published::

    conflicting_data/<name>.txt          claims, tab-separated: Source, entity, attribute values...
    ground_truth/<name>.txt              gold, tab-separated: entity, attribute values...
    dataset_parameters.json              {"entity_col_name": ..., "headers": [claim columns, gold columns]}
    types_crh.json (or types.json)       attribute -> "string" | "quantity"
    preprocess_configuration_crh.json    normalisation steps per attribute (or preprocess_configuration.json)

Everything that differs between data sets comes from those files: the columns, which attributes are
scored and their types, the normalisation steps (``transform_date``, ``remove_space``,
``scale_units``, ``extract_authors``, ``focus_on_attributes``) and an optional ``"tolerance"`` map in
``dataset_parameters.json`` (attribute -> largest absolute difference still counted as correct for a
quantity). The Book release ships no ``dataset_parameters.json``; its four published columns are the
only built-in layout (:data:`BOOK_PARAMETERS`).

Each (entity, attribute) pair of each claims file is one item; a policy resolves all of them at once,
and accuracy is the share of gold items (that have at least one claim) whose chosen value is the
gold one. :func:`leave_out` is the protocol used for BENCHMARKS.md: parameters tuned on half of the
gold entities, accuracy reported on the other half.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from kgkit.errors import ConfigError
from kgkit.eval.fusion import isbn13, normalize_authors
from kgkit.fuse.policies import DEFAULT_POLICY, Claim, PolicyResult, make_policy

__all__ = ["BOOK_PARAMETERS", "TruthDataset", "load_truth_dataset", "find_truth_dataset", "evaluate_truth",
           "score", "leave_out", "DEFAULT_GRID", "author_similarity"]

BOOK_PARAMETERS = {"entity_col_name": "ISBN",
                   "headers": [["Source", "ISBN", "Title", "Author list"], ["ISBN", "Author list"]]}
_LAYOUT = ("a DATA-family folder: conflicting_data/*.txt and ground_truth/*.txt (same file names), "
           "dataset_parameters.json (entity_col_name, headers), types_crh.json and optionally "
           "preprocess_configuration_crh.json")
_EMPTY = {"", "not available", "n/a", "na", "unknown", "various", "nan", "none", "-"}
_TIME = re.compile(r"(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+]?\d*\.\d+|[-+]?\d+")


def author_similarity(a: str, b: str) -> float:
    """How much claiming author list ``a`` supports ``b``: the share of a's authors that b lists.

    Asymmetric on purpose: a store listing only the first author supports the full list, while the
    full list only partly supports the first author alone.

    >>> author_similarity("knuth", "graham|knuth|patashnik"), round(author_similarity("graham|knuth", "knuth"), 2)
    (1.0, 0.5)
    """
    sa, sb = set(a.split("|")), set(b.split("|"))
    return len(sa & sb) / len(sa) if sa else 0.0


def _minutes(text: str) -> str | None:
    """``'12/01/2011 02:07 PM'`` / ``'2:07PM EST'`` / ``'14:07'`` -> ``'847'`` (minutes after midnight)."""
    m = _TIME.search(re.sub(r"\([^)]*\)", "", text))
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    half = (m.group(3) or "").lower()[:1]
    if half == "p" and hour < 12:
        hour += 12
    elif half == "a" and hour == 12:
        hour = 0
    return str(hour * 60 + minute)


def _number(text: str) -> str | None:
    m = _NUMBER.search(text)
    return f"{float(m.group().replace(',', '')):g}" if m else None


def _authors(text: str) -> str | None:
    return normalize_authors(text) or None


def _string(text: str) -> str | None:
    return " ".join(text.split()).casefold() or None


# Steps of preprocess_configuration*.json that change values; focus_on_attributes selects attributes.
_STEPS: dict[str, Callable[[str], str | None]] = {
    "transform_date": _minutes, "scale_units": _number, "extract_authors": _authors, "remove_space": _string,
}


@dataclass
class TruthDataset:
    """Claims and gold of one folder; ``list_values`` are the author-list values (for similarity)."""

    name: str
    claims: list[Claim]
    gold: dict[str, str]
    attributes: dict[str, str]
    tolerance: dict[str, float] = field(default_factory=dict)
    list_values: set[str] = field(default_factory=set)
    entity_of: dict[str, str] = field(default_factory=dict)

    @property
    def similarity(self) -> Callable[[str, str], float] | None:
        """Value similarity for ACCU-SIM / TruthFinder: author-list overlap, else exact match."""
        if not self.list_values:
            return None
        lists = self.list_values

        def sim(a: str, b: str) -> float:
            return author_similarity(a, b) if a in lists and b in lists else 0.0

        return sim

    def evaluated_items(self) -> list[str]:
        items = {c.item for c in self.claims}
        return [i for i in self.gold if i in items]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: invalid JSON ({err}); expected {_LAYOUT}") from err


def _first(folder: Path, *names: str) -> Path | None:
    return next((folder / n for n in names if (folder / n).is_file()), None)


def _file_pairs(folder: Path) -> list[tuple[Path, Path]]:
    claims_dir, gold_dir = folder / "conflicting_data", folder / "ground_truth"
    if not claims_dir.is_dir() or not gold_dir.is_dir():
        raise ConfigError(f"{folder} is not a truth-discovery data set; expected {_LAYOUT}")
    claims = sorted(claims_dir.glob("*.txt"))
    gold = {p.name: p for p in gold_dir.glob("*.txt")}
    pairs = [(c, gold[c.name]) for c in claims if c.name in gold]
    if not pairs and len(claims) == 1 and len(gold) == 1:
        pairs = [(claims[0], next(iter(gold.values())))]
    if not pairs:
        raise ConfigError(f"{folder}: no claims file in conflicting_data/ has a ground_truth/ file of the same name; "
                          f"expected {_LAYOUT}")
    return pairs


def _normalizers(attributes: dict[str, str], prep: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Callable[[str], str | None]]]:
    """Apply the preprocessing configuration: which attributes are kept, and how each is normalised."""
    norm: dict[str, Callable[[str], str | None]] = {
        a: (_number if t == "quantity" else _string) for a, t in attributes.items()}
    for section in ("modify_structure", "modify_data"):
        for step, conf in (prep.get(section) or {}).items():
            targets = list(conf.get("attributes", []))
            if conf.get("action") == "type_selection":  # attributes named by type, e.g. ["string"]
                targets = [a for a, t in attributes.items() if t in targets]
            if step == "focus_on_attributes":
                attributes = {a: t for a, t in attributes.items() if a in targets}
            elif step in _STEPS:
                for a in targets:
                    if a in norm and not (step == "remove_space" and norm[a] is not _string):
                        norm[a] = _STEPS[step]
            else:
                raise ConfigError(f"unknown preprocessing step {step!r}; kgkit knows "
                                  f"{', '.join([*_STEPS, 'focus_on_attributes'])}")
    return attributes, {a: norm[a] for a in attributes}


def load_truth_dataset(folder: str | Path) -> TruthDataset:
    """Read a DATA-family folder as published (see the module docstring)."""
    folder = Path(folder)
    pairs = _file_pairs(folder)
    params_path = _first(folder, "dataset_parameters.json")
    if params_path is not None:
        params = _read_json(params_path)
    elif (folder / "conflicting_data" / "book.txt").is_file():
        params = BOOK_PARAMETERS
    else:
        raise ConfigError(f"{folder}: dataset_parameters.json not found; expected {_LAYOUT}")
    try:
        entity_col = params["entity_col_name"]
        claim_cols, gold_cols = params["headers"][0], params["headers"][1]
    except (KeyError, IndexError, TypeError) as err:
        raise ConfigError(f"{params_path}: needs entity_col_name and headers [claim columns, gold columns]") from err
    types_path = _first(folder, "types_crh.json", "types.json")
    types = _read_json(types_path) if types_path else {c: "string" for c in gold_cols if c != entity_col}
    prep_path = _first(folder, "preprocess_configuration_crh.json", "preprocess_configuration.json")
    prep = _read_json(prep_path) if prep_path else {}
    attributes = {a: t for a, t in types.items() if a in gold_cols and a in claim_cols and a != entity_col}
    attributes, norm = _normalizers(attributes, prep)
    if not attributes:
        raise ConfigError(f"{folder}: no attribute is both typed in {types_path} and a column of claims and gold")
    entity_key = isbn13 if "isbn" in entity_col.lower() else str.strip
    ds = TruthDataset(folder.name, [], {}, attributes, {a: float(t) for a, t in (params.get("tolerance") or {}).items()})
    multi = len(pairs) > 1
    for claims_file, gold_file in pairs:
        prefix = f"{claims_file.stem}\t" if multi else ""
        ds.claims += _read_rows(claims_file, claim_cols, entity_col, norm, entity_key, prefix, ds, source=True)
        _read_rows(gold_file, gold_cols, entity_col, norm, entity_key, prefix, ds, source=False)
    if any(f is _authors for f in norm.values()):
        ds.list_values = {c.value for c in ds.claims} | set(ds.gold.values())
    return ds


def _read_rows(path: Path, cols: Sequence[str], entity_col: str, norm: Mapping[str, Callable[[str], str | None]],
               entity_key: Callable[[str], str], prefix: str, ds: TruthDataset, *, source: bool) -> list[Claim]:
    pos = {c: i for i, c in enumerate(cols)}
    if entity_col not in pos or (source and "Source" not in pos):
        raise ConfigError(f"{path}: the headers must name {entity_col!r}{' and Source' if source else ''}")
    out: list[Claim] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        cells = line.rstrip("\r").split("\t")
        if len(cells) <= pos[entity_col] or not cells[pos[entity_col]].strip():
            continue
        entity = entity_key(cells[pos[entity_col]])
        for attr, f in norm.items():
            i = pos[attr]
            raw = cells[i].strip() if i < len(cells) else ""
            if raw.lower() in _EMPTY or (value := f(raw)) is None:
                continue
            item = f"{prefix}{entity}\t{attr}"
            ds.entity_of[item] = f"{prefix}{entity}"
            if source:
                out.append(Claim(item, value, cells[pos["Source"]].strip()))
            else:
                ds.gold[item] = value
    return out


def find_truth_dataset(data: str | Path) -> Path:
    """``data`` itself when it is a data-set folder, else the Book set under a datasets folder."""
    data = Path(data)
    if (data / "conflicting_data").is_dir():
        return data
    book = data / "fusion" / "truth" / "book"
    if book.is_dir():
        return book
    raise ConfigError(f"{data} is neither a truth-discovery data set nor a datasets folder with fusion/truth/book; "
                      f"expected {_LAYOUT}")


def _correct(ds: TruthDataset, item: str, chosen: str | None) -> bool:
    gold = ds.gold[item]
    if chosen is None:
        return False
    if chosen == gold:
        return True
    tol = ds.tolerance.get(item.rsplit("\t", 1)[-1], 0.0)
    if tol and ds.attributes.get(item.rsplit("\t", 1)[-1]) == "quantity":
        try:
            return abs(float(chosen) - float(gold)) <= tol
        except ValueError:
            return False
    return False


def score(ds: TruthDataset, result: PolicyResult, items: Sequence[str] | None = None) -> float:
    """Accuracy of ``result`` on ``items`` (default: every gold item that has claims)."""
    items = ds.evaluated_items() if items is None else items
    if not items:
        return 0.0
    return round(sum(_correct(ds, i, result.chosen.get(i)) for i in items) / len(items), 4)


def _policy(ds: TruthDataset, name: str, params: Mapping[str, Any] | None = None) -> Any:
    kwargs = dict(params or {})
    if name != "majority" and ds.similarity is not None:
        kwargs.setdefault("similarity", ds.similarity)
    return make_policy(name, **kwargs)


POLICY_NAMES = ("majority", "accu", "truthfinder", "accucopy")


def evaluate_truth(folder: str | Path, policies: Sequence[str] = POLICY_NAMES) -> dict[str, Any]:
    """Accuracy of every policy (shipped parameters) and of kgkit's default one on one data set."""
    ds = load_truth_dataset(folder)
    items = ds.evaluated_items()
    out: dict[str, Any] = {
        "dataset": ds.name, "attributes": ds.attributes, "claims": len(ds.claims),
        "sources": len({c.source for c in ds.claims}), "items": len({c.item for c in ds.claims}),
        "gold_items": len(ds.gold), "gold_items_with_claims": len(items), "accuracy": {}, "iterations": {},
        "default_policy": DEFAULT_POLICY,
    }
    names = list(dict.fromkeys([*policies, DEFAULT_POLICY]))
    for name in names:
        res = _policy(ds, name).resolve(ds.claims)
        out["accuracy"][name] = score(ds, res, items)
        if res.iterations:
            out["iterations"][name] = res.iterations
        if res.dependence:
            out["dependent_source_pairs"] = len(res.dependence)
    out["accuracy"]["default"] = out["accuracy"][DEFAULT_POLICY]
    return out


# -- leave-out protocol ----------------------------------------------------------------------------
DEFAULT_GRID: dict[str, dict[str, list[Any]]] = {
    "majority": {},
    "accu": {"n_false": [5, 10, 50], "rho": [0.0, 0.25, 0.5, 0.75]},
    "truthfinder": {"gamma": [0.3, 0.8], "rho": [0.3, 0.5, 0.8], "base_similarity": [0.3, 0.5]},
    "accucopy": {"n_false": [10, 100], "rho": [0.25, 0.5, 0.75], "alpha": [0.1, 0.3], "copy_rate": [0.5, 0.8]},
}


def _halves(ds: TruthDataset) -> tuple[list[str], list[str]]:
    """Gold items split by entity (a stable hash), so that one entity's attributes stay together."""
    a: list[str] = []
    b: list[str] = []
    for item in ds.evaluated_items():
        h = hashlib.sha256(ds.entity_of.get(item, item).encode()).digest()[0]
        (a if h % 2 == 0 else b).append(item)
    return a, b


def leave_out(folder: str | Path, grid: Mapping[str, Mapping[str, Sequence[Any]]] = DEFAULT_GRID,
              on_config: Callable[[str, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Tune each policy's parameters on one half of the gold entities and score the other half (both ways).

    Policies are unsupervised, so each configuration is resolved once over all claims; the gold of
    the tuning half only picks the configuration. Reported: per fold and policy, the tuned
    parameters, accuracy on the scored half, and the shipped defaults' accuracy on the same half.
    """
    ds = load_truth_dataset(folder)
    halves = _halves(ds)
    folds: list[dict[str, Any]] = [{"tune": len(halves[k]), "scored": len(halves[1 - k]), "policies": {}}
                                   for k in (0, 1)]
    for name, space in grid.items():
        keys = list(space)
        configs = [dict(zip(keys, vals)) for vals in itertools.product(*(space[k] for k in keys))] or [{}]
        scored: list[tuple[dict[str, Any], list[float]]] = []  # config, accuracy on each half
        for conf in configs:
            res = _policy(ds, name, conf).resolve(ds.claims)
            scored.append((conf, [score(ds, res, halves[0]), score(ds, res, halves[1])]))
            if on_config:
                on_config(name, conf)
        shipped = _policy(ds, name).resolve(ds.claims)
        for k in (0, 1):
            conf, acc = max(scored, key=lambda t: t[1][k])  # first best in grid order on the tuning half
            folds[k]["policies"][name] = {"params": conf, "tuned_accuracy": acc[k], "scored_accuracy": acc[1 - k],
                                          "shipped_defaults_scored_accuracy": score(ds, shipped, halves[1 - k])}
    mean = {name: round(sum(f["policies"][name]["scored_accuracy"] for f in folds) / 2, 4) for name in grid}
    return {"dataset": ds.name, "gold_items_with_claims": len(ds.evaluated_items()), "folds": folds,
            "mean_scored_accuracy": mean, "default_policy": DEFAULT_POLICY}
