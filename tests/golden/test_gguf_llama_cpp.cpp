// GGUF export checked by the real llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU binaries, run by
// tests/llama_cpp/run_llama.mjs): tokenisation of every tokenizer case, greedy continuations of the
// F32 GGUF against our model, base + LoRA GGUF against the merged GGUF, F16/BF16/Q8_0 top-1
// agreement with our fp32 model, and every bad input refused with no file written.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/export/gguf_export.h"
#include "core/io/model_config.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string sourceDir() { return peft::test::sourcePath(); }

std::string nodeDir() { return sourceDir() + "/tests/llama_cpp"; }

// Runs run_llama.mjs on one job. A missing install fails the test (CI must install it).
json runLlama(const json& job, const test::TempDir& tmp, const std::string& tag) {
    const std::string nm = nodeDir() + "/node_modules/node-llama-cpp/package.json";
    if (!fs::exists(nm)) {
        ADD_FAILURE() << "node-llama-cpp is not installed in " << nodeDir()
                      << ": run `npm ci` there (packaging/test.sh does).";
        return json();
    }
    const std::string jobPath = tmp.file(tag + "-job.json"), outPath = tmp.file(tag + "-out.json");
    writeFileAtomic(jobPath, job.dump());
    const std::string cmd = "cd '" + nodeDir() + "' && node run_llama.mjs '" + jobPath + "' '" + outPath + "' 2>&1";
    const test::CliResult run = test::runShell(cmd);
    if (run.rc != 0 || !fs::exists(outPath)) {
        ADD_FAILURE() << "llama.cpp run failed for " << tag << ":\n" << run.out;
        return json();
    }
    return json::parse(readFile(outPath));
}

struct Greedy {
    int agree = 0, ties = 0, total = 0;
    std::string firstMismatch;
    std::vector<double> margins;      // our top-2 margin at every step
    std::vector<double> missMargins;  // ... at the steps where llama.cpp chose another token
};

// Our model along llama.cpp's greedy path (teacher-forced): at each step, is llama.cpp's token our
// argmax? Where our top two logits lie within 1e-3 the step is a tie and either token counts.
Greedy checkAlong(CausalLMImpl& model, const std::vector<int64_t>& prompt, const std::vector<int64_t>& gen) {
    Greedy g;
    if (gen.empty()) return g;
    std::vector<int64_t> full = prompt;
    full.insert(full.end(), gen.begin(), gen.end() - 1);
    torch::NoGradGuard ng;
    torch::Tensor ids = torch::tensor(full, torch::kInt64).view({1, -1});
    torch::Tensor logits = model.forward(ids).squeeze(0).to(torch::kFloat32);  // [T,V]
    for (size_t k = 0; k < gen.size(); ++k) {
        torch::Tensor row = logits[static_cast<int64_t>(prompt.size() - 1 + k)];
        auto top = row.topk(2);
        const int64_t best = std::get<1>(top)[0].item<int64_t>();
        const double margin = (std::get<0>(top)[0] - std::get<0>(top)[1]).item<double>();
        ++g.total;
        g.margins.push_back(margin);
        if (best != gen[k]) g.missMargins.push_back(margin);
        if (best == gen[k]) ++g.agree;
        else if (margin < 1e-3 && std::get<1>(top)[1].item<int64_t>() == gen[k]) ++g.ties;
        else if (g.firstMismatch.empty())
            g.firstMismatch = "step " + std::to_string(k) + ": llama.cpp " + std::to_string(gen[k]) + ", ours " +
                std::to_string(best) + " (margin " + std::to_string(margin) + ")";
    }
    return g;
}

std::vector<std::vector<int64_t>> toIds(const json& j) {
    std::vector<std::vector<int64_t>> out;
    for (const auto& row : j) out.push_back(row.get<std::vector<int64_t>>());
    return out;
}

gguf::ExportResult exportTo(const std::string& model, const std::string& adapter, const std::string& out,
                            gguf::TensorType type, bool loraOnly = false) {
    gguf::ExportOptions o;
    o.modelDir = model;
    o.adapterDir = adapter;
    o.outPath = out;
    o.type = type;
    o.loraOnly = loraOnly;
    return gguf::exportGguf(o);
}

