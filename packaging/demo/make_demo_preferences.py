#!/usr/bin/env python3
# Makes the demo's preference dataset from its chat dataset: for each row, the prompt is the user
# turn, "chosen" is the dataset's own answer (in the task's form: "The book of Proverbs.", or the
# verse's continuation), and "rejected" is a rambling answer around the same words, built from a
# fixed set of filler phrases. --rows pairs are drawn (seeded) from the whole dataset, so every book
# of the quiz is in it. Deterministic. Standard library only.
#
#   packaging/demo/make_demo_preferences.py [--dataset resources/demo/dataset.jsonl]
#                                           [--out resources/demo/preferences.jsonl] [--rows 400]
import argparse
import json
import random

OPENERS = [
    "Well, that is a question many have asked, and I am not entirely sure,",
    "Let me think about this for a while, because it is not so simple,",
    "Hmm, there are several ways one might look at it, and perhaps",
    "I would rather not be hasty here; it could be many things, but maybe",
    "That is an interesting verse, and people have long wondered about it, so",
]
CLOSERS = [
    "though I could be wrong about all of this.",
    "or something like that, if I remember rightly.",
    "but you may wish to look it up yourself.",
    "and there is much more one could say about it.",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="resources/demo/dataset.jsonl")
    ap.add_argument("--out", default="resources/demo/preferences.jsonl")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rows", type=int, default=400, help="pairs to write (0: one per dataset row)")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rows = []
    lines = [line for line in open(args.dataset, encoding="utf-8") if line.strip()]
    if 0 < args.rows < len(lines):
        keep = sorted(rng.sample(range(len(lines)), args.rows))
        lines = [lines[i] for i in keep]
    for line in lines:
        msgs = json.loads(line)["messages"]
        prompt = [m for m in msgs if m["role"] != "assistant"]
        answers = [m["content"] for m in msgs if m["role"] == "assistant"]
        if not prompt or not answers:
            continue
        answer = answers[-1]
        # The answer's words, lower-cased and without its final stop, inside a ramble.
        core = answer.rstrip(".").strip()
        core = core[:1].lower() + core[1:]
        rambling = "%s %s, %s" % (rng.choice(OPENERS), core, rng.choice(CLOSERS))
        rows.append({"prompt": prompt, "chosen": [{"role": "assistant", "content": answer}],
                     "rejected": [{"role": "assistant", "content": rambling}]})
    tmp = args.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    import os
    os.replace(tmp, args.out)
    print("%s: %d preference pairs" % (args.out, len(rows)))


if __name__ == "__main__":
    main()
