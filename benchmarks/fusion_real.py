"""Real-folder fusion check: a mixed real corpus -> spaCy ingest -> fuse -> a sample of merges to label.

Steps (each can be run alone; ``all`` runs them in order)::

    python benchmarks/fusion_real.py corpus  --out /tmp/kgkit-real     # build the folder
    python benchmarks/fusion_real.py ingest  --out /tmp/kgkit-real     # spaCy extraction, no fusion
    python benchmarks/fusion_real.py fuse    --out /tmp/kgkit-real     # fuse, write merges.tsv
    python benchmarks/fusion_real.py score   --out /tmp/kgkit-real --labels LABELS.tsv --report RESULTS.md

    # a second, independent corpus (no document in common with the first):
    python benchmarks/fusion_real.py corpus --out /tmp/kgkit-real2 --disjoint-from /tmp/kgkit-real

    # a third one, disjoint from both (the remaining Debian packages, Wikidata sentences neither
    # holds, DBpedia-WebNLG train sentences; the command of benchmarks/results/fusion_real_third.md):
    python benchmarks/fusion_real.py corpus --out /tmp/kgkit-real3 --disjoint-from /tmp/kgkit-real \
        --disjoint-from /tmp/kgkit-real2 --seed 9 --n-man 150 --n-pkg 200 --wiki-splits train validation \
        --webnlg-train 30

Each corpus step writes ``DIR/manifest.tsv`` (every file with a SHA-256 prefix); the manifests of the
measured corpora are kept in ``benchmarks/results/fusion_real_corpora/``.

The corpus is text found on this machine, copied (never committed) into ``--out``: the WebNLG e2e
documents (encyclopedic prose about people, places, airports, food), the sample corpus, Debian
package copyright files and READMEs (``/usr/share/doc``: person and organisation names), man pages
rendered to text, and the READMEs of the Python packages in the venv (``*.dist-info/METADATA``).

``fuse`` applies fusion with the default pipeline parameters and writes every applied merge
(member pairs: canonical <- member) to ``merges.tsv``, plus a seeded sample of ``--sample`` of them
to ``sample.tsv`` for hand labelling. ``score`` reads a labelled sample (a column ``label`` with
``ok`` or ``wrong``) and prints merge precision.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("KGKIT_DATA", "/work/shared/datasets"))


DEB_FILES = ("copyright", "README", "README.md", "README.Debian", "AUTHORS", "NEWS.gz", "changelog.gz")


def _earlier(disjoint_from: list[Path]) -> tuple[set[str], set[str], str]:
    """(names of packages, man pages and READMEs used by earlier corpora, the SHA-256 of all their files,
    their sentence documents' text). Distinct Debian packages often ship the same copyright file or
    changelog, so names alone do not make two corpora disjoint."""
    used: set[str] = set()
    hashes: set[str] = set()
    prose: list[str] = []
    suffixes = tuple(f"-{n.replace('.gz', '')}.txt" for n in DEB_FILES)
    for d in disjoint_from:
        if not (d / "docs").is_dir():
            raise SystemExit(f"--disjoint-from {d}: no docs/ folder there; pass the --out of an earlier corpus")
        for f in (d / "docs").rglob("*"):
            if not f.is_file():
                continue
            hashes.add(hashlib.sha256(f.read_bytes()).hexdigest())
            used.add(next((f.name[: -len(x)] for x in suffixes if f.name.endswith(x)), f.stem))
            used.add(f.name.split("-copyright")[0].split("-README")[0])
            if f.parent.name in ("wikidata", "webnlg", "webnlg_train", "sample"):
                prose.append(f.read_text(encoding="utf-8", errors="replace"))
    return used, hashes, "\n".join(prose)


def _sentence_docs(folder: Path, files: list[Path], n_per_file: int, seen_text: str, *, group: str) -> None:
    """Documents of 10 sentences (Text2KGBench rows grouped by subject), skipping every sentence
    that occurs in ``seen_text`` (an earlier corpus; also when only one of its sentences does),
    ``n_per_file`` documents per ontology file."""
    for f in files:
        rows = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        if group == "sub_label":
            rows.sort(key=lambda r: (r.get("sub_label", ""), r["id"]))
        else:  # DBpedia-WebNLG rows have no sub_label: group by the first triple's subject
            rows.sort(key=lambda r: ((r.get("triples") or [{}])[0].get("sub", ""), r["id"]))
        sents = [s for s in dict.fromkeys(r["sent"] for r in rows)
                 if not any(len(part) > 20 and part in seen_text for part in re.split(r"(?<=[.!?])\s+", s.strip()) + [s])]
        for k in range(min(n_per_file, len(sents) // 10)):
            (folder / f"{f.stem}-{k:02d}.txt").write_text(" ".join(sents[10 * k : 10 * k + 10]) + "\n", encoding="utf-8")


def _page_name(page: Path) -> str:
    """``ls.1.gz`` -> ``ls``, ``File::Listing.3pm.gz`` -> ``File::Listing``."""
    return page.name[: -len(".gz")].rsplit(".", 1)[0]


def _man_pages(folder: Path, pages_glob: str, n: int, rng: random.Random, used: set[str],
               write: Callable[[Path, str], None]) -> None:
    """``n`` manual pages matching ``pages_glob`` rendered to text, none named in ``used``."""
    folder.mkdir()
    pages = sorted(p for p in Path("/").glob(pages_glob.lstrip("/")) if _page_name(p) not in used)
    for p in rng.sample(pages, min(n, len(pages))):
        name = _page_name(p)
        try:
            proc = subprocess.run(["man", "-P", "cat", str(p)], capture_output=True, text=True, timeout=20,
                                  env={**os.environ, "MANWIDTH": "100"}, check=False)
        except subprocess.TimeoutExpired:
            continue
        text = "".join(c for c in proc.stdout if c != "\b")
        if text.strip():
            write(folder / f"{name}.txt", text[:20000])


def build_corpus(out: Path, *, n_doc: int = 150, n_man: int = 40, n_pkg: int = 80, n_wiki: int = 20, seed: int = 7,
                 disjoint_from: list[Path] | None = None, wiki_splits: tuple[str, ...] | None = None,
                 n_webnlg_train: int = 0, n_man3: int = 0, n_licenses: int = 0) -> int:
    """Build ``out/docs``. With ``disjoint_from`` (earlier ``--out`` folders): a fresh corpus sharing no
    document with any of them (other packages, man pages and READMEs, Wikidata sentences none of them
    holds, no WebNLG e2e or sample documents), for a measurement independent of the ones before.
    ``n_webnlg_train`` adds documents of DBpedia-WebNLG *train* sentences (none an earlier corpus holds),
    ``n_man3`` section-3 manual pages and ``n_licenses`` licence/AUTHORS/NOTICE files of the venv's
    packages (each sampled apart, so the other picks do not change with them).
    Every file's name and SHA-256 go to ``out/manifest.tsv``."""
    rng = random.Random(seed)
    docs = out / "docs"
    if docs.exists():
        shutil.rmtree(docs)
    docs.mkdir(parents=True)
    used, seen_hashes, seen_text = _earlier(disjoint_from or [])

    def write(path: Path, text: str) -> None:
        """Write a document unless an earlier corpus holds the same text."""
        if hashlib.sha256(text.encode("utf-8")).hexdigest() not in seen_hashes:
            path.write_text(text, encoding="utf-8")

    if not disjoint_from:
        (docs / "webnlg").mkdir()
        for p in sorted((DATA / "e2e" / "webnlg-dev" / "docs").glob("*.txt")):
            shutil.copy(p, docs / "webnlg" / p.name)
        shutil.copytree(REPO / "data" / "sample", docs / "sample", ignore=shutil.ignore_patterns("GOLD.yaml"))
    # Debian copyright files and READMEs: real person and organisation names.
    deb = docs / "debian"
    deb.mkdir()
    pkgs = sorted(p for p in Path("/usr/share/doc").iterdir() if p.is_dir() and p.name not in used)
    for p in rng.sample(pkgs, min(n_doc, len(pkgs))):
        for name in DEB_FILES:
            f = p / name
            if not f.is_file():
                continue
            raw = gzip.open(f, "rb").read() if name.endswith(".gz") else f.read_bytes()
            text = raw.decode("utf-8", "replace")[:20000]
            write(deb / f"{p.name}-{name.replace('.gz', '')}.txt", text)
    _man_pages(docs / "man", "/usr/share/man/man1/*.1.gz", n_man, rng, used, write)
    py = docs / "python"
    py.mkdir()
    metas = sorted(p for p in Path(sys.prefix).glob("lib/python3*/site-packages/*.dist-info/METADATA")
                   if p.parent.name.split("-")[0] not in used)
    for p in rng.sample(metas, min(n_pkg, len(metas))):
        text = p.read_text(encoding="utf-8", errors="replace")
        body = text.split("\n\n", 1)[1] if "\n\n" in text else text
        if len(body.strip()) > 200:
            write(py / f"{p.parent.name.split('-')[0]}.md", body[:20000])
    # Encyclopedic sentences (Text2KGBench's Wikidata-TekGen), grouped by subject into documents of 10
    # sentences: people called by full name and by surname, many organisations.
    wiki = docs / "wikidata"
    wiki.mkdir()
    tekgen = DATA / "extraction" / "text2kgbench" / "data" / "wikidata_tekgen"
    for split in wiki_splits or (("train",) if disjoint_from else ("validation",)):
        _sentence_docs(wiki, sorted((tekgen / split).glob("*.jsonl")), n_wiki, seen_text, group="sub_label")
    if n_webnlg_train:
        web = docs / "webnlg_train"
        web.mkdir()
        files = sorted((DATA / "extraction" / "text2kgbench" / "data" / "dbpedia_webnlg" / "train").glob("*.jsonl"))
        _sentence_docs(web, files, n_webnlg_train, seen_text, group="subject")
    if n_man3:  # library and Perl module manuals (AUTHOR and COPYRIGHT sections); a sampler of their own
        _man_pages(docs / "man3", "/usr/share/man/man3/*.3*.gz", n_man3, random.Random(f"{seed}-man3"), used, write)
    if n_licenses:  # licence, AUTHORS and NOTICE files of the venv's packages: copyright holders, contributors
        lic = docs / "licenses"
        lic.mkdir()
        found = sorted(f for f in Path(sys.prefix).glob("lib/python3*/site-packages/*.dist-info/**/*")
                       if f.is_file() and f.name.upper().startswith(("LICENSE", "LICENCE", "AUTHORS", "NOTICE", "COPYING")))
        for f in random.Random(f"{seed}-licenses").sample(found, min(n_licenses, len(found))):
            dist = next(q for q in f.parents if q.name.endswith(".dist-info"))
            text = f.read_text(encoding="utf-8", errors="replace")[:20000]
            write(lic / f"{dist.name.split('-')[0]}-{'_'.join(f.relative_to(dist).parts)}.txt", text)
    files = sorted(f for f in docs.rglob("*") if f.is_file())
    manifest = ["path\tsha256_16"] + [f"{f.relative_to(docs)}\t{hashlib.sha256(f.read_bytes()).hexdigest()[:16]}" for f in files]
    (out / "manifest.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    return len(files)


class _Server:
    """Start the workdir's embedded server with a long timeout (replaying a big append-only file
    can take longer than kgkit's 30 s, issue 17 item 1); kgkit then attaches to it."""

    def __init__(self, out: Path) -> None:
        from kgkit.store.embedded import EmbeddedFalkorServer

        self.server = EmbeddedFalkorServer(out / "wd" / "falkordb", start_timeout=900)

    def __enter__(self) -> "_Server":
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(timeout=300)


def ingest(out: Path) -> dict:
    from kgkit.api import KnowledgeGraph

    t0 = time.perf_counter()
    with KnowledgeGraph(None, workdir=out / "wd") as kg:
        rep = kg.ingest(out / "docs", fuse=False)
        stats = kg.stats()
    return {"processed": rep.processed, "triples": rep.triples, "skipped": len(rep.skipped),
            "entities": stats.entities, "facts": stats.facts, "seconds": round(time.perf_counter() - t0, 1)}


def fuse(out: Path, sample: int, seed: int = 11) -> dict:
    from kgkit.api import KnowledgeGraph
    from kgkit.fuse import list_candidates, list_runs, undo

    with KnowledgeGraph(None, workdir=out / "wd") as kg:
        while list_runs(kg.store):  # start from the un-fused graph
            undo(kg.store)
        report = kg.fuse()
        candidates = list_candidates(kg.store)
    rows = []
    for d in report.decisions:
        names = dict(zip(d["member_ids"], d["member_names"]))
        pairs = {(p["a"], p["b"]): p for p in json.loads(d["pairs"])}
        for mid, mname in names.items():
            if mid == d["canonical"]:
                continue
            rule = next((p["rule"] for (a, b), p in pairs.items() if mid in (a, b)), "")
            rows.append({"type": d["type"], "canonical": d["canonical_name"], "member": mname, "rule": rule,
                         "score": d["min_score"], "label": "", "reason": ""})
    _write_tsv(out / "merges.tsv", rows)
    rng = random.Random(seed)
    picked = rng.sample(rows, min(sample, len(rows)))
    _write_tsv(out / "sample.tsv", sorted(picked, key=lambda r: (r["type"], r["canonical"], r["member"])))
    summary = {**report.summary(), "member_merges": len(rows), "sampled": len(picked), "open_candidates": len(candidates),
               "rules": dict(Counter(r["rule"] for r in rows)), "types": dict(Counter(r["type"] for r in rows))}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    return summary


def score(labels: Path, out: Path, report: Path | None = None, note: str | None = None,
          title: str = "Real-folder fusion check (issue 17 item 8)") -> dict:
    """Merge precision of a labelled sample; with ``report``, also write the results page."""
    with open(labels, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    ok = sum(r["label"] == "ok" for r in rows)
    wrong = [r for r in rows if r["label"] == "wrong"]
    n = ok + len(wrong)
    res = {"labelled": n, "ok": ok, "wrong": len(wrong), "unlabelled": len(rows) - n,
           "precision": round(ok / n, 4) if n else None}
    if report is not None:
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8")) if (out / "summary.json").exists() else {}
        docs = Counter(p.relative_to(out / "docs").parts[0] for p in (out / "docs").rglob("*") if p.is_file())
        lines = [
            f"# {title}", "",
            "Commands: `python benchmarks/fusion_real.py corpus|ingest|fuse --out DIR` then hand labelling of "
            f"`DIR/sample.tsv` into `{labels.resolve().relative_to(REPO)}`, then `python benchmarks/fusion_real.py score --out DIR "
            f"--report {report.resolve().relative_to(REPO) if report.resolve().is_relative_to(REPO) else report}`.",
            f"Machine: 2-core x86-64 VM, 24 GiB (shared). Date: {time.strftime('%Y-%m-%d')}. "
            "Pipeline: pipelines/default.yaml (spaCy extractor, fusion with embeddings, merge_threshold 0.85).", "",
            f"Corpus ({sum(docs.values())} files, built by the script from text on this machine): "
            + ", ".join(f"{k} {v}" for k, v in sorted(docs.items())) + ".",
            f"Fusion: {summary.get('entities_before')} entities -> {summary.get('entities_after')}, "
            f"{summary.get('clusters')} clusters, {summary.get('member_merges')} member merges "
            f"(rules {summary.get('rules')}, types {summary.get('types')}), {summary.get('open_candidates')} candidates "
            f"left for review, {summary.get('conflicts')} conflicts, {summary.get('seconds')} s.", "",
            (f"Sample: all {len(rows)} member merges (fewer than --sample)" if len(rows) == summary.get("member_merges")
             else f"Sample: {len(rows)} merges drawn at random (seed 11) from all member merges")
            + "; each labelled by hand, checking the evidence texts where unsure (`ok`: both names denote the same "
            "thing, including two truncations of one name; `wrong`: they do not; distinct legal entities of one "
            "brand count as wrong).", "",
            note or ("Caveat: while developing the name rules, the merges of an earlier, smaller corpus built the same "
                     "way (350 files: the same WebNLG and sample documents, fewer Debian/man/Python files, no Wikidata) "
                     "were looked at (not labelled); so this corpus is not fully independent of the rules."), "",
            f"**Merge precision: {res['ok']} / {res['labelled']} = {res['precision']}** (goal >= 0.95).", "",
            "Wrong merges:", "",
        ]
        lines += [f"- {r['type']}: {r['canonical']!r} <- {r['member']!r} ({r['rule']}): {r['reason']}" for r in wrong] or ["- none"]
        report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return res


def _write_tsv(path: Path, rows: list[dict]) -> None:
    fields = ["type", "canonical", "member", "rule", "score", "label", "reason"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, delimiter="\t")
        w.writeheader()
        w.writerows(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["corpus", "ingest", "fuse", "score", "all"])
    ap.add_argument("--out", type=Path, default=Path("/tmp/kgkit-real"))
    ap.add_argument("--sample", type=int, default=120)
    ap.add_argument("--labels", type=Path, default=REPO / "benchmarks" / "results" / "fusion_real_labels.tsv")
    ap.add_argument("--report", type=Path, default=None, help="write the results page here (score step)")
    ap.add_argument("--note", default=None, help="score step: the paragraph on how independent the corpus is")
    ap.add_argument("--title", default="Real-folder fusion check (issue 17 item 8)", help="score step: the page title")
    ap.add_argument("--disjoint-from", type=Path, action="append", default=[],
                    help="corpus step: share no document with this earlier --out (repeat for several)")
    ap.add_argument("--seed", type=int, default=None, help="corpus step: sampling seed (default 7, or 8 with --disjoint-from)")
    ap.add_argument("--n-doc", type=int, default=None, help="corpus step: Debian packages (default 150, 300 disjoint)")
    ap.add_argument("--n-man", type=int, default=40, help="corpus step: man pages")
    ap.add_argument("--n-pkg", type=int, default=80, help="corpus step: Python package READMEs")
    ap.add_argument("--n-wiki", type=int, default=None, help="corpus step: Wikidata documents per ontology file and split")
    ap.add_argument("--wiki-splits", nargs="+", default=None,
                    help="corpus step: Wikidata-TekGen splits (default validation, or train with --disjoint-from)")
    ap.add_argument("--n-man3", type=int, default=0, help="corpus step: section-3 manual pages (default 0)")
    ap.add_argument("--n-licenses", type=int, default=0,
                    help="corpus step: licence, AUTHORS and NOTICE files of the venv's packages (default 0)")
    ap.add_argument("--webnlg-train", type=int, default=0,
                    help="corpus step: DBpedia-WebNLG train documents per ontology file (default 0)")
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.step in ("corpus", "all"):
        d = bool(a.disjoint_from)
        n = build_corpus(a.out, seed=a.seed if a.seed is not None else (8 if d else 7),
                         n_doc=a.n_doc if a.n_doc is not None else (300 if d else 150), n_man=a.n_man, n_pkg=a.n_pkg,
                         n_wiki=a.n_wiki if a.n_wiki is not None else (30 if d else 20), disjoint_from=a.disjoint_from,
                         wiki_splits=tuple(a.wiki_splits) if a.wiki_splits else None, n_webnlg_train=a.webnlg_train, n_man3=a.n_man3,
                         n_licenses=a.n_licenses)
        print("corpus files:", n, flush=True)
    if a.step in ("ingest", "all"):
        with _Server(a.out):
            print("ingest:", json.dumps(ingest(a.out)), flush=True)
    if a.step in ("fuse", "all"):
        with _Server(a.out):
            print("fuse:", json.dumps(fuse(a.out, a.sample), default=str), flush=True)
    if a.step == "score":
        print("score:", json.dumps(score(a.labels, a.out, a.report, a.note, a.title)))


if __name__ == "__main__":
    main()