struct ModelCase {
    std::string name;
    std::string dir;
    std::string tokCases;                // tokenizer_cases.json whose texts are tokenised
    bool casesAreThisTokenizer = false;  // the cases' ids were made by this very tokenizer.json
    std::vector<std::string> loras;      // LoRA adapter folders
    std::string strongLora;              // one of `loras` that must change some greedy token
    double q8Floor = 0.95;               // Q8_0 top-1 agreement required (see runFamilyFixture)
};

// `cfg` attached to `model`, every trained tensor drawn from N(0, scale²) after seeding with
// `seed` (B non-zero, so the adapter changes the outputs), and saved to `dir`. Returns `dir`.
std::string saveRandomAdapter(CausalLMImpl& model, const json& cfg, uint64_t seed, double scale,
                              const std::string& dir) {
    Adapter ad = attachAdapter(model, cfg);
    torch::manual_seed(seed);
    {
        torch::NoGradGuard ng;
        for (auto& [n, t] : ad.method->trainable()) t.copy_(torch::randn(t.sizes()) * scale);
    }
    saveAdapter(ad, dir);
    return dir;
}

// A random LoRA strong enough to change greedy tokens, so that the base + LoRA comparison below
// can tell an applied adapter from an ignored one (the fixtures' small LoRAs leave every greedy
// token of tiny-gpt2 and tiny-llama3-rope as it was). Llama-like models get every per-module scale
// path: rsLoRA, rank_pattern, alpha_pattern. GPT-2's Conv1D weights are stored transposed.
std::string makeRandomLora(const test::TempDir& tmp, const std::string& model, const std::string& tag) {
    auto loaded = loadModel(model);
    const bool gpt2 = readJsonFile(model + "/config.json").value("model_type", "") == "gpt2";
    json cfg = {
        {"peft_type", "LORA"}, {"task_type", "CAUSAL_LM"},        {"r", 8}, {"lora_alpha", 16}, {"use_rslora", true},
        {"lora_dropout", 0.0}, {"base_model_name_or_path", model}};
    if (gpt2) {
        cfg["target_modules"] = {"c_attn", "c_proj", "c_fc"};
        cfg["fan_in_fan_out"] = true;
        cfg["rank_pattern"] = {{"c_fc", 4}};
        cfg["alpha_pattern"] = {{"c_attn", 40}};
    } else {
        cfg["target_modules"] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
        cfg["rank_pattern"] = {{"q_proj", 4}, {"down_proj", 2}};
        cfg["alpha_pattern"] = {{"v_proj", 40}};
    }
    return saveRandomAdapter(*loaded.model, cfg, 5, 0.08, tmp.file(tag));
}

std::vector<std::string> promptsFor(const std::string& name) {
    std::vector<std::string> p = {"Hello world", "In the beginning the", "LoRA adapters reduce 12345"};
    if (name == "demo")
        p.push_back("<|im_start|>user\nWhich book tells of the flood?<|im_end|>\n<|im_start|>assistant\n");
    return p;
}

