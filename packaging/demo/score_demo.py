#!/usr/bin/env python3
# Scores the demo's "which book" task: for each held-out chat row, `peft-studio-cli generate
# --greedy --template auto` answers the user turn, and the answer counts when it names the same
# book as the reference ("The book of Psalms."). Prints accuracy, chance, and the answers' spread.
"""Usage: score_demo.py --cli build/app/peft-studio-cli --model DIR [--adapter ADIR]
                     [--heldout resources/demo/heldout.jsonl] [--limit N] [--json]"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

BOOK = re.compile(r"The book of ([A-Za-z ]+?)\.")
END = "<|im_end|>"


def answerOf(output, prompt):
    """The continuation after the templated prompt, cut at the end-of-turn marker."""
    i = output.rfind("<|im_start|>assistant\n")
    text = output[i + len("<|im_start|>assistant\n"):] if i >= 0 else output[len(prompt):]
    return text.split(END, 1)[0].strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapter")
    ap.add_argument("--heldout", default=os.path.join(os.path.dirname(__file__), "../../resources/demo/heldout.jsonl"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    with open(args.heldout, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            r = json.loads(line)
            m = r.get("messages", [])
            if len(m) != 2 or m[0].get("role") != "user" or m[1].get("role") != "assistant":
                sys.exit("%s:%d: expected a user turn and an assistant answer" % (args.heldout, n))
            want = BOOK.search(m[1]["content"])
            if not want:
                sys.exit("%s:%d: the answer does not name a book ('The book of X.')" % (args.heldout, n))
            rows.append((m[0]["content"], want.group(1)))
    books = sorted({b for _, b in rows})
    if args.limit:
        rows = rows[:args.limit]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    correct = inForm = 0
    said = collections.Counter()
    for question, book in rows:
        cmd = [args.cli, "generate", "--model", args.model, "--greedy", "--template", "auto",
               "--max-new-tokens", "12", "--prompt", question]
        if args.adapter:
            cmd += ["--adapter", args.adapter]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0:
            sys.exit("generate failed (%d): %s" % (p.returncode, p.stderr.strip()[-400:]))
        got = BOOK.search(answerOf(p.stdout, question))
        name = got.group(1) if got else None
        inForm += name is not None
        correct += name == book
        said[name or "(no book)"] += 1
    result = {"questions": len(rows), "correct": correct, "accuracy": correct / len(rows),
              "in_form": inForm / len(rows), "chance": 1.0 / len(books), "answers": dict(said.most_common())}
    if args.json:
        print(json.dumps(result))
    else:
        print("held-out accuracy %.1f%% (%d/%d), chance %.1f%%, answered in form %.1f%%"
              % (100 * result["accuracy"], correct, len(rows), 100 * result["chance"], 100 * result["in_form"]))
        print("answers:", ", ".join("%s %d" % kv for kv in said.most_common()))


if __name__ == "__main__":
    main()
