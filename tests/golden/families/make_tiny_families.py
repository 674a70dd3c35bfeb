#!/usr/bin/python3
# Makes the own tiny models of tests/golden/families (what ../shared/fixtures' tiny-qwen3/-gemma3/
# -phi3 leave out) and their independent float64 reference: logits and greedy continuations.
# Run with Debian's python3-torch: /usr/bin/python3 tests/golden/families/make_tiny_families.py
#
#   qwen3-untied       Qwen3 with its own lm_head (tie_word_embeddings false)
#   gemma3-rope-linear Gemma 3 whose global layer has linear RoPE scaling (factor 8), as the
#                      published Gemma-3-4B config; the sliding layers stay unscaled
#   phi3-longrope      Phi-3/Phi-4-mini longrope with partial rotary: short factors up to the
#                      original context (256 here), long ones past it, attention factor from the
#                      ratio 1024/256. 256, because llama.cpp pads its context to a multiple of 256
#                      and takes the long factors when that context exceeds the original one
#
# The forward below is written from the published architectures (the Hugging Face modeling files
# read, not copied; transformers is not installed here): float64 throughout, from the float32
# weights that are saved. Each model's folder gets config.json, model.safetensors,
# reference.safetensors (input ids and logits per case) and summary.json (greedy continuations).
# Every feature is checked to matter: the script fails if switching it off leaves the logits as
# they were, so a test that ignores the feature cannot pass.
import json
import math
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 512  # the shared tokenizers/bytelevel tokenizer
STEPS = 12