void runModelCase(const ModelCase& mc) {
    test::TempDir tmp;
    auto tok = Tokenizer::load(mc.dir);
    auto loaded = loadModel(mc.dir);
    CausalLMImpl& model = *loaded.model;

    // F32 GGUF: tokenisation of every case and greedy continuations.
    const std::string f32 = tmp.file("f32.gguf");
    exportTo(mc.dir, "", f32, gguf::TensorType::F32);
    const json cases = readJsonFile(mc.tokCases);
    std::vector<std::string> texts;
    for (const auto& c : cases) texts.push_back(c.at("text").get<std::string>());
    std::vector<std::vector<int64_t>> prompts;
    for (const auto& t : promptsFor(mc.name)) prompts.push_back(tok->encode(t, true));
    json r = runLlama({{"model", f32}, {"texts", texts}, {"prompts", prompts}, {"steps", 32}}, tmp, "f32");
    if (r.is_null()) return;
    // llama.cpp warns when it has to guess (a missing or unknown pre-tokenizer, token types).
    for (const auto& wmsg : r["warnings"]) {
        const std::string m = wmsg.get<std::string>();
        std::printf("llama.cpp warning (%s): %s\n", mc.name.c_str(), m.c_str());
        for (const char* bad : {"pre-tokenizer", "DEGRADED", "token type", "unknown"})
            EXPECT_EQ(m.find(bad), std::string::npos) << mc.name << ": " << m;
    }
    const auto ll = toIds(r["tokens"]);
    const bool addBos = r["addBos"].get<bool>();
    ASSERT_EQ(ll.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
        std::vector<int64_t> expect = tok->encode(texts[i], true);
        if (mc.casesAreThisTokenizer) ASSERT_EQ(expect, cases[i]["ids"].get<std::vector<int64_t>>()) << texts[i];
        std::vector<int64_t> got = ll[i];
        if (addBos) got.insert(got.begin(), r["bos"].get<int64_t>());
        EXPECT_EQ(got, expect) << mc.name << ": llama.cpp tokenised " << json(texts[i]).dump() << " differently";
    }
    const auto gen = toIds(r["generated"]);
    ASSERT_EQ(gen.size(), prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
        ASSERT_EQ(gen[i].size(), 32u);
        Greedy g = checkAlong(model, prompts[i], gen[i]);
        EXPECT_EQ(g.agree + g.ties, g.total) << mc.name << " F32 prompt " << i << ": " << g.firstMismatch;
    }

    // F16 / BF16 / Q8_0: top-1 agreement with our fp32 model along llama.cpp's own path.
    for (auto [tname, t] : {std::pair{"f16", gguf::TensorType::F16}, std::pair{"bf16", gguf::TensorType::BF16},
                            std::pair{"q8_0", gguf::TensorType::Q8_0}}) {
        const std::string path = tmp.file(std::string(tname) + ".gguf");
        const auto res = exportTo(mc.dir, "", path, t);
        EXPECT_EQ(res.bytes, fs::file_size(path));
        EXPECT_EQ(res.bytes, gguf::expectedGgufBytes(mc.dir, t)) << "the GUI's expected size must be exact";
        json q = runLlama({{"model", path}, {"prompts", prompts}, {"steps", 32}}, tmp, tname);
        if (q.is_null()) return;
        int agree = 0, total = 0;
        std::vector<double> margins, miss;
        const auto qg = toIds(q["generated"]);
        for (size_t i = 0; i < prompts.size(); ++i) {
            Greedy g = checkAlong(model, prompts[i], qg[i]);
            agree += g.agree + g.ties;
            total += g.total;
            margins.insert(margins.end(), g.margins.begin(), g.margins.end());
            miss.insert(miss.end(), g.missMargins.begin(), g.missMargins.end());
        }
        const double rate = static_cast<double>(agree) / total;
        std::sort(margins.begin(), margins.end());
        std::sort(miss.begin(), miss.end());
        std::string missText;
        for (double m : miss) missText += (missText.empty() ? "" : ", ") + std::to_string(m);
        std::printf(
            "GGUF top-1 agreement %s %s: %d/%d = %.4f (%llu bytes); our top-2 margin median %.4f, at the "
            "differing steps: %s\n",
            mc.name.c_str(), tname, agree, total, rate, static_cast<unsigned long long>(res.bytes),
            margins[margins.size() / 2], missText.empty() ? "none" : missText.c_str());
        EXPECT_GE(rate, t == gguf::TensorType::Q8_0 ? mc.q8Floor : 0.95) << mc.name << " " << tname;
    }

    // LoRA: base GGUF + LoRA GGUF in llama.cpp == merged GGUF, and both follow our adapted model.
    for (const auto& lora : mc.loras) {
        const std::string tag = fs::path(lora).filename().string();
        const std::string lpath = tmp.file(tag + "-lora.gguf"), mpath = tmp.file(tag + "-merged.gguf");
        const auto lres = exportTo(mc.dir, lora, lpath, gguf::TensorType::F32, true);
        std::printf("GGUF LoRA %s %s: %s\n", mc.name.c_str(), tag.c_str(), lres.loraScaleNote.c_str());
        exportTo(mc.dir, lora, mpath, gguf::TensorType::F32);
        json a = runLlama({{"model", f32}, {"lora", lpath}, {"prompts", prompts}, {"steps", 32}}, tmp, tag + "-a");
        json b = runLlama({{"model", mpath}, {"prompts", prompts}, {"steps", 32}}, tmp, tag + "-b");
        if (a.is_null() || b.is_null()) return;
        auto withLora = loadModel(mc.dir);
        Adapter ad = loadAdapter(*withLora.model, lora);
        const auto ga = toIds(a["generated"]), gb = toIds(b["generated"]);
        bool changed = false;
        for (size_t i = 0; i < prompts.size(); ++i) {
            changed = changed || ga[i] != gen[i];
            Greedy g1 = checkAlong(*withLora.model, prompts[i], ga[i]);
            EXPECT_EQ(g1.agree + g1.ties, g1.total)
                << mc.name << " " << tag << " base+LoRA GGUF prompt " << i << ": " << g1.firstMismatch;
            Greedy g2 = checkAlong(*withLora.model, prompts[i], gb[i]);
            EXPECT_EQ(g2.agree + g2.ties, g2.total)
                << mc.name << " " << tag << " merged GGUF prompt " << i << ": " << g2.firstMismatch;
            if (g1.ties == 0 && g2.ties == 0) EXPECT_EQ(ga[i], gb[i]) << mc.name << " " << tag << " prompt " << i;
        }
        // On a random tiny model a small LoRA may leave every greedy token as it was; then the
        // comparison above cannot tell an applied adapter from an ignored one. Say so.
        std::printf("GGUF LoRA %s %s: greedy tokens %s by the adapter\n", mc.name.c_str(), tag.c_str(),
                    changed ? "changed" : "NOT changed");
        if (lora == mc.strongLora)
            EXPECT_TRUE(changed) << mc.name << " " << tag << ": the random LoRA should change some greedy token, "
                                 << "or the comparison cannot tell an applied adapter from an ignored one";
    }
}

