// Every method's run folder stands on its own: what `train` writes loads with `generate` from its
// own files (the base named by base_model_name_or_path, FULL's tokenizer beside its weights), and
// the saved adapter_config.json has the key set that peft 0.21 writes (the fixture adapters').
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/io/model_config.h"
#include "core/peft/method_spec.h"
#include "core/peft/spec_util.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace peft;

namespace {

struct RunCase {
    std::string name;
    json method;
    std::string fixtureAdapter;  // tiny-llama/adapters/<this>, empty for our own methods
};

std::vector<RunCase> runCases() {
    return {{"Lora",
             {{"peft_type", "LORA"}, {"r", 4}, {"lora_alpha", 8}, {"target_modules", {"q_proj", "v_proj"}}},
             "lora-qv-r4"},
            {"Ia3",
             {{"peft_type", "IA3"},
              {"target_modules", {"k_proj", "v_proj", "down_proj"}},
              {"feedforward_modules", {"down_proj"}}},
             "ia3"},
            {"PromptTuning", {{"peft_type", "PROMPT_TUNING"}, {"num_virtual_tokens", 5}}, "prompt-tuning-5"},
            {"PrefixTuning", {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 5}}, "prefix-tuning-5"},
            {"Bottleneck", {{"peft_type", "BOTTLENECK_ADAPTER"}, {"reduction_factor", 4}}, ""},
            {"BitFit", {{"peft_type", "BITFIT"}, {"train_norms", true}}, ""},
            {"Full", {{"peft_type", "FULL"}}, ""}};
}

std::string baseModel() { return fs::absolute(test::fixture("tiny-llama/base")).lexically_normal().string(); }

std::set<std::string> keySet(const json& j) {
    std::set<std::string> k;
    for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
    return k;
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Trains `method` for two steps on a small text dataset with the CLI; returns the run folder.
std::string trainRun(const test::TempDir& tmp, const json& method) {
    {
        std::ofstream data(tmp.file("data.jsonl"));
        const char* lines[] = {"the adapter learns a low rank update", "and the run folder keeps what it needs",
                               "a tokenizer beside the weights", "so generate loads it by itself"};
        for (int i = 0; i < 8; ++i) data << json{{"text", lines[i % 4]}}.dump() << "\n";
    }
    const json cfg = {
        {"model", baseModel()},
        {"dataset",
         {{"path", tmp.file("data.jsonl")}, {"format", "text"}, {"max_length", 32}, {"validation_split", 0.0}}},
        {"method", method},
        {"training",
         {{"max_steps", 2},
          {"batch_size", 2},
          {"lr", 1e-2},
          {"precision", "fp32"},
          {"device", "cpu"},
          {"eval_every", 0},
          {"save_every", 0},
          {"seed", 3}}},
        {"output_dir", tmp.file("run")}};
    std::ofstream(tmp.file("run.json")) << cfg.dump(2);
    auto r = test::runCli("train --quiet --config " + quoted(tmp.file("run.json")));
    EXPECT_EQ(r.rc, 0) << r.out;
    return tmp.file("run");
}

test::CliResult generate(const std::string& args) {
    return test::runCli("generate --greedy --max-new-tokens 6 --prompt 'the adapter' " + args, false);
}

class RunFolder : public testing::TestWithParam<RunCase> {};

}  // namespace