# --- safetensors, written here (no safetensors package on the machine) -----------------------
def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        if t.dtype == torch.float32:
            dtype, data = "F32", t.numpy().tobytes()
        elif t.dtype == torch.int64:
            dtype, data = "I64", t.numpy().tobytes()
        else:
            raise ValueError(f"{name}: dtype {t.dtype}")
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def load_safetensors(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    out = {}
    for name, v in json.loads(b[8:8 + n]).items():
        if name == "__metadata__":
            continue
        s, e = v["data_offsets"]
        dt = {"F32": torch.float32, "I64": torch.int64}[v["dtype"]]
        out[name] = torch.frombuffer(bytearray(b[8 + n + s:8 + n + e]), dtype=dt).view(v["shape"])
    return out


# --- the float64 reference forward ---------------------------------------------------------------
def rms_norm(x, w, eps, plus_one):
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return y * ((1.0 + w) if plus_one else w)


def inv_frequencies(theta, rot_dim, divisors=None):
    # [rot_dim/2]: 1 / (divisor_i * theta^(2i/rot_dim))
    exps = torch.arange(0, rot_dim, 2, dtype=torch.float64) / rot_dim
    inv = 1.0 / (theta ** exps)
    if divisors is not None:
        inv = inv / torch.tensor(divisors, dtype=torch.float64)
    return inv


def rope(x, positions, inv, rot_dim, scale):
    # x [H,T,D]: the first rot_dim dims of each head rotate in two halves (rotate-half layout).
    ang = positions.to(torch.float64)[:, None] * inv[None, :]  # [T,rot/2]
    cos = torch.cat([ang.cos(), ang.cos()], -1) * scale       # [T,rot]
    sin = torch.cat([ang.sin(), ang.sin()], -1) * scale
    xr, xp = x[..., :rot_dim], x[..., rot_dim:]
    half = rot_dim // 2
    rotated = torch.cat([-xr[..., half:], xr[..., :half]], -1)
    return torch.cat([xr * cos + rotated * sin, xp], -1)


def attention(q, k, v, scale, window):
    # q [H,T,D], k/v [kvH,T,D]; causal, and within `window` positions (self included) if set.
    H, T, _ = q.shape
    group = H // k.shape[0]
    k = k.repeat_interleave(group, 0)
    v = v.repeat_interleave(group, 0)
    s = (q @ k.transpose(1, 2)) * scale  # [H,T,T]
    qi = torch.arange(T)[:, None]
    ki = torch.arange(T)[None, :]
    allowed = ki <= qi
    if window:
        allowed = allowed & (qi - ki < window)
    s = s.masked_fill(~allowed, float("-inf"))
    return torch.softmax(s, -1) @ v  # [H,T,D]


def heads(x, n):  # [T,n*D] -> [n,T,D]
    return x.view(x.shape[0], n, -1).transpose(0, 1)


def merge(x):  # [H,T,D] -> [T,H*D]
    return x.transpose(0, 1).reshape(x.shape[1], -1)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def forward(cfg, W, ids, opts):
    """Logits [T,V] for one sequence of ids, float64. `opts` switches features off for the
    sensitivity checks (no_scaling, force_short, ...)."""
    W = {n: t.to(torch.float64) for n, t in W.items()}
    kind = cfg["model_type"]
    C, H, kvH = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim", C // H)
    eps = cfg["rms_norm_eps"]
    T = len(ids)
    pos = torch.arange(T)
    gemma = kind == "gemma3_text"
    h = W["model.embed_tokens.weight"][torch.tensor(ids)]
    if gemma:
        h = h * math.sqrt(C)
    rot = D
    rope_scale = 1.0
    if kind == "phi3":
        rot = int(D * cfg.get("partial_rotary_factor", 1.0))
        rs = cfg["rope_scaling"]
        orig = cfg["original_max_position_embeddings"]
        factor = cfg["max_position_embeddings"] / orig
        rope_scale = 1.0 if opts.get("no_attn_factor") or factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(orig))
        use_long = T > orig and not opts.get("force_short")
        inv_global = inv_frequencies(cfg["rope_theta"], rot, rs["long_factor"] if use_long else rs["short_factor"])
    elif gemma:
        inv_global = inv_frequencies(cfg["rope_theta"], rot)
        rs = cfg.get("rope_scaling")
        if rs and not opts.get("no_scaling"):
            assert rs["rope_type"] == "linear"
            inv_global = inv_global / rs["factor"]
        inv_local = inv_frequencies(cfg["rope_local_base_freq"], rot)
    else:
        inv_global = inv_frequencies(cfg["rope_theta"], rot)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = rms_norm(h, W[p + "input_layernorm.weight"], eps, gemma)
        if kind == "phi3":
            qkv = x @ W[p + "self_attn.qkv_proj.weight"].T
            q, k, v = qkv.split([H * D, kvH * D, kvH * D], -1)
            q, k, v = heads(q, H), heads(k, kvH), heads(v, kvH)
        else:
            q = heads(x @ W[p + "self_attn.q_proj.weight"].T, H)
            k = heads(x @ W[p + "self_attn.k_proj.weight"].T, kvH)
            v = heads(x @ W[p + "self_attn.v_proj.weight"].T, kvH)
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps, gemma)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps, gemma)
        sliding = gemma and cfg["layer_types"][i] == "sliding_attention"
        inv = inv_local if sliding else inv_global
        q, k = rope(q, pos, inv, rot, rope_scale), rope(k, pos, inv, rot, rope_scale)
        scale = cfg["query_pre_attn_scalar"] ** -0.5 if gemma else D ** -0.5
        a = merge(attention(q, k, v, scale, cfg["sliding_window"] if sliding else 0)) @ W[p + "self_attn.o_proj.weight"].T
        if gemma:
            a = rms_norm(a, W[p + "post_attention_layernorm.weight"], eps, True)
            r = h + a
            y = rms_norm(r, W[p + "pre_feedforward_layernorm.weight"], eps, True)
            m = (gelu_tanh(y @ W[p + "mlp.gate_proj.weight"].T) * (y @ W[p + "mlp.up_proj.weight"].T)) @ W[p + "mlp.down_proj.weight"].T
            m = rms_norm(m, W[p + "post_feedforward_layernorm.weight"], eps, True)
        else:
            r = h + a
            y = rms_norm(r, W[p + "post_attention_layernorm.weight"], eps, False)
            if kind == "phi3":
                gate, up = (y @ W[p + "mlp.gate_up_proj.weight"].T).chunk(2, -1)
            else:
                gate, up = y @ W[p + "mlp.gate_proj.weight"].T, y @ W[p + "mlp.up_proj.weight"].T
            m = (torch.nn.functional.silu(gate) * up) @ W[p + "mlp.down_proj.weight"].T
        h = r + m
    h = rms_norm(h, W["model.norm.weight"], eps, gemma)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return h @ head.T


def greedy(cfg, W, prompt, steps):
    """Greedy continuation by full recomputation, and the smallest top-1 margin along it."""
    ids, out, margin = list(prompt), [], float("inf")
    for _ in range(steps):
        logits = forward(cfg, W, ids, {})[-1]
        top = torch.topk(logits, 2)
        margin = min(margin, float(top.values[0] - top.values[1]))
        out.append(int(top.indices[0]))
        ids.append(out[-1])
    return out, margin