// A fixture family with one of its peft adapters and a strong random LoRA made here (which must
// change some greedy token); `tokenizer` names the tokenizer_cases.json its ids come from.
void runFixtureWithRandomLora(const std::string& family, const std::string& tokenizer, const std::string& adapter) {
    test::TempDir tmp;
    const std::string base = test::fixture(family + "/base"), strong = makeRandomLora(tmp, base, "random-lora");
    runModelCase({family,
                  base,
                  test::fixture("tokenizers/" + tokenizer + "/tokenizer_cases.json"),
                  true,
                  {test::fixture(family + "/adapters/" + adapter), strong},
                  strong});
}

TEST(GgufLlamaCpp, TinyGpt2) { runFixtureWithRandomLora("tiny-gpt2", "bytelevel", "lora-qv-r4"); }

TEST(GgufLlamaCpp, TinyLlama) {
    runModelCase(
        {"tiny-llama",
         test::fixture("tiny-llama/base"),
         test::fixture("tokenizers/metaspace/tokenizer_cases.json"),
         true,
         {test::fixture("tiny-llama/adapters/lora-qv-r4"), test::fixture("tiny-llama/adapters/lora-all-r8-rslora")}});
}

TEST(GgufLlamaCpp, TinyLlama3Rope) { runFixtureWithRandomLora("tiny-llama3-rope", "metaspace", "lora-all-r4"); }

// --- Qwen3, Gemma 3 and Phi-3 ------------------------------------------------------------------
// llama.cpp architectures and keys used (core/export/gguf_arch.cpp):
//  - qwen3: the llama keys (attention.key_length/value_length when head_dim != hidden/heads) and
//    blk.N.attn_q_norm / attn_k_norm; NEOX RoPE, so q/k rows stay in HF order.
//  - gemma3: attention.sliding_window, attention.key_length/value_length, rope.freq_base (global
//    layers), rope.scaling.type/factor (linear, global layers only); blk.N.post_attention_norm,
//    ffn_norm (HF pre_feedforward_layernorm), post_ffw_norm, attn_q_norm/attn_k_norm, every norm
//    weight written as w+1; llama.cpp fixes the local layers' base at 1e4 and every 6th layer global.
//  - phi3: attn_qkv and ffn_up (= HF gate_up_proj) fused as in HF, rope.dimension_count = the
//    rotary dims (partial_rotary_factor), attention.sliding_window (0: none); longrope as
//    rope_factors_long/rope_factors_short tensors, rope.scaling.original_context_length and
//    rope.scaling.attn_factor.

