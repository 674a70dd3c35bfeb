// The GGUF format writer (layout read back byte by byte), fp16/bf16 rounding against LibTorch's
// conversions, and the Q8_0 quantiser against blocks computed by hand from ggml's reference
// (d = amax/127 as fp16, q = roundf(x * (1/d))).
#include <torch/torch.h>

#include <cstring>
#include <filesystem>

#include "core/export/gguf_arch.h"
#include "core/export/gguf_quant.h"
#include "core/export/gguf_tokenizer.h"
#include "core/export/gguf_writer.h"
#include "core/export/ollama_modelfile.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;
using namespace peft::gguf;
namespace fs = std::filesystem;

namespace {

// GGUF bytes written by hand from the format's description: little-endian numbers, a string as
// its u64 length and its bytes.
struct Le {
    std::string bytes;
    template <typename T>
    Le& num(T v) {
        bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
        return *this;
    }
    Le& str(const std::string& s) {
        num<uint64_t>(s.size());
        bytes += s;
        return *this;
    }
};

TEST(GgufQuant, Q8_0BlocksComputedByHand) {
    // Block 1: x = j - 16. amax 16, d = 16/127 = 0.125984..., as fp16 0x3008 (0.1259765625);
    // 1/d = 7.9375 in float, so q = roundf((j-16) * 7.9375).
    // Block 2: amax 127 -> d = 1 (0x3C00); halves round away from zero as roundf does
    // (0.5 -> 1, -0.5 -> -1, 2.5 -> 3), where round-half-even would give 0, 0, 2.
    // Block 3: all zero -> d = 0 and q = 0.
    std::vector<float> x(96, 0.0f);
    for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j - 16);
    x[32] = 127.0f;
    x[33] = 0.5f;
    x[34] = -0.5f;
    x[35] = 2.5f;
    x[36] = -2.5f;
    x[37] = 1.49f;
    x[38] = -127.0f;
    std::vector<uint8_t> out(3 * 34);
    quantizeQ8_0(x.data(), 96, out.data());
    uint16_t d0, d1, d2;
    std::memcpy(&d0, &out[0], 2);
    std::memcpy(&d1, &out[34], 2);
    std::memcpy(&d2, &out[68], 2);
    EXPECT_EQ(d0, 0x3008);
    EXPECT_EQ(d1, 0x3C00);
    EXPECT_EQ(d2, 0x0000);
    const int8_t* q0 = reinterpret_cast<const int8_t*>(&out[2]);
    const int expected0[32] = {-127, -119, -111, -103, -95, -87, -79, -71, -64, -56, -48, -40, -32, -24, -16, -8,
                               0,    8,    16,   24,   32,  40,  48,  56,  64,  71,  79,  87,  95,  103, 111, 119};
    for (int j = 0; j < 32; ++j) EXPECT_EQ(q0[j], expected0[j]) << j;
    const int8_t* q1 = reinterpret_cast<const int8_t*>(&out[36]);
    const int expected1[7] = {127, 1, -1, 3, -3, 1, -127};
    for (int j = 0; j < 7; ++j) EXPECT_EQ(q1[j], expected1[j]) << j;
    for (int j = 7; j < 32; ++j) EXPECT_EQ(q1[j], 0);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(out[70 + j], 0);
}

TEST(GgufQuant, Fp16AndBf16RoundLikeLibTorch) {
    torch::manual_seed(1);
    // Normal range, subnormal halves, values near the fp16 maximum, and exact ties.
    std::vector<torch::Tensor> parts = {
        torch::randn({20000}), torch::randn({20000}) * 1e-6, torch::randn({20000}) * 1e-8, torch::randn({2000}) * 30000,
        torch::tensor({65504.f, 65519.f, 65520.f, 1e9f, -1e9f, 0.f, -0.f, 5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f,
                       1.0009765625f + 0.00048828125f, 1.00048828125f, 6.103515625e-05f})};
    torch::Tensor x = torch::cat(parts);
    torch::Tensor h = x.to(torch::kHalf), b = x.to(torch::kBFloat16);
    const float* xp = x.data_ptr<float>();
    const uint16_t* hp = reinterpret_cast<const uint16_t*>(h.data_ptr<at::Half>());
    const uint16_t* bp = reinterpret_cast<const uint16_t*>(b.data_ptr<at::BFloat16>());
    int64_t badH = 0, badB = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
        if (fp32ToFp16(xp[i]) != hp[i] && badH++ < 5) ADD_FAILURE() << "fp16 of " << xp[i];
        if (fp32ToBf16(xp[i]) != bp[i] && badB++ < 5) ADD_FAILURE() << "bf16 of " << xp[i];
        const float hf = static_cast<float>(c10::Half(hp[i], c10::Half::from_bits()));
        if (std::isfinite(hf) && fp16ToFp32(hp[i]) != hf && badH++ < 5) ADD_FAILURE() << "fp16 back of " << xp[i];
    }
    EXPECT_EQ(badH, 0);
    EXPECT_EQ(badB, 0);
}

