// Golden tokenizer tests: every case of the HF-generated tokenizer_cases.json fixtures
// (ids with special tokens, decode keeping specials) must match exactly.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/tokenizer/tokenizer.h"
#include "tests/test_util.h"

using nlohmann::json;

namespace {

json readCases(const std::string& dir) {
    std::ifstream f(peft::test::fixture("tokenizers/" + dir + "/tokenizer_cases.json"));
    EXPECT_TRUE(f.good()) << "missing fixture " << dir;
    json j = json::parse(f);
    EXPECT_TRUE(j.is_array());
    EXPECT_GT(j.size(), 0u);
    return j;
}

void checkAllCases(const std::string& dir) {
    auto tok = peft::Tokenizer::load(peft::test::fixture("tokenizers/" + dir));
    json cases = readCases(dir);
    for (const auto& c : cases) {
        const std::string text = c["text"].get<std::string>();
        const auto expected = c["ids"].get<std::vector<int64_t>>();
        const auto ids = tok->encode(text, true);
        EXPECT_EQ(ids, expected) << dir << ": text '" << text << "'";
        EXPECT_EQ(tok->decode(expected, false), c["decoded"].get<std::string>()) << dir << ": text '" << text << "'";
    }
}

}  // namespace

TEST(TokenizerGolden, ByteLevelCases) { checkAllCases("bytelevel"); }

TEST(TokenizerGolden, MetaspaceCases) { checkAllCases("metaspace"); }

TEST(TokenizerGolden, ByteLevelSpecialsAndConfig) {
    auto tok = peft::Tokenizer::load(peft::test::fixture("tokenizers/bytelevel/tokenizer.json"));
    ASSERT_TRUE(tok->eosId().has_value());
    EXPECT_EQ(*tok->eosId(), 0);
    EXPECT_EQ(*tok->bosId(), 0);
    EXPECT_FALSE(tok->padId().has_value());
    EXPECT_TRUE(tok->isSpecial(0));
    EXPECT_FALSE(tok->isSpecial(40));
    EXPECT_EQ(tok->vocabSize(), 512);
    EXPECT_EQ(tok->tokenToId("<|endoftext|>"), std::optional<int64_t>(0));
    EXPECT_EQ(tok->idToToken(0), "<|endoftext|>");
    // Without special tokens the ByteLevel post-processor changes nothing.
    EXPECT_EQ(tok->encode("Hello world", false), tok->encode("Hello world", true));
}

TEST(TokenizerGolden, MetaspaceWithoutSpecialTokensDropsBos) {
    auto tok = peft::Tokenizer::load(peft::test::fixture("tokenizers/metaspace"));
    json cases = readCases("metaspace");
    for (const auto& c : cases) {
        auto expected = c["ids"].get<std::vector<int64_t>>();
        ASSERT_FALSE(expected.empty());
        ASSERT_EQ(expected.front(), 1);
        expected.erase(expected.begin());
        EXPECT_EQ(tok->encode(c["text"].get<std::string>(), false), expected);
    }
    EXPECT_EQ(*tok->bosId(), 1);
    EXPECT_EQ(*tok->eosId(), 2);
    // skip_special_tokens drops <s> (and the special <0xNN> byte tokens, as HF does).
    EXPECT_EQ(tok->decode(tok->encode("Hello world", true), true), "Hello world");
}

TEST(TokenizerGolden, ModelFolderTokenizersLoad) {
    for (const char* dir : {"tiny-gpt2/base", "tiny-llama/base"}) {
        auto tok = peft::Tokenizer::load(peft::test::fixture(dir));
        auto ids = tok->encode("Hello world, this is a test.", true);
        EXPECT_FALSE(ids.empty()) << dir;
        EXPECT_GT(tok->vocabSize(), 100) << dir;
        EXPECT_TRUE(tok->eosId().has_value()) << dir;
    }
    // The model folders hold the same tokenizers as the tokenizer fixtures.
    auto a = peft::Tokenizer::load(peft::test::fixture("tiny-llama/base"));
    auto b = peft::Tokenizer::load(peft::test::fixture("tokenizers/metaspace"));
    EXPECT_EQ(a->encode("Ünïcödé 12345 text", true), b->encode("Ünïcödé 12345 text", true));
}