// A random LoRA on every linear layer of `model` (B non-zero, so it changes the outputs).
std::string makeRandomLora(const std::string& model, const test::TempDir& tmp, const std::string& name) {
    auto loaded = loadModel(model);
    json cfg = {{"peft_type", "LORA"},
                {"task_type", "CAUSAL_LM"},
                {"r", 4},
                {"lora_alpha", 8},
                {"lora_dropout", 0.0},
                {"target_modules", "all-linear"},
                {"base_model_name_or_path", model}};
    return saveRandomAdapter(*loaded.model, cfg, 11, 0.15, tmp.file(name));
}

// llama.cpp's greedy continuations of `greedy` (summary.json's [{prompt_ids, ids}]) from the F32
// GGUF of `modelDir` equal the reference's ids, and each step is our argmax too (or a tie).
void expectSummaryGreedy(const std::string& modelDir, const json& greedy, const std::string& tag, int contextSize = 0) {
    test::TempDir tmp;
    const std::string f32 = tmp.file("f32.gguf");
    exportTo(modelDir, "", f32, gguf::TensorType::F32);
    std::vector<std::vector<int64_t>> prompts, expect;
    for (const auto& g : greedy) {
        prompts.push_back(g.at("prompt_ids").get<std::vector<int64_t>>());
        expect.push_back(g.at("ids").get<std::vector<int64_t>>());
    }
    json job = {{"model", f32}, {"prompts", prompts}, {"steps", expect.at(0).size()}};
    if (contextSize > 0) job["contextSize"] = contextSize;
    json r = runLlama(job, tmp, "summary");
    if (r.is_null()) return;
    auto loaded = loadModel(modelDir);
    const auto gen = toIds(r["generated"]);
    ASSERT_EQ(gen.size(), prompts.size());
    int agree = 0, total = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
        EXPECT_EQ(gen[i], expect[i]) << tag << ": llama.cpp's greedy tokens differ from the reference's, prompt " << i;
        Greedy g = checkAlong(*loaded.model, prompts[i], gen[i]);
        EXPECT_EQ(g.agree + g.ties, g.total) << tag << " prompt " << i << ": " << g.firstMismatch;
        for (size_t k = 0; k < std::min(gen[i].size(), expect[i].size()); ++k) agree += gen[i][k] == expect[i][k];
        total += static_cast<int>(expect[i].size());
    }
    std::printf("llama.cpp vs reference greedy %s: %d/%d tokens\n", tag.c_str(), agree, total);
}

// q8Floor: the shared tiny-qwen3 and tiny-phi3 are random models whose weights are O(1) (Q8_0 steps
// of ~0.008), and llama.cpp's Q8_0 matmuls quantise the activations to 8 bits too, so Q8_0 noise
// is as large as their logit margins. Measured (llama.cpp 3.21.1's CPU build, exact attention):
// tiny-qwen3 91/96 (0.948; our top-2 margins at the 5 differing steps 0.011-0.049, median margin
// 0.45), tiny-phi3 80/96 (0.833; 16 differing steps at margins 0.023-0.64, median margin 0.58).
// The Q8_0 file itself is right: each tensor dequantised lies within 0.54 of a quantisation step
// of the F32 export's (0.5 rounding + the fp16 scale), and F32 is token for token, F16 >= 0.98.
// So these two get a floor below 0.95, a little under the measured rate; every other model 0.95.
void runFamilyFixture(const std::string& name, double q8Floor = 0.95) {
    test::TempDir tmp;
    const std::string dir = test::fixture(name + "/base");
    ModelCase mc{name,
                 dir,
                 test::fixture("tokenizers/bytelevel/tokenizer_cases.json"),
                 true,
                 {makeRandomLora(dir, tmp, name + "-lora-all-r4")}};
    mc.q8Floor = q8Floor;
    runModelCase(mc);
    expectSummaryGreedy(dir, readJsonFile(test::fixture(name + "/summary.json"))["greedy"], name);
}