TEST(GgufWriter, LayoutReadsBack) {
    Writer w;
    w.setString("general.architecture", "llama");
    w.setU32("llama.block_count", 2);
    w.setF32("llama.rope.freq_base", 10000.0f);
    w.setBool("tokenizer.ggml.add_bos_token", true);
    w.setStringArray("tokenizer.ggml.tokens", {"a", "bc", ""});
    w.setI32Array("tokenizer.ggml.token_type", {1, 3, 6});
    EXPECT_THROW(w.setU32("llama.block_count", 3), PeftError);  // a key set twice
    const std::vector<float> t0 = {1, 2, 3};                    // 12 bytes, padded to 32
    std::vector<float> t1(64, 0.5f);                            // [2,32] as q8_0: 2 blocks, 68 bytes
    w.addTensor("a.weight", {3}, TensorType::F32, [&](const ByteSink& s) { s(t0.data(), 12); });
    w.addTensor("b.weight", {32, 2}, TensorType::Q8_0, [&](const ByteSink& s) {
        std::vector<uint8_t> q(68);
        quantizeQ8_0(t1.data(), 64, q.data());
        s(q.data(), 34);
        s(q.data() + 34, 34);
    });
    EXPECT_THROW(w.addTensor("c.weight", {33}, TensorType::Q8_0, nullptr), PeftError);
    test::TempDir dir;
    const std::string path = dir.file("t.gguf");
    std::vector<std::pair<uint64_t, uint64_t>> prog;
    w.write(path, [&](uint64_t d, uint64_t t) { prog.emplace_back(d, t); });
    const std::string s = readFile(path);
    ASSERT_EQ(s.size(), w.fileSize());
    ASSERT_FALSE(prog.empty());
    EXPECT_EQ(prog.back().first, s.size());
    // Header: magic, version 3, 2 tensors, 6 key-values. A key-value is its key, its value type
    // (4 u32, 6 f32, 7 bool, 8 string, 9 array: item type and count) and its value.
    Le want;
    want.bytes = "GGUF";
    want.num<uint32_t>(3).num<uint64_t>(2).num<uint64_t>(6);
    want.str("general.architecture").num<uint32_t>(8).str("llama");
    want.str("llama.block_count").num<uint32_t>(4).num<uint32_t>(2);
    want.str("llama.rope.freq_base").num<uint32_t>(6).num<float>(10000.0f);
    want.str("tokenizer.ggml.add_bos_token").num<uint32_t>(7).num<uint8_t>(1);
    want.str("tokenizer.ggml.tokens").num<uint32_t>(9).num<uint32_t>(8).num<uint64_t>(3).str("a").str("bc").str("");
    want.str("tokenizer.ggml.token_type").num<uint32_t>(9).num<uint32_t>(5).num<uint64_t>(3);
    want.num<int32_t>(1).num<int32_t>(3).num<int32_t>(6);
    // Tensor infos: name, n_dims, ne..., type (0 F32, 8 Q8_0), offset in the data section; a's 12
    // bytes are padded to the 32-byte alignment, so b starts at 32.
    want.str("a.weight").num<uint32_t>(1).num<uint64_t>(3).num<uint32_t>(0).num<uint64_t>(0);
    want.str("b.weight").num<uint32_t>(2).num<uint64_t>(32).num<uint64_t>(2).num<uint32_t>(8).num<uint64_t>(32);
    ASSERT_EQ(s.substr(0, want.bytes.size()), want.bytes);
    const size_t at = want.bytes.size();
    const size_t data = (at + 31) / 32 * 32;
    for (size_t i = at; i < data; ++i) EXPECT_EQ(s[i], '\0');
    float back[3];
    std::memcpy(back, s.data() + data, 12);
    EXPECT_EQ(back[2], 3.0f);
    uint16_t d;
    std::memcpy(&d, s.data() + data + 32, 2);
    EXPECT_EQ(fp16ToFp32(d), fp16ToFp32(fp32ToFp16(0.5f / 127.0f)));
    EXPECT_EQ(static_cast<int8_t>(s[data + 32 + 2]), 127);
    EXPECT_EQ(s.size(), data + 32 + 96);  // 68 bytes padded to 96
}

