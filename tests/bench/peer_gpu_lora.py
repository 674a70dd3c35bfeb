"""GPU peer for the performance goal: what a user runs instead, Hugging Face transformers +
peft LoRA with bf16 autocast (fp32 master weights, as Trainer(bf16=True) does) or with the
model loaded in bf16 (--bf16-weights), SDPA attention, AdamW, grad clipping at 1.0.
Models are random-initialised from their config (GPT-2 124M or TinyLlama-1.1B shape).
Prints one JSON line: tokens_per_s, step_s, cuda peak memory."""
import argparse, json, time
import torch

p = argparse.ArgumentParser()
p.add_argument("--model", choices=["gpt2", "tinyllama"], default="gpt2")
p.add_argument("--batch", type=int, default=8); p.add_argument("--seq", type=int, default=512)
p.add_argument("--steps", type=int, default=20); p.add_argument("--warmup", type=int, default=5)
p.add_argument("--r", type=int, default=16); p.add_argument("--bf16-weights", action="store_true")
a = p.parse_args()

import transformers
from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig
from peft import LoraConfig, get_peft_model

torch.manual_seed(0)
if a.model == "gpt2":
    cfg = GPT2Config(n_layer=12, n_embd=768, n_head=12, vocab_size=50257, n_positions=1024)
    targets, fifo = ["c_attn"], True
else:
    cfg = LlamaConfig(num_hidden_layers=22, hidden_size=2048, intermediate_size=5632, num_attention_heads=32,
                      num_key_value_heads=4, vocab_size=32000, max_position_embeddings=2048, rms_norm_eps=1e-5,
                      rope_theta=10000.0, tie_word_embeddings=False)
    targets, fifo = ["q_proj", "v_proj"], False
dtype = torch.bfloat16 if a.bf16_weights else torch.float32
model = AutoModelForCausalLM.from_config(cfg, torch_dtype=dtype, attn_implementation="sdpa").cuda()
model = get_peft_model(model, LoraConfig(r=a.r, lora_alpha=2 * a.r, lora_dropout=0.0, target_modules=targets,
                                         fan_in_fan_out=fifo, task_type="CAUSAL_LM"))
params = [q for q in model.parameters() if q.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4)
x = torch.randint(0, cfg.vocab_size, (a.batch, a.seq), device="cuda")

def step():
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = model(input_ids=x, labels=x).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step(); opt.zero_grad(set_to_none=True)
    return loss.item()

torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()  # peak over training steps, as ours
for _ in range(a.warmup): step()
torch.cuda.synchronize()
t = time.perf_counter()
for _ in range(a.steps): step()
torch.cuda.synchronize()
dt = (time.perf_counter() - t) / a.steps
print(json.dumps({"peer": "transformers+peft", "transformers": transformers.__version__, "torch": torch.__version__,
                  "model": a.model, "weights": str(dtype).replace("torch.", ""), "autocast": "bf16",
                  "batch": a.batch, "seq": a.seq, "trainable": sum(q.numel() for q in params),
                  "step_s": round(dt, 4), "tokens_per_s": round(a.batch * a.seq / dt, 1),
                  "cuda_peak_allocated_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1),
                  "cuda_peak_reserved_mib": round(torch.cuda.max_memory_reserved() / 2**20, 1)}), flush=True)