TEST(GgufLlamaCpp, TinyQwen3) { runFamilyFixture("tiny-qwen3", 0.93); }
TEST(GgufLlamaCpp, TinyGemma3) { runFamilyFixture("tiny-gemma3"); }
TEST(GgufLlamaCpp, TinyPhi3) { runFamilyFixture("tiny-phi3", 0.80); }

// Our own tiny models (tests/golden/families, made by make_tiny_families.py): the folder in the
// source tree has config.json and weights; the shared bytelevel tokenizer is linked in beside them.
std::string ownModelFolder(const test::TempDir& tmp, const std::string& name) {
    const fs::path src = fs::path(sourceDir()) / "tests/golden/families" / name;
    const fs::path dir = tmp.file(name);
    fs::create_directories(dir);
    for (const char* f : {"config.json", "model.safetensors"}) fs::create_symlink(fs::absolute(src / f), dir / f);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
        fs::create_symlink(fs::absolute(test::fixture(std::string("tiny-qwen3/base/") + f)), dir / f);
    return dir.string();
}

json ownSummary(const std::string& name) {
    return readJsonFile(sourceDir() + "/tests/golden/families/" + name + "/summary.json")["greedy"];
}

// qwen3 with output.weight (untied lm_head).
TEST(GgufLlamaCpp, OwnQwen3Untied) {
    test::TempDir tmp;
    const std::string dir = ownModelFolder(tmp, "qwen3-untied");
    expectSummaryGreedy(dir, ownSummary("qwen3-untied")["default"], "qwen3-untied");
    // A LoRA merged, and as a llama.cpp adapter, on the untied model too.
    runModelCase({"qwen3-untied",
                  dir,
                  test::fixture("tokenizers/bytelevel/tokenizer_cases.json"),
                  true,
                  {makeRandomLora(dir, tmp, "qwen3-untied-lora")}});
}

// gemma3 with rope.scaling.type linear, rope.scaling.factor 8: llama.cpp scales the global layer
// only (its sliding layers take rope_freq_scale_train_swa = 1), as transformers does.
TEST(GgufLlamaCpp, OwnGemma3GlobalRopeScaling) {
    test::TempDir tmp;
    expectSummaryGreedy(ownModelFolder(tmp, "gemma3-rope-linear"), ownSummary("gemma3-rope-linear")["default"],
                        "gemma3-rope-linear");
}

// phi3 longrope. llama.cpp picks the long factors when its context exceeds
// rope.scaling.original_context_length (256), transformers when the sequence does. llama.cpp pads
// the context to a multiple of 256 (a context of 32 runs as 256), so the model's original length
// is 256: a context of 256 with sequences that stay within it (short factors), and one of 512 with
// prompts already past 256 (long factors) make the two choose alike.
TEST(GgufLlamaCpp, OwnPhi3Longrope) {
    test::TempDir tmp;
    const std::string dir = ownModelFolder(tmp, "phi3-longrope");
    const json s = ownSummary("phi3-longrope");
    expectSummaryGreedy(dir, s["short"], "phi3-longrope short factors", 256);
    expectSummaryGreedy(dir, s["long"], "phi3-longrope long factors", 512);
}

TEST(GgufLlamaCpp, DemoModel) {
    test::TempDir tmp;
    const std::string base = sourceDir() + "/resources/demo/model", strong = makeRandomLora(tmp, base, "demo-lora");
    runModelCase({"demo", base, test::fixture("tokenizers/bytelevel/tokenizer_cases.json"), false, {strong}, strong});
}