TEST(GgufWriter, CancelAndShortTensorLeaveNoFile) {
    test::TempDir dir;
    std::atomic<bool> cancel{true};
    Writer w;
    std::vector<float> v(8, 1.0f);
    w.addTensor("x", {8}, TensorType::F32, [&](const ByteSink& s) { s(v.data(), 32); });
    EXPECT_THROW(w.write(dir.file("c.gguf"), {}, &cancel), PeftError);
    Writer shortW;
    shortW.addTensor("x", {8}, TensorType::F32, [&](const ByteSink& s) { s(v.data(), 16); });
    EXPECT_THROW(shortW.write(dir.file("s.gguf")), PeftError);
    EXPECT_TRUE(fs::is_empty(dir.path()));  // neither the file nor a temporary is left
}

TEST(GgufNames, RoutesAndPermutations) {
    const ArchNames* llama = findArchNames("mistral");
    ASSERT_NE(llama, nullptr);
    EXPECT_EQ(llama->arch, "llama");
    TensorRoute q = routeTensor(*llama, "model.layers.12.self_attn.q_proj.weight");
    EXPECT_EQ(q.name, "blk.12.attn_q.weight");
    EXPECT_TRUE(q.permuteQ);
    EXPECT_TRUE(routeTensor(*llama, "model.layers.0.self_attn.k_proj.weight").permuteK);
    EXPECT_EQ(routeTensor(*llama, "lm_head.weight").name, "output.weight");
    EXPECT_EQ(routeTensor(*llama, "model.layers.x.mlp.up_proj.weight").name, "");
    const ArchNames* qwen = findArchNames("qwen2");
    ASSERT_NE(qwen, nullptr);
    TensorRoute qb = routeTensor(*qwen, "model.layers.1.self_attn.q_proj.bias");
    EXPECT_EQ(qb.name, "blk.1.attn_q.bias");
    EXPECT_FALSE(qb.permuteQ);  // NEOX RoPE in llama.cpp: HF row order
    const ArchNames* gpt2 = findArchNames("gpt2");
    ASSERT_NE(gpt2, nullptr);
    TensorRoute c = routeTensor(*gpt2, "transformer.h.0.attn.c_attn.weight");
    EXPECT_EQ(c.name, "blk.0.attn_qkv.weight");
    EXPECT_TRUE(c.transpose);
    EXPECT_FALSE(routeTensor(*gpt2, "transformer.h.0.attn.c_attn.bias").transpose);
    EXPECT_EQ(findArchNames("bert"), nullptr);
}

// Qwen3, Gemma 3 and Phi-3 under llama.cpp's names (llama-arch.cpp): NEOX RoPE (no permutation),
// Gemma's (1+w) norms written as w+1 (its projections untouched), Phi-3's fused tensors kept whole.
TEST(GgufNames, Qwen3Gemma3Phi3) {
    const ArchNames* qwen3 = findArchNames("qwen3");
    ASSERT_NE(qwen3, nullptr);
    EXPECT_EQ(qwen3->arch, "qwen3");
    EXPECT_EQ(routeTensor(*qwen3, "model.layers.2.self_attn.k_norm.weight").name, "blk.2.attn_k_norm.weight");
    EXPECT_FALSE(routeTensor(*qwen3, "model.layers.2.self_attn.k_norm.weight").plusOne);
    EXPECT_FALSE(routeTensor(*qwen3, "model.layers.0.self_attn.q_proj.weight").permuteQ);
    const ArchNames* gemma = findArchNames("gemma3_text");
    ASSERT_NE(gemma, nullptr);
    EXPECT_EQ(gemma->arch, "gemma3");
    for (const auto& [hf, gg] : std::vector<std::pair<std::string, std::string>>{
             {"model.layers.3.post_attention_layernorm.weight", "blk.3.post_attention_norm.weight"},
             {"model.layers.3.pre_feedforward_layernorm.weight", "blk.3.ffn_norm.weight"},
             {"model.layers.3.post_feedforward_layernorm.weight", "blk.3.post_ffw_norm.weight"},
             {"model.layers.3.self_attn.q_norm.weight", "blk.3.attn_q_norm.weight"},
             {"model.layers.3.input_layernorm.weight", "blk.3.attn_norm.weight"},
             {"model.norm.weight", "output_norm.weight"}}) {
        const TensorRoute r = routeTensor(*gemma, hf);
        EXPECT_EQ(r.name, gg);
        EXPECT_TRUE(r.plusOne) << hf;
    }
    EXPECT_FALSE(routeTensor(*gemma, "model.layers.0.mlp.gate_proj.weight").plusOne);
    EXPECT_FALSE(routeTensor(*gemma, "model.embed_tokens.weight").plusOne);
    const ArchNames* phi3 = findArchNames("phi3");
    ASSERT_NE(phi3, nullptr);
    EXPECT_EQ(phi3->arch, "phi3");
    EXPECT_EQ(routeTensor(*phi3, "model.layers.1.self_attn.qkv_proj.weight").name, "blk.1.attn_qkv.weight");
    EXPECT_EQ(routeTensor(*phi3, "model.layers.1.mlp.gate_up_proj.weight").name, "blk.1.ffn_up.weight");
    EXPECT_EQ(routeTensor(*phi3, "model.layers.1.post_attention_layernorm.weight").name, "blk.1.ffn_norm.weight");
}

