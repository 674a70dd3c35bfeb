// config.json parsing and the architecture table: both RoPE forms, errors that name the key,
// and base parameter counts that match transformers exactly.
#include <fstream>

#include "core/io/architecture.h"
#include "core/io/model_config.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;

TEST(ModelConfig, ReadsBothRopeForms) {
    auto a = ModelConfig::load(test::fixture("tiny-llama3-rope/base"));
    auto b = ModelConfig::load(test::fixture("tiny-llama3-rope/base-legacy-config"));
    for (const auto* c : {&a, &b}) {
        EXPECT_EQ(c->rope.type, "llama3");
        EXPECT_DOUBLE_EQ(c->rope.theta, 500000.0);
        EXPECT_DOUBLE_EQ(c->rope.factor, 8.0);
        EXPECT_EQ(c->rope.originalMaxPositions, 16);
        EXPECT_EQ(c->numKvHeads, 1);
        EXPECT_TRUE(c->tieWordEmbeddings);
    }
}

TEST(ModelConfig, Gpt2Fields) {
    auto c = ModelConfig::load(test::fixture("tiny-gpt2/base/config.json"));
    EXPECT_EQ(c.family, Family::Gpt2);
    EXPECT_EQ(c.hiddenSize, 64);
    EXPECT_EQ(c.intermediateSize, 256);
    EXPECT_TRUE(c.tieWordEmbeddings);
}

TEST(ModelConfig, BaseParamCountsMatchTransformers) {
    // total_params of the full fine-tuning rows of param-counts/expected.json
    EXPECT_EQ(baseParamCount(ModelConfig::load(test::fixture("param-counts/gpt2-124m"))), 124439808);
    auto j = readJsonFile(test::fixture("param-counts/expected.json"));
    int checked = 0;
    for (const auto& row : j) {
        if (!row["peft_config"].is_null()) continue;
        auto c = ModelConfig::load(test::fixture("param-counts/" + row["model_config"].get<std::string>()));
        EXPECT_EQ(baseParamCount(c), row["total_params"].get<int64_t>()) << row["model_config"];
        ++checked;
    }
    EXPECT_GE(checked, 3);
}

TEST(ModelConfig, UnsupportedTypeNamesIt) {
    try {
        ModelConfig::fromJson({{"model_type", "bert"}}, "x/config.json");
        FAIL();
    } catch (const PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("bert"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("x/config.json"), std::string::npos);
    }
}

TEST(ModelConfig, MissingKeyIsNamed) {
    try {
        ModelConfig::fromJson({{"model_type", "llama"}, {"vocab_size", 10}}, "c.json");
        FAIL();
    } catch (const PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("hidden_size"), std::string::npos);
    }
}

TEST(ModelConfig, BadJsonNamesLine) {
    test::TempDir d;
    std::ofstream(d.file("config.json")) << "{\n  \"model_type\": \"llama\",\n  oops\n}";
    try {
        ModelConfig::load(d.path());
        FAIL();
    } catch (const PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("config.json:3"), std::string::npos) << e.what();
    }
}
