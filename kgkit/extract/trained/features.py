"""Sparse features of a (head, tail) mention pair: the words and dependency path between them.

Relations in example sentences are signalled by a few words ("is located in", "runway length of",
"directed by") and by the syntactic path between the two mentions; what the mentions are (a known
entity of some type, a number, a date, a pronoun) narrows the choice. These are cheap to compute from
the spaCy parse the mention finder already needs, which keeps extraction close to spaCy's own speed.
"""

from __future__ import annotations

from typing import Any

from kgkit.extract.trained.mentions import Gazetteer, Mention

__all__ = ["pair_features"]

_MAX_BETWEEN = 10
_FUNCTION = {"the", "a", "an", "be", "and", "or", "of", "in", "to", "'s", "which", "who", "that", "it", "its", "by", "at", "as"}


def _lem(t: Any) -> str:
    if t.like_num:
        return "<num>"
    return t.lemma_.lower() if t.lemma_ else t.lower_


def _lemmas(doc: Any) -> list[str]:
    """Lemmas of every token, computed once per doc (cached in ``doc.user_data``)."""
    lem = doc.user_data.get("kgkit_lemmas")
    if lem is None:
        lem = doc.user_data["kgkit_lemmas"] = [_lem(t) for t in doc]
    return lem


def _tree(doc: Any) -> tuple[list[int], list[str]]:
    """Each token's head index and dependency label, read once per doc (cached in ``doc.user_data``):
    walking the tree through spaCy ``Token`` objects created one per step took a tenth of extraction."""
    tree = doc.user_data.get("kgkit_tree")
    if tree is None:
        tree = doc.user_data["kgkit_tree"] = ([t.head.i for t in doc], [t.dep_ for t in doc])
    return tree


def _ancestors(doc: Any, i: int) -> list[int]:
    """Token ``i`` and its heads up to the root of its sentence, as indices."""
    cache = doc.user_data.setdefault("kgkit_up_i", {})
    up = cache.get(i)
    if up is None:
        heads = _tree(doc)[0]
        up = [i]
        while heads[up[-1]] != up[-1] and len(up) <= len(heads):
            up.append(heads[up[-1]])
        cache[i] = up
    return up


def _path(doc: Any, a: int, b: int) -> tuple[list[str], list[str]] | None:
    up_a = _ancestors(doc, a)
    up_b = _ancestors(doc, b)
    ids_b = {t: k for k, t in enumerate(up_b)}
    k_a = next((k for k, t in enumerate(up_a) if t in ids_b), None)
    if k_a is None:
        return None
    k_b = ids_b[up_a[k_a]]
    lem = _lemmas(doc)
    dep = _tree(doc)[1]
    words = [lem[t] for t in up_a[1:k_a + 1]] + [lem[t] for t in reversed(up_b[1:k_b])]
    deps = [dep[t] + "^" for t in up_a[:k_a]] + [dep[t] + "v" for t in reversed(up_b[:k_b])]
    return words, deps


def _kind(m: Mention, gaz: Gazetteer, prefix: str) -> list[str]:
    cache = m.__dict__.setdefault("_feats", {})
    if prefix not in cache:
        cache[prefix] = _kind_uncached(m, gaz, prefix)
    return cache[prefix]


def _kind_uncached(m: Mention, gaz: Gazetteer, prefix: str) -> list[str]:
    k = m.kind.split(":")[0] if m.kind.startswith("ent:") else m.kind
    feats = [f"{prefix}k={m.kind}", f"{prefix}kk={k}"]
    r = m.resolved
    if r.known:
        t = gaz.type_of(r.canonical)
        feats.append(f"{prefix}known")
        if t:
            feats.append(f"{prefix}t={t}")
    if r.nesting:
        feats.append(f"{prefix}nest={r.nesting}")
        feats.append(f"{prefix}nest={r.nesting}|{k}")
    if r.shortened:  # a long person name standing also as its short form: its middle names' endings
        feats.append(f"{prefix}short={m.kind == 'short'}")
        feats.extend(f"{prefix}mid={w[-3:].lower()}" for w in r.surface.split()[1:-1] if not w.startswith('"'))
    last = r.surface.split()[-1].lower() if r.surface.split() else ""
    feats.append(f"{prefix}w={last}")
    if m.kind == "pron":
        feats.append(f"{prefix}pron={m.surface.lower()}")
    return feats


def _root(doc: Any, m: Mention) -> int:
    r = m.__dict__.get("_root")
    if r is None:
        r = m.__dict__["_root"] = doc[m.start:m.end].root.i
    return int(r)


def _sent_first(doc: Any, m: Mention) -> bool:
    r = m.__dict__.get("_sent_first")
    if r is None:
        r = m.__dict__["_sent_first"] = bool(doc[m.start].is_sent_start or m.start == 0)
    return bool(r)


def pair_features(doc: Any, h: Mention, t: Mention, gaz: Gazetteer) -> list[str]:
    """Feature strings of the ordered pair ``(h, t)`` (head = candidate subject)."""
    fwd = h.start < t.start
    d = "F" if fwd else "B"
    a, b = (h, t) if fwd else (t, h)
    hf, tf = _kind(h, gaz, "h"), _kind(t, gaz, "t")
    feats = [f"dir={d}", *hf, *tf, f"{d}|{hf[0]}|{tf[0]}"]  # [0]: the fine-grained kinds
    lemmas = _lemmas(doc)
    n = max(0, b.start - a.end)
    feats.append(f"dist={n if n < 6 else 6 + n // 4}")
    lem = [w for w in lemmas[a.end:b.start] if w.strip()]
    if n <= _MAX_BETWEEN:
        feats.extend(f"{d}|bw={w}" for w in lem)
        feats.append(f"{d}|bseq={' '.join(lem)}")
    else:
        feats.extend(f"{d}|bwfar={w}" for w in lem[:3] + lem[-3:])
    if lem:
        feats.append(f"{d}|b1={lem[0]}")
        feats.append(f"{d}|bL={lem[-1]}")
        if len(lem) > 1:
            feats.append(f"{d}|bL2={lem[-2]} {lem[-1]}")
            feats.append(f"{d}|b12={lem[0]} {lem[1]}")
    for k in (1, 2):
        if a.start - k >= 0:
            feats.append(f"pre{k}={lemmas[a.start - k]}")
        if b.end + k - 1 < len(doc):
            feats.append(f"post{k}={lemmas[b.end + k - 1]}")
    # a wider window: "The wheelbase of X is Y" names the relation before both mentions
    feats.extend(f"{d}|win<{w}" for w in lemmas[max(0, a.start - 5):a.start] if w.isalpha() and w not in _FUNCTION)
    feats.extend(f"{d}|win>{w}" for w in lemmas[b.end:b.end + 4] if w.isalpha() and w not in _FUNCTION)
    p = _path(doc, _root(doc, h), _root(doc, t))
    if p is not None:
        words, deps = p
        if len(words) <= 6:
            feats.append(f"path={' '.join(words)}")
            feats.append(f"pathd={' '.join(deps)}")
            feats.append(f"pathwd={' '.join(words)}|{' '.join(deps)}")
        feats.extend(f"pw={w}" for w in words)
    else:
        feats.append("nopath")
    if h.kind == "pron" and h.antecedent is not None and h.antecedent.start < h.start:
        feats.append("hpron_res")
    if _sent_first(doc, h):
        feats.append("h_sent_first")
    return feats
