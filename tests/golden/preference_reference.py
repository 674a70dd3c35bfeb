#!/usr/bin/python3
# An independent reference for the preference objectives (DPO, ORPO, SimPO): a Llama forward with
# LoRA on q/v written from the published architecture in plain PyTorch (float64), the losses
# written from their papers' formulas, and torch.optim.AdamW with clip_grad_norm_. It trains a
# few steps on pre-tokenised pairs and prints each step's loss, pre-clip gradient norm and
# metrics as JSON. tests/golden/test_preference_reference.cpp runs it (Debian's python3-torch)
# and compares the C++ trainer with it.
#
# usage: preference_reference.py --model DIR --adapter DIR --pairs FILE.jsonl --objective JSON
#        --steps N --batch-size B --lr LR --weight-decay WD --out FILE.json
import argparse
import json
import math
import struct

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F64": torch.float64, "BF16": torch.bfloat16, "F16": torch.float16, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[info["dtype"]]) if b > a else torch.empty(0)
        out[name] = t.reshape(info["shape"]).to(torch.float64)
    return out


class LlamaLora:
    """Llama decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU) with LoRA on q_proj/v_proj."""

    def __init__(self, model_dir, adapter_dir):
        self.cfg = json.load(open(model_dir + "/config.json"))
        self.w = read_safetensors(model_dir + "/model.safetensors")
        acfg = json.load(open(adapter_dir + "/adapter_config.json"))
        self.scale = acfg["lora_alpha"] / acfg["r"]
        self.lora = {}
        for k, v in read_safetensors(adapter_dir + "/adapter_model.safetensors").items():
            # base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight -> model.layers.0.self_attn.q_proj, A
            mod, which = k[len("base_model.model."):].rsplit(".", 2)[0:2]
            self.lora[(mod, which)] = v.clone().requires_grad_(True)
        c = self.cfg
        self.H, self.kvH = c["num_attention_heads"], c["num_key_value_heads"]
        self.D = c.get("head_dim") or c["hidden_size"] // self.H
        rope = c.get("rope_parameters") or {}
        self.theta = rope.get("rope_theta", c.get("rope_theta", 10000.0))
        self.eps = c["rms_norm_eps"]

    def params(self):
        return [self.lora[k] for k in sorted(self.lora)]

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def proj(self, x, name, use_lora):
        y = x @ self.w[name + ".weight"].t()
        if use_lora and (name, "lora_A") in self.lora:
            y = y + (x @ self.lora[(name, "lora_A")].t() @ self.lora[(name, "lora_B")].t()) * self.scale
        return y

    def logits(self, ids, mask, use_lora=True):
        B, T = ids.shape
        h = self.w["model.embed_tokens.weight"][ids]
        inv = 1.0 / (self.theta ** (torch.arange(0, self.D, 2, dtype=torch.float64) / self.D))
        freqs = torch.arange(T, dtype=torch.float64)[:, None] * inv[None, :]
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos(), emb.sin()

        def rot(x):
            x1, x2 = x[..., : self.D // 2], x[..., self.D // 2:]
            return x * cos + torch.cat([-x2, x1], -1) * sin

        causal = torch.ones(T, T, dtype=torch.bool).tril()
        allowed = causal[None, None] & mask.bool()[:, None, None, :]
        for i in range(self.cfg["num_hidden_layers"]):
            p = "model.layers.%d." % i
            x = self.rms(h, self.w[p + "input_layernorm.weight"])
            q = self.proj(x, p + "self_attn.q_proj", use_lora).view(B, T, self.H, self.D).transpose(1, 2)
            k = self.proj(x, p + "self_attn.k_proj", use_lora).view(B, T, self.kvH, self.D).transpose(1, 2)
            v = self.proj(x, p + "self_attn.v_proj", use_lora).view(B, T, self.kvH, self.D).transpose(1, 2)
            q, k = rot(q), rot(k)
            k = k.repeat_interleave(self.H // self.kvH, 1)
            v = v.repeat_interleave(self.H // self.kvH, 1)
            att = (q @ k.transpose(-1, -2)) / math.sqrt(self.D)
            att = att.masked_fill(~allowed, float("-inf")).softmax(-1)
            o = (att @ v).transpose(1, 2).reshape(B, T, self.H * self.D)
            h = h + self.proj(o, p + "self_attn.o_proj", use_lora)
            x = self.rms(h, self.w[p + "post_attention_layernorm.weight"])
            g = self.proj(x, p + "mlp.gate_proj", use_lora)
            u = self.proj(x, p + "mlp.up_proj", use_lora)
            h = h + self.proj(F.silu(g) * u, p + "mlp.down_proj", use_lora)
        h = self.rms(h, self.w["model.norm.weight"])
        return h @ self.w["lm_head.weight"].t()


def answer_logps(model, seqs, use_lora=True):
    """seqs: list of (ids, n_prompt). Returns (sum of log p over answer tokens, answer token count)."""
    T = max(len(s) for s, _ in seqs)
    ids = torch.zeros(len(seqs), T, dtype=torch.long)
    mask = torch.zeros(len(seqs), T, dtype=torch.long)
    labels = torch.full((len(seqs), T), -100, dtype=torch.long)
    for r, (s, n_prompt) in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor(s)
        mask[r, : len(s)] = 1
        labels[r, n_prompt: len(s)] = torch.tensor(s[n_prompt:])
    logp = model.logits(ids, mask, use_lora).log_softmax(-1)[:, :-1]
    y = labels[:, 1:]
    keep = y != -100
    tok = logp.gather(-1, y.clamp_min(0).unsqueeze(-1)).squeeze(-1) * keep
    return tok.sum(-1), keep.sum(-1).to(torch.float64)


def step_loss(model, obj, pairs):
    chosen = [(p["prompt_ids"] + p["chosen_ids"], len(p["prompt_ids"])) for p in pairs]
    rejected = [(p["prompt_ids"] + p["rejected_ids"], len(p["prompt_ids"])) for p in pairs]
    lp, n = answer_logps(model, chosen + rejected)
    P = len(pairs)
    pc, pr, nc, nr = lp[:P], lp[P:], n[:P], n[P:]
    t = obj["type"]
    m = {}
    if t == "dpo":
        with torch.no_grad():
            rlp, _ = answer_logps(model, chosen + rejected, use_lora=False)
        rc, rr = rlp[:P], rlp[P:]
        beta, eps = obj["beta"], obj["label_smoothing"]
        z = beta * ((pc - rc) - (pr - rr))
        losses = -(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z)
        reward_c, reward_r = beta * (pc - rc), beta * (pr - rr)
        m["logps_chosen"], m["logps_rejected"] = pc.mean(), pr.mean()
    else:
        a, b = pc / nc, pr / nr
        nll = -pc.sum() / nc.sum()
        if t == "orpo":
            lam = obj["lambda"]
            log_odds = (a - b) - (torch.log(1 - torch.exp(a)) - torch.log(1 - torch.exp(b)))
            losses = nll - lam * F.logsigmoid(log_odds)
            reward_c, reward_r = lam * a, lam * b
            m["nll_loss"] = nll
            m["log_odds_ratio"] = F.logsigmoid(log_odds).mean()
            m["log_odds_chosen"] = log_odds.mean()
        else:  # simpo
            beta, gamma, eps, w = obj["beta"], obj["gamma"], obj["label_smoothing"], obj["sft_weight"]
            z = beta * (a - b) - gamma
            losses = -(1 - eps) * F.logsigmoid(z) - eps * F.logsigmoid(-z) + w * nll
            reward_c, reward_r = beta * a, beta * b
            if w != 0:
                m["nll_loss"] = nll
        m["logps_chosen"], m["logps_rejected"] = a.mean(), b.mean()
    m["rewards_chosen"] = reward_c.mean()
    m["rewards_rejected"] = reward_r.mean()
    m["rewards_accuracy"] = (reward_c > reward_r).to(torch.float64).mean()
    m["rewards_margin"] = (reward_c - reward_r).mean()
    return losses.mean(), {k: float(v) for k, v in m.items()}


def main():
    ap = argparse.ArgumentParser()
    for a in ("--model", "--adapter", "--pairs", "--objective", "--out"):
        ap.add_argument(a, required=True)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    args = ap.parse_args()
    # The forward above must reproduce the Hugging Face fixtures' logits, base and base + adapter.
    model = LlamaLora(args.model, args.adapter)
    with torch.no_grad():
        for path, use_lora in ((args.model + "/../base_reference.safetensors", False),
                               (args.adapter + "/reference.safetensors", True)):
            ref = read_safetensors(path)
            ids = ref["input_ids"].long()
            got = model.logits(ids, torch.ones_like(ids), use_lora)
            err = float((got - ref["logits"]).abs().max())
            if err > 1e-4:
                raise SystemExit("%s: logits differ from the fixture by %g" % (path, err))
    obj = json.loads(args.objective)
    pairs = [json.loads(line) for line in open(args.pairs) if line.strip()]
    opt = torch.optim.AdamW(model.params(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=args.weight_decay)
    out, pos = [], 0
    for step in range(args.steps):
        if pos >= len(pairs):  # the data repeats, in file order (shuffle off)
            pos = 0
        batch = pairs[pos: pos + args.batch_size]
        pos += len(batch)
        loss, metrics = step_loss(model, obj, batch)
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.params(), args.max_grad_norm)
        opt.step()
        out.append({"step": step + 1, "loss": float(loss), "grad_norm": float(norm), **metrics})
    json.dump(out, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
