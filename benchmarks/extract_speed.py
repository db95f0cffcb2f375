"""Extraction speed of a trained model against the spaCy extractor, with and without its pair encoder.

The e2e benchmark (``e2e_webnlg.py``) measures one trained model against spaCy once per run, and on a
shared 2-core virtual machine both speeds drift from minute to minute. This script loads a kept model
and alternates, ``--rounds`` times, the three extractors on the same chunks (the spaCy extractor; the
model as saved; the same model with its pair encoder dropped, i.e. the classifiers alone), each timed
as the best of ``--passes`` passes, the three taking turns pass by pass (``docs_per_second`` of the e2e
benchmark). Ratios are per round, so each compares runs a few seconds apart.

Usage::

    KGKIT_DATA=/work/shared/datasets HF_HUB_OFFLINE=1 python benchmarks/extract_speed.py MODEL_DIR [--rounds 3]

Prints JSON (and writes it to ``--out`` when given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def main() -> None:
    from e2e_webnlg import docs_per_second

    from kgkit.extract.spacy_extractor import SpacyExtractor
    from kgkit.extract.trained import TrainedExtractor

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="a trained model folder (e.g. kept by e2e_webnlg.py --keep)")
    ap.add_argument("--docs", default=None, help="folder of .txt documents (default: $KGKIT_DATA/e2e/webnlg-dev/docs)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    docs = Path(args.docs or Path(os.environ.get("KGKIT_DATA", "../shared/datasets")) / "e2e" / "webnlg-dev" / "docs")
    if not docs.is_dir():
        raise SystemExit(f"no documents at {docs}: pass --docs or set KGKIT_DATA")
    spacy_x = SpacyExtractor()
    with_encoder = TrainedExtractor(model=args.model)
    alone = TrainedExtractor(model=args.model)
    alone.warm_up()
    if alone.model.encoder is None:
        raise SystemExit(f"{args.model} has no pair encoder; nothing to compare")
    alone.model._encoder = None  # the same classifiers, scored without the encoder's probabilities
    rounds = []
    for _ in range(args.rounds):
        dps = docs_per_second({"spacy": spacy_x, "trained": with_encoder, "alone": alone}, docs, args.passes)
        s, w, a = dps["spacy"], dps["trained"], dps["alone"]
        rounds.append({"spacy_docs_per_s": round(s, 2), "trained_docs_per_s": round(w, 2), "classifiers_docs_per_s": round(a, 2),
                       "ratio": round(w / s, 3), "classifiers_ratio": round(a / s, 3), "encoder_cost": round(a / w, 3)})
        print(json.dumps(rounds[-1]), file=sys.stderr, flush=True)
    out = {"model": args.model, "encoder": with_encoder.model.encoder, "docs": str(docs), "rounds": rounds,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "python": platform.python_version(),
           "machine": f"{os.cpu_count()} cores"}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
