#!/usr/bin/env python3
# Turns the `bible` program's dump of the King James Version into the demo's texts: a BPE corpus,
# pretraining rows (one chapter per row), the demo's chat dataset, and a held-out "which book" quiz
# on verses that no row of the chat dataset contains.
"""Usage: make_demo_data.py --dump kjv.txt --out WORKDIR --demo resources/demo [--rows 1600]
                            [--quiz-share 0.75] [--heldout-per-book 20]"""
import argparse
import json
import os
import random
import re
import sys

HEADING = re.compile(r"^(\S.*?) (\d+)$")
VERSE = re.compile(r"^\s+(\d+) (.*)$")

# Books used by the "which book" task: distinct in style, so a small model can tell them apart.
QUIZ_BOOKS = ["Genesis", "Exodus", "Psalms", "Proverbs", "Isaiah", "Matthew", "John", "Revelation"]


def parse(path):
    """Returns [(book, chapter, verse, text)] from `bible -l 100000 Gen1:1-Rev22:21` output."""
    verses = []
    book = chapter = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            m = VERSE.match(line)
            if m and book is not None:
                verses.append((book, chapter, int(m.group(1)), m.group(2).strip()))
                continue
            m = HEADING.match(line)
            if m:
                book, chapter = m.group(1), int(m.group(2))
                continue
            if verses and line.startswith(" ") is False:
                # A wrapped continuation line (when the dump was not made with a wide -l).
                b, c, v, t = verses[-1]
                verses[-1] = (b, c, v, t + " " + line.strip())
                continue
            sys.exit("%s:%d: expected a 'Book N' heading or an indented numbered verse, got %r" % (path, n, line[:80]))
    if len(verses) < 30000:
        sys.exit("%s: only %d verses parsed; expected the whole Bible (31102). Re-run the dump." % (path, len(verses)))
    return verses


def splitVerse(text):
    """Splits a verse near its middle, preferring a clause boundary; None when too short."""
    words = text.split(" ")
    if len(words) < 8:
        return None
    mid = len(words) // 2
    best = None
    for k in range(max(3, mid - 4), min(len(words) - 3, mid + 5)):
        if words[k - 1][-1] in ",;:":
            if best is None or abs(k - mid) < abs(best - mid):
                best = k
    k = best if best is not None else mid
    return " ".join(words[:k]), " ".join(words[k:])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--out", required=True, help="work folder for corpus.txt and pretrain.jsonl")
    ap.add_argument("--demo", required=True, help="folder that receives dataset.jsonl")
    ap.add_argument("--rows", type=int, default=1600)
    ap.add_argument("--quiz-share", type=float, default=1.0, help="share of rows that ask which book")
    ap.add_argument("--heldout-per-book", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    verses = parse(args.dump)
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.demo, exist_ok=True)

    # Pretraining: one row per chapter, a heading line then one verse per line.
    chapters = []
    for b, c, v, t in verses:
        if not chapters or chapters[-1][0] != (b, c):
            chapters.append(((b, c), []))
        chapters[-1][1].append(t)
    with open(os.path.join(args.out, "corpus.txt"), "w", encoding="utf-8") as corpus, \
         open(os.path.join(args.out, "pretrain.jsonl"), "w", encoding="utf-8") as rows:
        for (b, c), vs in chapters:
            text = "%s %d\n%s\n" % (b, c, "\n".join(vs))
            corpus.write(text + "\n")
            rows.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")

    # The held-out quiz: a fixed number of verses per book, drawn first and never used by a
    # training row (neither as a question nor as a verse to continue). Pretraining saw the whole
    # Bible as plain text; the held-out set measures whether the tuned model learned the task on
    # verses the tuning never showed it, not whether the base ever read them.
    rng = random.Random(args.seed)
    byBook = {}
    for b, c, v, t in verses:
        if b in QUIZ_BOOKS and 40 <= len(t) <= 200:
            byBook.setdefault(b, []).append((c, v, t))
    heldout, pool = [], {}
    for book in QUIZ_BOOKS:
        vs = byBook[book][:]
        rng.shuffle(vs)
        heldout += [(book, x) for x in vs[:args.heldout_per_book]]
        pool[book] = vs[args.heldout_per_book:]

    def whichBook(book, t):
        return {"messages": [{"role": "user", "content": "Which book of the Bible is this verse from?\n" + t},
                             {"role": "assistant", "content": "The book of %s." % book}]}

    # The tuning rows: the eight books in turn; a share of them "which book", the rest "continue".
    out = []
    nQuiz = int(round(args.rows * args.quiz_share))
    for i in range(args.rows):
        book = QUIZ_BOOKS[i % len(QUIZ_BOOKS)]
        c, v, t = rng.choice(pool[book])
        if i < nQuiz:
            out.append(whichBook(book, t))
            continue
        parts = splitVerse(t)
        if parts is None:
            parts = (t.split(" ", 1)[0], t.split(" ", 1)[1])
        out.append({"messages": [{"role": "user", "content": "Continue this verse from the King James Bible:\n" + parts[0]},
                                 {"role": "assistant", "content": parts[1]}]})
    rng.shuffle(out)
    with open(os.path.join(args.demo, "dataset.jsonl"), "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    random.Random(args.seed + 1).shuffle(heldout)  # the same order whatever the rows drew
    with open(os.path.join(args.demo, "heldout.jsonl"), "w", encoding="utf-8") as f:
        for book, (c, v, t) in heldout:
            f.write(json.dumps(whichBook(book, t), ensure_ascii=False) + "\n")
    print("make_demo_data.py: %d verses, %d chapters, %d demo rows (%d which-book), %d held-out questions"
          % (len(verses), len(chapters), len(out), nQuiz, len(heldout)))


if __name__ == "__main__":
    main()
