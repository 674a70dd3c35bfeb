#!/usr/bin/env python3
# Byte-level BPE trainer (GPT-2 style, python3 stdlib only): learns merges on a text file and
# writes a Hugging Face tokenizer.json + tokenizer_config.json with ChatML special tokens.
"""Usage: bpe_train.py --text corpus.txt --vocab-size 2048 --out DIR [--chat-template FILE]"""
import argparse
import collections
import json
import os
import re
import sys

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

# The ChatML template, byte for byte as the Hugging Face tokenizer_config.json of ChatML models
# writes it, so that the project's template recogniser identifies it.
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
          " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
          "{% endif %}")

# An ASCII approximation of the GPT-2 pre-tokenisation regex (python's re has no \p{L}); the
# tokenizer itself applies the real one, so this only shapes which merges are learned.
PRETOKEN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+", re.UNICODE)


def byteAlphabet():
    """Maps each byte to a printable unicode character (the GPT-2 byte-level alphabet).

    Bytes that are printable Latin-1 characters map to themselves; the others (controls, space,
    soft hyphen, ...) map to code points from 256 upwards, in byte order."""
    keep = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAC + 1)) | set(range(0xAE, 0xFF + 1))
    table = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def train(words, vocabSize, alphabet):
    """words: {word string: count}. Returns the merge list [(a, b), ...] and the vocab order."""
    base = [alphabet[b] for b in range(256)]
    seqs = []   # each unique word as a list of symbols
    counts = []
    for w, c in words.items():
        seqs.append([alphabet[b] for b in w.encode("utf-8")])
        counts.append(c)
    pairCount = collections.Counter()
    where = collections.defaultdict(set)  # pair -> indices of words containing it
    for i, s in enumerate(seqs):
        for a, b in zip(s, s[1:]):
            pairCount[(a, b)] += counts[i]
            where[(a, b)].add(i)
    merges = []
    target = vocabSize - len(SPECIALS) - len(base)
    while len(merges) < target and pairCount:
        # Highest count; ties broken by the lexicographically smallest pair, for determinism.
        best = max(pairCount.items(), key=lambda kv: (kv[1], [-ord(ch) for ch in kv[0][0] + "\0" + kv[0][1]]))
        pair, n = best
        if n < 2:
            break
        merges.append(pair)
        a, b = pair
        joined = a + b
        for i in list(where[pair]):
            s = seqs[i]
            c = counts[i]
            # Remove this word's old pairs, merge, add the new pairs.
            for p in zip(s, s[1:]):
                pairCount[p] -= c
                if pairCount[p] <= 0:
                    del pairCount[p]
                where[p].discard(i)
            out = []
            k = 0
            while k < len(s):
                if k + 1 < len(s) and s[k] == a and s[k + 1] == b:
                    out.append(joined)
                    k += 2
                else:
                    out.append(s[k])
                    k += 1
            seqs[i] = out
            for p in zip(out, out[1:]):
                pairCount[p] += c
                where[p].add(i)
        pairCount.pop(pair, None)
        where.pop(pair, None)
    return base, merges


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--text", required=True)
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.vocab_size < 256 + len(SPECIALS) + 1:
        sys.exit("bpe_train.py: --vocab-size must be at least %d" % (256 + len(SPECIALS) + 1))
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    words = collections.Counter(PRETOKEN.findall(text))
    alphabet = byteAlphabet()
    base, merges = train(words, args.vocab_size, alphabet)

    vocab = {}
    for t in SPECIALS:
        vocab[t] = len(vocab)
    for t in base:
        vocab[t] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)

    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t in SPECIALS]
    byteLevel = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": byteLevel,
        "post_processor": dict(byteLevel, trim_offsets=False),
        "decoder": byteLevel,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
        f.write("\n")
    decoder = {str(vocab[t]): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                               "single_word": False, "special": True} for t in SPECIALS}
    cfg = {
        "added_tokens_decoder": decoder,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "chat_template": CHATML,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 512,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    with open(os.path.join(args.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print("bpe_train.py: %d words, %d merges, vocab %d -> %s" % (len(words), len(merges), len(vocab), args.out))


if __name__ == "__main__":
    main()