// DoRA and (IA)3 merge into the weights; the merged GGUF follows our unmerged adapted model.
TEST(GgufLlamaCpp, MergedDoraAndIa3) {
    test::TempDir tmp;
    const std::string base = test::fixture("tiny-llama/base");
    auto tok = Tokenizer::load(base);
    std::vector<std::vector<int64_t>> prompts;
    for (const auto& t : promptsFor("tiny-llama")) prompts.push_back(tok->encode(t, true));
    for (const char* name : {"dora-qv-r4", "ia3"}) {
        const std::string adapter = test::fixture(std::string("tiny-llama/adapters/") + name);
        const std::string out = tmp.file(std::string(name) + ".gguf");
        exportTo(base, adapter, out, gguf::TensorType::F32);
        json r = runLlama({{"model", out}, {"prompts", prompts}, {"steps", 32}}, tmp, name);
        if (r.is_null()) return;
        auto loaded = loadModel(base);
        Adapter ad = loadAdapter(*loaded.model, adapter);
        const auto gen = toIds(r["generated"]);
        for (size_t i = 0; i < prompts.size(); ++i) {
            Greedy g = checkAlong(*loaded.model, prompts[i], gen[i]);
            EXPECT_EQ(g.agree + g.ties, g.total) << name << " prompt " << i << ": " << g.firstMismatch;
        }
    }
}

// --- bad input: a clear error naming the problem, a non-zero exit, and no file ---------------

std::string q(const std::string& s) { return "'" + s + "'"; }

void expectRefused(const std::string& args, const std::string& out, const std::vector<std::string>& mentions) {
    test::CliResult r = test::runCli("export-gguf " + args + " --out " + q(out));
    EXPECT_NE(r.rc, 0) << r.out;
    for (const auto& m : mentions)
        EXPECT_NE(r.out.find(m), std::string::npos) << "expected '" << m << "' in: " << r.out;
    EXPECT_FALSE(fs::exists(out)) << out;
    if (fs::is_directory(fs::path(out).parent_path()))
        for (const auto& e : fs::directory_iterator(fs::path(out).parent_path()))
            EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "left behind: " << e.path();
}

// A copy of a model folder (weights linked) with one file replaced or removed.
std::string modelVariant(const test::TempDir& tmp, const std::string& src, const std::string& name,
                         const std::string& file, const std::string* content) {
    const fs::path dir = tmp.file(name);
    fs::create_directories(dir);
    for (const auto& e : fs::directory_iterator(src)) {
        const std::string f = e.path().filename().string();
        if (f == file) continue;
        if (f == "model.safetensors") fs::create_symlink(fs::absolute(e.path()), dir / f);
        else fs::copy_file(e.path(), dir / f);
    }
    if (content) writeFileAtomic((dir / file).string(), *content);
    return dir.string();
}