TEST(GgufTokenizer, PreTokenizerRegexes) {
    EXPECT_EQ(
        preTokenizerForRegex(
            R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
            "t"),
        "llama-bpe");
    EXPECT_EQ(
        preTokenizerForRegex(
            R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
            "t"),
        "qwen2");
    try {
        preTokenizerForRegex(R"(\p{L}+|\p{N})", "tok.json");
        ADD_FAILURE() << "no error";
    } catch (const PeftError& e) {
        EXPECT_NE(std::string(e.what()).find(R"(\\p{L}+|\\p{N})"), std::string::npos) << e.what();
    }
}

}  // namespace

// --- Ollama Modelfile TEMPLATEs, rendered by Go's text/template as Ollama renders them ----------

namespace {

std::string shellQuote(const std::string& s) { return "'" + s + "'"; }

// Builds tests/ollama/render_template.go once per test process; empty when Go is missing.
std::string goRenderer(const test::TempDir& tmp) {
    const std::string bin = tmp.file("render_template");
    const std::string home = std::getenv("HOME") ? std::getenv("HOME") : tmp.path();
    const std::string cmd = "GOCACHE=\"${GOCACHE:-" + home + "/.cache/go-build}\" go build -o " + shellQuote(bin) +
        " " + shellQuote(test::sourcePath("tests/ollama/render_template.go")) + " 2>&1";
    const test::CliResult build = test::runShell(cmd);
    if (build.rc != 0 || !fs::exists(bin)) {
        ADD_FAILURE() << "could not build the Go template renderer (Debian's golang-go; packaging/setup-deps.sh "
                         "installs it):\n"
                      << build.out;
        return {};
    }
    return bin;
}

std::string goRender(const std::string& bin, const test::TempDir& tmp, const std::string& tmpl,
                     const std::vector<data::ChatMessage>& msgs) {
    nlohmann::json job = {{"template", tmpl}, {"messages", nlohmann::json::array()}};
    for (const auto& m : msgs) job["messages"].push_back({{"role", m.role}, {"content", m.content}});
    const std::string in = tmp.file("job.json"), out = tmp.file("out.txt");
    writeFileAtomic(in, job.dump());
    const int rc = std::system((shellQuote(bin) + " < " + shellQuote(in) + " > " + shellQuote(out)).c_str());
    EXPECT_EQ(rc, 0) << "render_template failed on: " << tmpl;
    return readFile(out);
}

}  // namespace

// For each built-in chat template, the Modelfile's Go TEMPLATE must render in Ollama what the Jinja
// original renders in transformers (our renderChat equals apply_chat_template, tested elsewhere).
// Where the GGUF says llama.cpp adds BOS itself, Ollama's text plus that BOS must equal the Jinja
// text, which writes the BOS: otherwise the model would see it twice (or never).
TEST(OllamaModelfile, GoTemplatesRenderAsTheJinjaOriginals) {
    test::TempDir tmp;
    const std::string bin = goRenderer(tmp);
    if (bin.empty()) return;
    const std::vector<std::vector<data::ChatMessage>> convs = {
        {{"user", "Which book tells of the flood?"}},
        {{"system", "Answer with the name of a book."}, {"user", "Which book tells of the flood?"}},
        {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Which book is first?"}},
        {{"user", "Hi"}, {"assistant", "Hello."}, {"user", "And now — ünïcode?"}},
    };
    struct Case {
        data::TemplateKind kind;
        bool addsBos;
    };
    for (const Case c : {Case{data::TemplateKind::ChatMl, false}, Case{data::TemplateKind::Zephyr, false},
                         Case{data::TemplateKind::Llama3, true}, Case{data::TemplateKind::Llama3, false},
                         Case{data::TemplateKind::Llama2, true}, Case{data::TemplateKind::Llama2, false}}) {
        const data::TemplateTokens toks = data::defaultTemplateTokens(c.kind);
        const std::string tmpl = goChatTemplate(c.kind, c.addsBos);
        ASSERT_FALSE(tmpl.empty()) << data::templateName(c.kind);
        for (const auto& conv : convs) {
            std::string jinja;
            for (const auto& seg : data::renderChat(c.kind, conv, true, toks)) jinja += seg.text;
            const std::string ollama = (c.addsBos ? toks.bos : std::string()) + goRender(bin, tmp, tmpl, conv);
            EXPECT_EQ(ollama, jinja) << data::templateName(c.kind) << (c.addsBos ? " (llama.cpp adds BOS)" : "")
                                     << " with " << conv.size() << " messages";
        }
    }
}
