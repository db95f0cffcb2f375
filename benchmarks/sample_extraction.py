"""Offline extractor against the sample corpus's hand-written gold (data/sample/GOLD.yaml).

Recall: share of the gold facts (stated in the corpus) that the extractor produced, matching
subject/object through the gold alias clusters and dates through ISO normalisation.
Precision lower bound: share of extracted facts that match a gold fact or a gold conflict claim
(a false claim that a document does state is a correct extraction). Facts the gold file does not
list count as wrong here, so the true precision is at least this; see BENCHMARKS.md for the
hand-checked sample.

Usage:
    python benchmarks/sample_extraction.py [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

import yaml

from kgkit.extract.dates import normalize_date
from kgkit.extract.spacy_extractor import SpacyExtractor
from kgkit.ingest.ledger import Ledger
from kgkit.ontology import load_ontology
from kgkit.pipeline import ingest_folder
from kgkit.store.embedded import FalkorDBStore
from kgkit.types import normalize_name

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"


def _aliases(gold: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in gold["entities"]:
        for a in set(e.get("aliases") or ()) | {e["canonical"]}:
            out.setdefault(normalize_name(a), set()).add(e["canonical"])
    return out


def _same(gold_name: str, name: str, aliases: dict[str, set[str]]) -> bool:
    gd, d = normalize_date(str(gold_name)), normalize_date(name)
    if gd is not None and d is not None:
        return gd == d
    return gold_name in aliases.get(normalize_name(name), set()) or normalize_name(str(gold_name)) == normalize_name(name)


def evaluate(show_misses: bool = False) -> dict:
    gold = yaml.safe_load((SAMPLE / "GOLD.yaml").read_text(encoding="utf-8"))
    aliases = _aliases(gold)
    onto = load_ontology()
    with tempfile.TemporaryDirectory() as d, FalkorDBStore(data_dir=Path(d) / "db") as store:
        ingest_folder(SAMPLE, store=store, extractor=SpacyExtractor(onto), ontology=onto, ledger=Ledger(Path(d) / "l.sqlite"))
        ents = {e.id: e for e in store.iter_entities()}
        extracted = [(ents[f.subject_id].name, f.predicate, ents[f.object_id].name) for f in store.iter_facts()]
    gold_facts = [tuple(f[:3]) for f in gold["facts"]]
    claims = [(c["subject"], c["relation"], cl["value"]) for c in gold.get("conflicts", []) for cl in c["claims"]]

    def matches(g: tuple, x: tuple) -> bool:
        return g[1] == x[1] and _same(g[0], x[0], aliases) and _same(g[2], x[2], aliases)

    recalled = [g for g in gold_facts if any(matches(g, x) for x in extracted)]
    supported = [x for x in extracted if any(matches(g, x) for g in gold_facts + claims)]
    missed = Counter(g[1] for g in gold_facts if g not in recalled)
    result = {
        "gold_facts": len(gold_facts), "extracted_facts": len(extracted), "recalled": len(recalled),
        "recall": round(len(recalled) / len(gold_facts), 3),
        "precision_lower_bound": round(len(supported) / max(1, len(extracted)), 3),
        "missed_by_relation": dict(missed.most_common()),
    }
    if show_misses:
        result["unsupported_extractions"] = [x for x in extracted if x not in supported]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--show-misses", action="store_true", help="also list extracted facts the gold does not support")
    print(json.dumps(evaluate(ap.parse_args().show_misses), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