TEST(GgufExportErrors, EachBadInputIsRefusedWithNoFile) {
    test::TempDir tmp;
    const std::string outDir = tmp.file("out");
    fs::create_directories(outDir);
    const std::string out = outDir + "/x.gguf";

    // An architecture llama.cpp's tables here lack.
    json cfg = readJsonFile(test::fixture("tiny-gpt2/base/config.json"));
    cfg["model_type"] = "gptj";
    const std::string cfgText = cfg.dump(2);
    const std::string unsupported = modelVariant(tmp, test::fixture("tiny-gpt2/base"), "gptj", "config.json", &cfgText);
    expectRefused("--model " + q(unsupported), out, {"gptj", "cannot be exported to GGUF", "gpt2, llama"});

    // A Gemma 3 that llama.cpp's gemma3 cannot express: a global layer where it has a sliding one,
    // and a query scale other than 1/sqrt(head_dim).
    json g3 = readJsonFile(test::fixture("tiny-gemma3/base/config.json"));
    g3["layer_types"][2] = "full_attention";
    std::string g3Text = g3.dump(2);
    const std::string g3Layers =
        modelVariant(tmp, test::fixture("tiny-gemma3/base"), "g3layers", "config.json", &g3Text);
    expectRefused("--model " + q(g3Layers), out, {"layer_types", "layer 2 is global", "every 6th layer"});
    g3 = readJsonFile(test::fixture("tiny-gemma3/base/config.json"));
    g3["query_pre_attn_scalar"] = 24;
    g3Text = g3.dump(2);
    const std::string g3Scale = modelVariant(tmp, test::fixture("tiny-gemma3/base"), "g3scale", "config.json", &g3Text);
    expectRefused("--model " + q(g3Scale), out, {"query_pre_attn_scalar", "1/sqrt(head_dim)"});

    // A byte-level BPE whose split regex llama.cpp does not know.
    json tj = readJsonFile(test::fixture("tiny-gpt2/base/tokenizer.json"));
    tj["pre_tokenizer"] = {
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", "\\p{L}+|[^\\p{L}]+"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};
    const std::string tjText = tj.dump();
    const std::string oddRegex = modelVariant(tmp, test::fixture("tiny-gpt2/base"), "regex", "tokenizer.json", &tjText);
    expectRefused("--model " + q(oddRegex), out, {"\\\\p{L}+|[^\\\\p{L}]+", "llama.cpp"});

    // Prompt tuning cannot become a llama.cpp LoRA (nor merge).
    expectRefused("--model " + q(test::fixture("tiny-llama/base")) + " --adapter " +
                      q(test::fixture("tiny-llama/adapters/prompt-tuning-5")) + " --lora-only",
                  out, {"PROMPT_TUNING", "not LoRA"});
    expectRefused("--model " + q(test::fixture("tiny-llama/base")) + " --adapter " +
                      q(test::fixture("tiny-llama/adapters/prompt-tuning-5")),
                  out, {"PROMPT_TUNING", "cannot be merged"});
    // DoRA as a LoRA-only file: points to the merged export.
    expectRefused("--model " + q(test::fixture("tiny-llama/base")) + " --adapter " +
                      q(test::fixture("tiny-llama/adapters/dora-qv-r4")) + " --lora-only",
                  out, {"DoRA", "drop --lora-only"});

    // No tokenizer.json.
    const std::string noTok = modelVariant(tmp, test::fixture("tiny-llama/base"), "notok", "tokenizer.json", nullptr);
    expectRefused("--model " + q(noTok), out, {"tokenizer.json", "not found"});

    // An output folder that cannot be written: read-only for a normal user; for root (who may
    // write anywhere) a path whose "folder" is a file.
    const std::string ro = tmp.file("ro");
    fs::create_directories(ro);
    fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
    const bool root = ::geteuid() == 0;
    const std::string blocked = root ? tmp.file("afile") + "/x.gguf" : ro + "/x.gguf";
    if (root) writeFileAtomic(tmp.file("afile"), "x");
    expectRefused("--model " + q(test::fixture("tiny-llama/base")), blocked,
                  {root ? "does not exist" : "not writable"});
    fs::permissions(ro, fs::perms::owner_all);

    // Unknown type.
    expectRefused("--model " + q(test::fixture("tiny-llama/base")) + " --type q4_k", out,
                  {"q4_k", "f32, f16, bf16 or q8_0"});
}

TEST(GgufExportErrors, ModelfileForLoraAndModel) {
    test::TempDir tmp;
    const std::string demo = sourceDir() + "/resources/demo/model";
    test::CliResult r = test::runCli("export-gguf --model " + q(demo) + " --out " + q(tmp.file("demo.gguf")) +
                                     " --type q8_0 --modelfile --quiet");
    ASSERT_EQ(r.rc, 0) << r.out;
    const std::string mf = readFile(tmp.file("Modelfile"));
    EXPECT_NE(mf.find("FROM ./demo.gguf\n"), std::string::npos) << mf;
    EXPECT_NE(mf.find("TEMPLATE \"\"\"{{- range .Messages }}<|im_start|>{{ .Role }}\n"), std::string::npos) << mf;
    EXPECT_NE(mf.find("PARAMETER stop \"<|im_end|>\""), std::string::npos) << mf;
    EXPECT_EQ(mf.find("ADAPTER"), std::string::npos) << mf;
    test::TempDir tmp2;
    r = test::runCli("export-gguf --model " + q(test::fixture("tiny-llama/base")) + " --adapter " +
                     q(test::fixture("tiny-llama/adapters/lora-qv-r4")) +
                     " --lora-only --modelfile --from ./base.gguf --out " + q(tmp2.file("lora.gguf")));
    ASSERT_EQ(r.rc, 0) << r.out;
    const std::string mf2 = readFile(tmp2.file("Modelfile"));
    EXPECT_NE(mf2.find("FROM ./base.gguf\nADAPTER ./lora.gguf\n"), std::string::npos) << mf2;
    EXPECT_NE(mf2.find("PARAMETER stop \"</s>\""), std::string::npos) << mf2;
}

}  // namespace