# --- the models --------------------------------------------------------------------------------
def weights(cfg, g):
    C, H, kvH = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg.get("head_dim", C // H)
    I = cfg["intermediate_size"]
    kind = cfg["model_type"]
    gemma = kind == "gemma3_text"

    def lin(o, i, gain=1.0):
        return torch.randn(o, i, generator=g) * (gain / math.sqrt(i))

    def norm(n):  # Gemma stores w for x*(1+w); the others w near 1
        return torch.randn(n, generator=g) * 0.2 + (0.0 if gemma else 1.0)

    W = {"model.embed_tokens.weight": torch.randn(VOCAB, C, generator=g) * (0.5 if gemma else 1.0)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        W[p + "input_layernorm.weight"] = norm(C)
        W[p + "post_attention_layernorm.weight"] = norm(C)
        if kind == "phi3":
            W[p + "self_attn.qkv_proj.weight"] = lin(H * D + 2 * kvH * D, C, 1.5)
            W[p + "mlp.gate_up_proj.weight"] = lin(2 * I, C)
        else:
            W[p + "self_attn.q_proj.weight"] = lin(H * D, C, 1.5)
            W[p + "self_attn.k_proj.weight"] = lin(kvH * D, C, 1.5)
            W[p + "self_attn.v_proj.weight"] = lin(kvH * D, C)
            W[p + "self_attn.q_norm.weight"] = norm(D)
            W[p + "self_attn.k_norm.weight"] = norm(D)
            W[p + "mlp.gate_proj.weight"] = lin(I, C)
            W[p + "mlp.up_proj.weight"] = lin(I, C)
        if gemma:
            W[p + "pre_feedforward_layernorm.weight"] = norm(C)
            W[p + "post_feedforward_layernorm.weight"] = norm(C)
        W[p + "self_attn.o_proj.weight"] = lin(C, H * D)
        W[p + "mlp.down_proj.weight"] = lin(C, I)
    W["model.norm.weight"] = norm(C)
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = lin(VOCAB, C, 3.0)
    return W


COMMON = {"vocab_size": VOCAB, "bos_token_id": None, "eos_token_id": 0, "pad_token_id": 0, "torch_dtype": "float32",
          "attention_bias": False, "max_position_embeddings": 128}

MODELS = {
    "qwen3-untied": dict(COMMON, architectures=["Qwen3ForCausalLM"], model_type="qwen3", hidden_size=32,
                         intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         head_dim=16, hidden_act="silu", rms_norm_eps=1e-6, rope_theta=1000000.0, rope_scaling=None,
                         tie_word_embeddings=False, use_sliding_window=False, sliding_window=None),
    "gemma3-rope-linear": dict(COMMON, architectures=["Gemma3ForCausalLM"], model_type="gemma3_text", hidden_size=32,
                               intermediate_size=32, num_hidden_layers=6, num_attention_heads=2, num_key_value_heads=1,
                               head_dim=16, hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                               rope_theta=10000.0, rope_local_base_freq=10000.0,
                               rope_scaling={"rope_type": "linear", "factor": 8.0}, query_pre_attn_scalar=16,
                               sliding_window=4, sliding_window_pattern=6,
                               layer_types=["sliding_attention"] * 5 + ["full_attention"],
                               final_logit_softcapping=None, attn_logit_softcapping=None, tie_word_embeddings=True),
    "phi3-longrope": dict(COMMON, architectures=["Phi3ForCausalLM"], model_type="phi3", hidden_size=32,
                          intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                          hidden_act="silu", rms_norm_eps=1e-5, rope_theta=10000.0, partial_rotary_factor=0.75,
                          max_position_embeddings=1024, original_max_position_embeddings=256,
                          rope_scaling={"type": "longrope", "short_factor": [1.0, 1.0, 1.1, 1.25, 1.5, 2.0],
                                        "long_factor": [1.0, 1.6, 2.8, 4.5, 7.0, 12.0]},
                          tie_word_embeddings=False, sliding_window=None),
}

# Token-id prompts for llama.cpp's greedy cross-check. Phi-3: one set stays within the original
# context of 256 (short factors: llama.cpp runs with a context of 256), one starts past it (long
# factors: llama.cpp's context of 512 exceeds 256, and so does every sequence).
def prompts(name, g):
    if name == "phi3-longrope":
        short = [[42, 288, 78, 81], [100, 200, 300, 400, 7, 9], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]]
        long = [torch.randint(1, VOCAB, (n,), generator=g).tolist() for n in (260, 270, 290)]
        return {"short": short, "long": long}
    return {"default": [[42, 288, 78, 81], [43, 86, 457, 223, 20], [100, 200, 300, 11, 12, 13, 14, 15, 16]]}


def build(name, cfg, seed):
    g = torch.Generator().manual_seed(seed)
    W = weights(cfg, g)
    out = os.path.join(HERE, name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    save_safetensors(os.path.join(out, "model.safetensors"), W)

    # Logits cases: [1,12] for all; Phi-3 also [1,264], past its original context of 256.
    cases = {"ids_short": torch.randint(1, VOCAB, (1, 12), generator=g)}
    if name == "phi3-longrope":
        cases["ids_long"] = torch.randint(1, VOCAB, (1, 264), generator=g)
    ref = {}
    for key, ids in cases.items():
        logits = forward(cfg, W, ids[0].tolist(), {})
        ref[key] = ids
        ref["logits" + key[3:]] = logits.to(torch.float32).unsqueeze(0)
    save_safetensors(os.path.join(out, "reference.safetensors"), ref)

    # Each feature must move the logits, or a test could pass while ignoring it.
    def moved(key, opts):
        ids = cases[key][0].tolist()
        return float((forward(cfg, W, ids, opts) - forward(cfg, W, ids, {})).abs().max())
    checks = {}
    if name == "qwen3-untied":
        tied = dict(cfg, tie_word_embeddings=True)
        ids = cases["ids_short"][0].tolist()
        checks["untied vs tied head"] = float((forward(tied, W, ids, {}) - forward(cfg, W, ids, {})).abs().max())
    if name == "gemma3-rope-linear":
        checks["global scaling off"] = moved("ids_short", {"no_scaling": True})
    if name == "phi3-longrope":
        checks["long -> short factors"] = moved("ids_long", {"force_short": True})
        checks["attention factor off"] = moved("ids_short", {"no_attn_factor": True})
    for what, d in checks.items():
        print(f"{name}: {what} moves the logits by {d:.4f}")
        if d < 0.05:
            sys.exit(f"{name}: '{what}' changes the logits by only {d}; the test could not see it")

    summary = {}
    for key, ps in prompts(name, g).items():
        runs = []
        for p in ps:
            ids, margin = greedy(cfg, W, p, STEPS)
            if margin < 1e-3:
                sys.exit(f"{name}: greedy margin {margin} after {p}: a near tie, pick another prompt or seed")
            runs.append({"prompt_ids": p, "ids": ids, "min_margin": round(margin, 6)})
        summary[key] = runs
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"greedy": summary}, f, indent=1)
        f.write("\n")
    print(f"{name}: written to {out}")


