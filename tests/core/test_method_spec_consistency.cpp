// The config side (MethodSpec: counts from config.json alone) and the torch side (Method: real
// modules) must agree for every method: same trainable count, same saved keys and shapes. This
// is what keeps the budget page honest when a method changes.
#include <cmath>
#include <set>

#include "core/io/model_config.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/peft/lora/lora_spec.h"
#include "core/peft/method_spec.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;
using nlohmann::json;

namespace {

void checkAgreement(const std::string& base, json cfg) {
    SCOPED_TRACE(base + " " + cfg.dump());
    auto lm = loadModel(test::fixture(base));
    ModelConfig mc = ModelConfig::load(test::fixture(base));
    const MethodSpec& spec = methodSpec(cfg["peft_type"].get<std::string>());
    ParamReport report = spec.count(mc, cfg);
    Adapter a = attachAdapter(*lm.model, cfg);
    int64_t trainable = 0;
    for (const auto& [n, t] : a.method->trainable()) trainable += t.numel();
    EXPECT_EQ(trainable, report.trainable);

    std::map<std::string, std::vector<int64_t>> saved, predicted;
    for (const auto& [n, t] : a.method->saveState()) saved[n] = t.sizes().vec();
    for (const auto& s : spec.savedTensors(mc, cfg)) predicted[s.key] = s.shape;
    EXPECT_EQ(saved.size(), predicted.size());
    for (const auto& [k, shape] : saved) {
        auto it = predicted.find(k);
        if (it == predicted.end()) {
            ADD_FAILURE() << "saved by the method but not predicted by the spec: " << k;
            continue;
        }
        EXPECT_EQ(shape, it->second) << k;
    }
    for (const auto& [k, shape] : predicted)
        if (!saved.count(k)) ADD_FAILURE() << "predicted by the spec but not saved by the method: " << k;
}

}  // namespace

TEST(MethodSpecConsistency, Lora) {
    checkAgreement("tiny-llama/base",
                   {{"peft_type", "LORA"}, {"r", 4}, {"lora_alpha", 8}, {"target_modules", {"q_proj", "v_proj"}}});
    checkAgreement(
        "tiny-gpt2/base",
        {{"peft_type", "LORA"}, {"r", 8}, {"target_modules", {"c_attn", "c_proj", "c_fc"}}, {"fan_in_fan_out", true}});
    checkAgreement("tiny-llama/base",
                   {{"peft_type", "LORA"}, {"r", 4}, {"target_modules", "all-linear"}, {"use_dora", true}});
    checkAgreement("tiny-llama/base",
                   {{"peft_type", "LORA"},
                    {"r", 4},
                    {"target_modules", {"q_proj"}},
                    {"rank_pattern", {{"layers.1.self_attn.q_proj", 2}}},
                    {"layers_to_transform", {1}}});
}

TEST(MethodSpecConsistency, Ia3) {
    checkAgreement("tiny-llama/base",
                   {{"peft_type", "IA3"},
                    {"target_modules", {"k_proj", "v_proj", "down_proj"}},
                    {"feedforward_modules", {"down_proj"}}});
    checkAgreement("tiny-gpt2/base",
                   {{"peft_type", "IA3"},
                    {"target_modules", {"c_attn", "mlp.c_proj"}},
                    {"feedforward_modules", {"mlp.c_proj"}},
                    {"fan_in_fan_out", true}});
}

TEST(MethodSpecConsistency, PromptAndPrefix) {
    checkAgreement("tiny-llama/base", {{"peft_type", "PROMPT_TUNING"}, {"num_virtual_tokens", 5}});
    checkAgreement("tiny-llama/base", {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 5}});
    checkAgreement("tiny-gpt2/base",
                   {{"peft_type", "PREFIX_TUNING"},
                    {"num_virtual_tokens", 5},
                    {"prefix_projection", true},
                    {"encoder_hidden_size", 32}});
}

TEST(MethodSpecConsistency, BottleneckBitfitFull) {
    checkAgreement("tiny-llama/base",
                   {{"peft_type", "BOTTLENECK_ADAPTER"}, {"architecture", "houlsby"}, {"reduction_factor", 8}});
    checkAgreement("tiny-gpt2/base",
                   {{"peft_type", "BOTTLENECK_ADAPTER"}, {"architecture", "pfeiffer"}, {"bottleneck_size", 12}});
    checkAgreement("tiny-gpt2/base", {{"peft_type", "BITFIT"}});
    checkAgreement("tiny-llama/base", {{"peft_type", "BITFIT"}, {"train_norms", true}});
    checkAgreement("tiny-gpt2/base", {{"peft_type", "FULL"}});
}