TEST_P(RunFolder, LoadsByItselfWithPeftsKeys) {
    const RunCase& c = GetParam();
    test::TempDir tmp;
    const std::string run = trainRun(tmp, c.method);
    const fs::path out = fs::path(run) / "adapter";
    if (c.method["peft_type"] == "FULL") {
        // A whole model folder: weights, config, and the base's tokenizer and generation files.
        for (const char* f :
             {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
            EXPECT_TRUE(fs::exists(out / f)) << f << " missing from " << out;
        auto g = generate("--model " + quoted(out.string()));
        EXPECT_EQ(g.rc, 0) << g.out;
        EXPECT_NE(g.out.find("the adapter"), std::string::npos) << g.out;
        return;
    }
    const json cfg = readJsonFile((out / "adapter_config.json").string());
    EXPECT_EQ(cfg["base_model_name_or_path"], baseModel());
    EXPECT_EQ(cfg["peft_version"], kPeftVersion);
    EXPECT_EQ(cfg["inference_mode"], true);
    if (!c.fixtureAdapter.empty()) {
        const json ref =
            readJsonFile(test::fixture("tiny-llama/adapters/" + c.fixtureAdapter + "/adapter_config.json"));
        EXPECT_EQ(keySet(cfg), keySet(ref)) << cfg.dump(1);
    } else {
        // Our own methods: the common peft fields and every field of the method, nothing else.
        std::set<std::string> want = keySet(spec::commonPeftDefaults());
        for (const auto& k : keySet(methodSpec(cfg["peft_type"]).defaults())) want.insert(k);
        EXPECT_EQ(keySet(cfg), want) << cfg.dump(1);
    }
    // The adapter alone finds its base, and gives what the base named explicitly gives.
    auto alone = generate("--adapter " + quoted(out.string()));
    ASSERT_EQ(alone.rc, 0) << alone.out;
    auto named = generate("--model " + quoted(baseModel()) + " --adapter " + quoted(out.string()));
    ASSERT_EQ(named.rc, 0) << named.out;
    EXPECT_EQ(alone.out, named.out);
}

INSTANTIATE_TEST_SUITE_P(EveryMethod, RunFolder, testing::ValuesIn(runCases()),
                         [](const testing::TestParamInfo<RunCase>& i) { return i.param.name; });

TEST(RunFolder, InitFromKeepsFieldsWeDoNotRead) {
    test::TempDir tmp;
    const std::string src = test::fixture("tiny-llama/adapters/lora-qv-r4");
    fs::create_directories(tmp.file("init"));
    fs::copy_file(src + "/adapter_model.safetensors", tmp.file("init/adapter_model.safetensors"));
    json init = readJsonFile(src + "/adapter_config.json");
    // Fields peft writes that PEFT Studio never reads, set away from peft's defaults.
    init["megatron_core"] = "my.megatron.core";
    init["qalora_group_size"] = 32;
    init["revision"] = "v1";
    init["eva_config"] = {{"rho", 2.0}, {"tau", 0.99}};
    std::ofstream(tmp.file("init/adapter_config.json")) << init.dump(2);
    const std::string run = trainRun(tmp, {{"peft_type", "LORA"}, {"init_from", tmp.file("init")}});
    const json cfg = readJsonFile(run + "/adapter/adapter_config.json");
    EXPECT_EQ(cfg["megatron_core"], "my.megatron.core");
    EXPECT_EQ(cfg["qalora_group_size"], 32);
    EXPECT_EQ(cfg["revision"], "v1");
    EXPECT_EQ(cfg["eva_config"], init["eva_config"]);
    EXPECT_EQ(cfg["r"], 4);
    EXPECT_EQ(keySet(cfg), keySet(init));
    // The run's base, not the init adapter's relative "../../base".
    EXPECT_EQ(cfg["base_model_name_or_path"], baseModel());
}

TEST(RunFolder, FixtureAdapterFindsItsBaseBesideItself) {
    // The fixture names its base "../../base", relative to the adapter folder, not to the working
    // directory: `generate --adapter` alone resolves it there and matches the explicit base.
    const std::string adapter = test::fixture("tiny-llama/adapters/lora-qv-r4");
    auto alone = generate("--adapter " + quoted(adapter));
    ASSERT_EQ(alone.rc, 0) << alone.out;
    auto named = generate("--model " + quoted(test::fixture("tiny-llama/base")) + " --adapter " + quoted(adapter));
    ASSERT_EQ(named.rc, 0) << named.out;
    EXPECT_EQ(alone.out, named.out);
}

TEST(RunFolder, AdapterWithoutBaseIsAClearError) {
    test::TempDir tmp;
    json cfg = readJsonFile(test::fixture("tiny-llama/adapters/lora-qv-r4/adapter_config.json"));
    cfg.erase("base_model_name_or_path");
    std::ofstream(tmp.file("adapter_config.json")) << cfg.dump(2);
    auto r = test::runCli("generate --prompt hi --adapter " + quoted(tmp.path()));
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("base_model_name_or_path"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--model"), std::string::npos) << r.out;
}