def check_against_shared_fixtures():
    """This forward must reproduce ../shared/fixtures' tiny-qwen3/-gemma3/-phi3 references (made
    independently, and cross-checked there against llama.cpp) before its own outputs are trusted."""
    root = os.environ.get("PEFT_FIXTURES", os.path.join(HERE, "..", "..", "..", "..", "shared", "fixtures"))
    for name in ("tiny-qwen3", "tiny-gemma3", "tiny-phi3"):
        base = os.path.join(root, name)
        cfg = json.load(open(os.path.join(base, "base", "config.json")))
        W = load_safetensors(os.path.join(base, "base", "model.safetensors"))
        ref = load_safetensors(os.path.join(base, "base_reference.safetensors"))
        if cfg["model_type"] == "phi3" and not cfg.get("rope_scaling"):
            rot = int(cfg["hidden_size"] // cfg["num_attention_heads"] * cfg.get("partial_rotary_factor", 1.0))
            cfg["rope_scaling"] = {"short_factor": [1.0] * (rot // 2), "long_factor": [1.0] * (rot // 2)}
        err = max(float((forward(cfg, W, ids.tolist(), {}) - want.double()).abs().max())
                  for ids, want in zip(ref["input_ids"], ref["logits"]))
        summary = json.load(open(os.path.join(base, "summary.json")))["greedy"]
        same = sum(greedy(cfg, W, g["prompt_ids"], len(g["ids"]))[0] == g["ids"] for g in summary)
        print(f"shared {name}: logits within {err:.1e}, greedy {same}/{len(summary)} prompts equal")
        if err > 1e-5 or same != len(summary):
            sys.exit(f"this forward disagrees with the shared {name} reference")


if __name__ == "__main__":
    torch.set_num_threads(1)
    check_against_shared_fixtures()
    for seed, (name, cfg) in enumerate(MODELS.items()):
        build(name, cfg, 1000 + seed)
