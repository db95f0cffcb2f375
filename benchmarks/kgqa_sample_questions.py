"""Write the sample-corpus question sets (data/sample/questions*.tsv) from data/sample/GOLD.yaml.

One question per (subject, relation) of GOLD.yaml's facts (and, for a few relations, per (object,
relation) read backwards: "Who founded Apple?"), in MetaQA format ``question<TAB>answer|answer``. The
answers are every gold object of that pair (canonical names; the benchmark also accepts their aliases).

Each relation has several wordings. Most go to ``questions.tsv`` (the tuning part, looked at while
improving the reasoner); the wordings marked ``held`` go to ``questions_heldout.tsv``, which was never
read while tuning. About half of the questions mark the topic entity in brackets, the others are free
text. The choice of wording and of brackets is a hash of the question's topic, so the files are
reproducible::

    python benchmarks/kgqa_sample_questions.py
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import yaml

from kgkit.types import stable_hash

REPO = Path(__file__).resolve().parents[1]

# relation -> (wordings of the tuning part, held-out wordings); {x} is the topic entity.
FORWARD: dict[str, tuple[list[str], list[str]]] = {
    "bornIn": (["Where was {x} born?", "In which city was {x} born?", "What is the birthplace of {x}?",
                "Which place was {x} born in?"],
               ["Where is the place of birth of {x}?", "{x} was born where?"]),
    "birthDate": (["When was {x} born?", "What is the date of birth of {x}?", "In what year was {x} born?",
                   "On which date was {x} born?"],
                  ["What was {x}'s birth date?", "When is {x}'s birthday?"]),
    "diedIn": (["Where did {x} die?", "In which city did {x} die?", "What was the place of death of {x}?",
                "Where did {x} pass away?"],
               ["In what place did {x} die?", "Where was {x} when they died?"]),
    "deathDate": (["When did {x} die?", "What is the date of death of {x}?", "In what year did {x} die?",
                   "When did {x} pass away?"],
                  ["On what date did {x} die?", "What year did {x} die in?"]),
    "spouse": (["Who was {x} married to?", "Who is the spouse of {x}?", "Whom did {x} marry?",
                "Who was the husband or wife of {x}?"],
               ["Who did {x} marry?", "Name the spouse of {x}."]),
    "worksFor": (["Where did {x} work?", "Which organisation did {x} work for?", "Who employed {x}?",
                  "What was the employer of {x}?"],
                 ["For which institution did {x} work?", "Where was {x} employed?"]),
    "educatedAt": (["Where did {x} study?", "Which university did {x} attend?", "Where was {x} educated?",
                    "What is the alma mater of {x}?"],
                   ["Which school did {x} go to?", "Where did {x} graduate from?"]),
    "memberOf": (["What was {x} a member of?", "Which society did {x} belong to?", "Which academy was {x} a member of?"],
                 ["Of which organisation was {x} a member?"]),
    "founded": (["What did {x} found?", "Which organisation did {x} establish?", "What company did {x} co-found?",
                 "Which institution was founded by {x}?"],
                ["What organization did {x} start?", "Name something {x} founded."]),
    "foundingDate": (["When was {x} founded?", "In what year was {x} established?", "What is the founding date of {x}?",
                      "When was {x} created?"],
                     ["What year was {x} founded in?", "How long ago was {x} established, in which year?"]),
    "headquarteredIn": (["Where is {x} headquartered?", "Where is {x} based?", "In which city are the headquarters of {x}?",
                         "Where are the headquarters of {x}?"],
                        ["Which city is {x} based in?", "Where does {x} have its head office?"]),
    "locatedIn": (["Where is {x} located?", "In which region is {x}?", "Where is {x}?", "What is {x} located in?"],
                  ["In what place does {x} lie?", "Which place contains {x}?"]),
    "capitalOf": (["What is {x} the capital of?", "Which country has {x} as its capital?", "{x} is the capital of what?"],
                  ["Of which country or region is {x} the capital?"]),
    "citizenOf": (["Which country was {x} a citizen of?", "What was the nationality of {x}?",
                   "Of which country did {x} hold citizenship?"],
                  ["What citizenship did {x} have?"]),
    "award": (["Which award did {x} receive?", "What prize did {x} win?", "What awards did {x} win?",
               "Which honours was {x} awarded?"],
              ["What was {x} awarded?", "Name a prize won by {x}."]),
    "author": (["Who wrote {x}?", "Who is the author of {x}?", "Who was {x} written by?", "Which writer wrote {x}?"],
               ["Who authored {x}?", "By whom was {x} written?"]),
    "publicationDate": (["When was {x} published?", "In what year was {x} published?", "What is the publication date of {x}?",
                         "When did {x} first appear?"],
                        ["What year did {x} come out?", "When was {x} first published?"]),
}

# relation read backwards: the object is the topic and the subjects are the answers.
BACKWARD: dict[str, tuple[list[str], list[str]]] = {
    "founded": (["Who founded {x}?", "Who established {x}?", "Which person co-founded {x}?"],
                ["Who were the founders of {x}?"]),
    "author": (["What did {x} write?", "Which book did {x} write?", "Which work was written by {x}?"],
               ["Name a work by {x}."]),
    "bornIn": (["Who was born in {x}?", "Which person was born in {x}?"], ["Name someone born in {x}."]),
    "headquarteredIn": (["Which organisation is headquartered in {x}?", "What company is based in {x}?"],
                        ["Which institution has its headquarters in {x}?"]),
}


def _pick(key: str, tune: list[str], held: list[str]) -> tuple[str, bool]:
    wordings = [(w, False) for w in tune] + [(w, True) for w in held]
    return wordings[int(stable_hash(key, length=8), 16) % len(wordings)]


def _question(template: str, topic: str, key: str) -> str:
    bracketed = int(stable_hash("brackets", key, length=8), 16) % 2 == 0
    text = template.format(x=f"[{topic}]" if bracketed else topic)
    return text[0].upper() + text[1:]


def build(gold_path: Path) -> tuple[list[str], list[str]]:
    gold = yaml.safe_load(gold_path.read_text(encoding="utf-8"))
    forward: dict[tuple[str, str], list[str]] = defaultdict(list)
    backward: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s, r, o, _doc in gold["facts"]:
        if o not in forward[(s, r)]:
            forward[(s, r)].append(o)
        if s not in backward[(o, r)]:
            backward[(o, r)].append(s)
    tune: list[str] = []
    held: list[str] = []
    for table, groups in ((FORWARD, forward), (BACKWARD, backward)):
        for (topic, rel), answers in sorted(groups.items()):
            if rel not in table or "(" in topic:  # "Paris, Texas (film)": the parenthesis is a label only
                continue
            key = f"{topic}|{rel}|{table is BACKWARD}"
            template, is_held = _pick(key, *table[rel])
            line = f"{_question(template, topic, key)}\t{'|'.join(answers)}"
            (held if is_held else tune).append(line)
    return tune, held


def main() -> None:
    tune, held = build(REPO / "data" / "sample" / "GOLD.yaml")
    out = REPO / "data" / "sample"
    (out / "questions.tsv").write_text("\n".join(tune) + "\n", encoding="utf-8")
    (out / "questions_heldout.tsv").write_text("\n".join(held) + "\n", encoding="utf-8")
    print(f"wrote {len(tune)} tuning and {len(held)} held-out questions to {out}")


if __name__ == "__main__":
    main()