// LoRA's config is read once (LoraConfig::parse): the spec's defaults fill what is missing, and
// the checks that once lived in lora.cpp too are the spec's, with the key in the message.
TEST(MethodSpecConsistency, LoraConfigReadOnce) {
    const LoraConfig c =
        LoraConfig::parse({{"peft_type", "LORA"}, {"r", 4}, {"alpha_pattern", {{"v_proj", 16}}}}, "cfg");
    const json d = methodSpec("LORA").defaults();
    EXPECT_EQ(c.alpha, d["lora_alpha"].get<double>());
    EXPECT_EQ(c.dropout, d["lora_dropout"].get<double>());
    EXPECT_EQ(c.bias, d["bias"].get<std::string>());
    EXPECT_DOUBLE_EQ(c.scaling("model.layers.0.self_attn.q_proj"), d["lora_alpha"].get<double>() / 4.0);
    EXPECT_DOUBLE_EQ(c.scaling("model.layers.0.self_attn.v_proj"), 16.0 / 4.0);
    const LoraConfig rs =
        LoraConfig::parse({{"peft_type", "LORA"}, {"r", 16}, {"lora_alpha", 8}, {"use_rslora", true}}, "cfg");
    EXPECT_DOUBLE_EQ(rs.scaling("x"), 8.0 / 4.0);
    auto expectError = [](const json& cfg, const std::string& needle) {
        try {
            LoraConfig::parse(cfg, "my.json");
            ADD_FAILURE() << "accepted " << cfg.dump();
        } catch (const PeftError& e) {
            EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("my.json"), std::string::npos) << e.what();
        }
    };
    expectError({{"peft_type", "LORA"}, {"rank_pattern", {{"q_proj", 0.5}}}}, "rank_pattern");
    expectError({{"peft_type", "LORA"}, {"lora_bias", true}, {"use_dora", true}}, "lora_bias");
    expectError({{"peft_type", "LORA"}, {"bias", "some"}}, "bias");
    expectError({{"peft_type", "LORA"}, {"r", 0}}, "'r'");
}

// One definition per method: a spec's field table gives its defaults, help and the type check;
// its cards (what the Method page shows) name only fields of that table, and card ids are unique
// across the registry, since projects store them.
TEST(MethodSpecConsistency, CardsAndFieldsComeFromOneTable) {
    std::set<std::string> ids;
    for (const MethodSpec* spec : allMethodSpecs()) {
        SCOPED_TRACE(spec->peftType());
        const json d = spec->defaults();
        const json help = spec->help();
        for (auto it = help.begin(); it != help.end(); ++it)
            EXPECT_TRUE(d.contains(it.key())) << it.key() << " has help but no default";
        // A key the table does not list fails (BudgetSpecs checks that the defaults pass).
        json unknown = d;
        unknown["no_such_field"] = 1;
        EXPECT_THROW(spec->validate(unknown, "defaults"), PeftError);
        const std::vector<MethodCard> cards = spec->cards();
        ASSERT_FALSE(cards.empty());
        for (const MethodCard& c : cards) {
            EXPECT_TRUE(ids.insert(c.id).second) << "card id used twice: " << c.id;
            EXPECT_FALSE(c.name.empty() || c.summary.empty()) << c.id;
            for (const CardParam& p : c.params) {
                EXPECT_TRUE(d.contains(p.key)) << c.id << ": " << p.key << " is not a field of the spec";
                EXPECT_TRUE(help.contains(p.key)) << c.id << ": " << p.key << " has no help text";
            }
            EXPECT_NO_THROW(spec->validate(spec->withDefaults(c.fixed), "card " + c.id)) << c.id;
            if (c.quantizeBase) EXPECT_TRUE(spec->supportsQuantizedBase()) << c.id;
        }
    }
    EXPECT_GE(ids.size(), 11u);
    // The unknown-key error lists what the method reads, so the fix is in the message itself.
    const std::string e = test::errorOf([] {
        methodSpec("LORA").validate({{"peft_type", "LORA"}, {"lora_alfa", 16}}, "adapter_config.json");
    });
    EXPECT_NE(e.find("unknown key 'lora_alfa'"), std::string::npos) << e;
    EXPECT_NE(e.find("lora_alpha"), std::string::npos) << e;
}

// init_lora_weights as peft reads it: true (A Kaiming-uniform, bound 1/sqrt(in); B zero),
// "gaussian" (A normal with std 1/r; B zero), false (B Kaiming-uniform over its r inputs too);
// an initialisation computed from the weights (pissa, ...) is refused by name.
TEST(MethodSpecConsistency, LoraInitLoraWeights) {
    const int64_t r = 4;
    auto tensorsOf = [&](const json& init) {
        auto lm = loadModel(test::fixture("tiny-llama/base"));
        json cfg = {{"peft_type", "LORA"}, {"r", r}, {"target_modules", {"q_proj"}}, {"init_lora_weights", init}};
        Adapter a = attachAdapter(*lm.model, cfg);
        std::vector<torch::Tensor> as, bs;
        for (const auto& [name, t] : a.method->trainable())
            (name.find("lora_A") != std::string::npos ? as : bs).push_back(t.detach().clone());
        return std::make_pair(torch::cat(as).flatten(), torch::cat(bs).flatten());
    };
    const int64_t in = ModelConfig::load(test::fixture("tiny-llama/base")).hiddenSize;
    {
        auto [A, B] = tensorsOf(true);
        EXPECT_LE(A.abs().max().item<double>(), 1.0 / std::sqrt(static_cast<double>(in)));
        EXPECT_EQ(B.abs().max().item<double>(), 0.0);
    }
    {
        auto [A, B] = tensorsOf("gaussian");
        EXPECT_NEAR(A.std().item<double>(), 1.0 / r, 0.2 / r) << A.numel() << " draws";
        EXPECT_GT(A.abs().max().item<double>(), 1.0 / std::sqrt(static_cast<double>(in))) << "not the uniform default";
        EXPECT_EQ(B.abs().max().item<double>(), 0.0);
    }
    {
        auto [A, B] = tensorsOf(false);
        EXPECT_GT(B.abs().max().item<double>(), 0.0);
        EXPECT_LE(B.abs().max().item<double>(), 1.0 / std::sqrt(static_cast<double>(r)));
    }
    const std::string e = test::errorOf([&] { tensorsOf("pissa"); });
    EXPECT_NE(e.find("init_lora_weights"), std::string::npos) << e;
    EXPECT_NE(e.find("pissa"), std::string::npos) << e;
    EXPECT_NE(e.find("\"gaussian\""), std::string::npos) << e;
}
