// Unit tests of the tokenizer engine on small hand-made tokenizer.json files: refusal of
// unsupported components, malformed files, bounded regexes, BPE rules, added tokens, decoding, CLI.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/tokenizer/components.h"
#include "core/tokenizer/text_util.h"
#include "core/tokenizer/tokenizer.h"
#include "core/tokenizer/unicode_norm.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using nlohmann::json;
using peft::PeftError;
using peft::Tokenizer;

namespace {

// A character-level BPE tokenizer over a..e, "ab", "bc", "abc", "<unk>", plus two specials.
json baseTokenizer() {
    json vocab = {{"<unk>", 0}, {"a", 1},  {"b", 2},   {"c", 3}, {"d", 4},    {"e", 5},
                  {"ab", 6},    {"bc", 7}, {"abc", 8}, {" ", 9}, {"<s>", 10}, {"</s>", 11}};
    json t = {{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens",
               json::array({{{"id", 10},
                             {"content", "<s>"},
                             {"single_word", false},
                             {"lstrip", false},
                             {"rstrip", false},
                             {"normalized", false},
                             {"special", true}},
                            {{"id", 11},
                             {"content", "</s>"},
                             {"single_word", false},
                             {"lstrip", false},
                             {"rstrip", false},
                             {"normalized", false},
                             {"special", true}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer", nullptr},
              {"post_processor", nullptr},
              {"decoder", nullptr},
              {"model",
               {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", "<unk>"},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", false},
                {"vocab", vocab},
                {"merges", json::array({"a b", "b c", "ab c"})}}}};
    return t;
}

std::string writeTokenizer(const peft::test::TempDir& dir, const json& t, const std::string& name = "tokenizer.json") {
    std::ofstream(dir.file(name)) << t.dump(1);
    return dir.file(name);
}

std::shared_ptr<Tokenizer> loadJson(const peft::test::TempDir& dir, const json& t) {
    return Tokenizer::load(writeTokenizer(dir, t));
}

// Loads and expects a PeftError whose message contains every string in `parts`.
void expectLoadError(const json& t, const std::vector<std::string>& parts) {
    peft::test::TempDir dir;
    const std::string path = writeTokenizer(dir, t);
    try {
        Tokenizer::load(path);
        FAIL() << "expected an error mentioning " << parts.front();
    } catch (const PeftError& e) {
        std::string msg = e.what();
        for (const auto& p : parts)
            EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nmissing: " << p;
        EXPECT_NE(msg.find(path), std::string::npos) << "message does not name the file: " << msg;
    }
}

}  // namespace

TEST(Tokenizer, UnsupportedComponentsAreRefusedByName) {
    json t = baseTokenizer();
    t["normalizer"] = {{"type", "Lowercase"}};
    expectLoadError(t, {"Lowercase", "normalizer"});

    t = baseTokenizer();
    t["normalizer"] = {{"type", "Sequence"},
                       {"normalizers", json::array({{{"type", "NFC"}}, {{"type", "BertNormalizer"}}})}};
    expectLoadError(t, {"BertNormalizer", "normalizers[1]"});

    t = baseTokenizer();
    t["pre_tokenizer"] = {{"type", "Punctuation"}, {"behavior", "Isolated"}};
    expectLoadError(t, {"Punctuation", "pre_tokenizer"});

    t = baseTokenizer();
    t["pre_tokenizer"] = {
        {"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}, {"invert", false}};
    expectLoadError(t, {"Sideways"});

    t = baseTokenizer();
    t["post_processor"] = {{"type", "FancyProcessing"}};
    expectLoadError(t, {"FancyProcessing", "post_processor"});

    t = baseTokenizer();
    t["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
    expectLoadError(t, {"WordPiece", "decoder"});

    t = baseTokenizer();
    t["model"]["type"] = "Unigram";
    expectLoadError(t, {"Unigram", "model"});

    t = baseTokenizer();
    t["model"]["dropout"] = 0.1;
    expectLoadError(t, {"dropout"});

    t = baseTokenizer();
    t["model"]["merges"] = json::array({"a q"});
    expectLoadError(t, {"merges[0]", "a q"});
}

TEST(Tokenizer, MalformedJsonNamesTheFile) {
    peft::test::TempDir dir;
    std::ofstream(dir.file("tokenizer.json")) << "{\n  \"version\": \"1.0\",\n  \"model\": {\n    \"vocab\": {,}\n";
    try {
        Tokenizer::load(dir.path());
        FAIL() << "malformed JSON was accepted";
    } catch (const PeftError& e) {
        std::string msg = e.what();
        EXPECT_NE(msg.find(dir.file("tokenizer.json")), std::string::npos) << msg;
        EXPECT_NE(msg.find(":4"), std::string::npos) << "line number missing: " << msg;
    }
    EXPECT_THROW(Tokenizer::load(dir.file("missing.json")), PeftError);
}

TEST(Tokenizer, CatastrophicRegexIsBounded) {
    json t = baseTokenizer();
    t["pre_tokenizer"] = {
        {"type", "Split"}, {"pattern", {{"Regex", "(a+)+$"}}}, {"behavior", "Isolated"}, {"invert", false}};
    peft::test::TempDir dir;
    auto tok = loadJson(dir, t);
    std::string text(5000, 'a');
    text += "b";
    auto t0 = std::chrono::steady_clock::now();
    bool threw = false;
    try {
        tok->encode(text);
    } catch (const PeftError& e) {
        threw = true;
        EXPECT_NE(std::string(e.what()).find("(a+)+$"), std::string::npos) << e.what();
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 5.0) << "regex matching was not bounded";
    // Either outcome is acceptable, but the direct regex API must report the limit clearly.
    peft::tok::Regex re("(a+)+$", "test");
    t0 = std::chrono::steady_clock::now();
    std::string s(40, 'a');
    s += "b";
    try {
        re.findAll(s);
    } catch (const PeftError& e) {
        threw = true;
        EXPECT_NE(std::string(e.what()).find("catastroph"), std::string::npos) << e.what();
    }
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 5.0);
    EXPECT_TRUE(threw) << "a 2^40-step backtracking search finished without hitting the limit";
}

TEST(Tokenizer, MergesApplyByRank) {
    peft::test::TempDir dir;
    json t = baseTokenizer();
    auto tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("abc"), (std::vector<int64_t>{8}));  // a b -> ab, ab c -> abc
    t["model"]["merges"] = json::array({json::array({"b", "c"}), json::array({"a", "b"})});
    tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("abc"), (std::vector<int64_t>{1, 7}));  // b c first, then no "a bc"
    t["model"]["merges"] = json::array({"a b", "b c"});
    tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("abcabc"), (std::vector<int64_t>{6, 3, 6, 3}));
    EXPECT_EQ(tok->encode("bcab"), (std::vector<int64_t>{7, 6}));
}

TEST(Tokenizer, UnknownCharactersAndByteFallback) {
    peft::test::TempDir dir;
    json t = baseTokenizer();
    auto tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("axyb"), (std::vector<int64_t>{1, 0, 0, 2}));
    t["model"]["fuse_unk"] = true;
    tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("axyb"), (std::vector<int64_t>{1, 0, 2}));
    // byte fallback: é = C3 A9 as <0xC3> <0xA9>; x has no byte token -> unk.
    t["model"]["byte_fallback"] = true;
    t["model"]["vocab"]["<0xC3>"] = 20;
    t["model"]["vocab"]["<0xA9>"] = 21;
    tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("a\xC3\xA9x"), (std::vector<int64_t>{1, 20, 21, 0}));
    t["decoder"] = {{"type", "Sequence"}, {"decoders", json::array({{{"type", "ByteFallback"}}, {{"type", "Fuse"}}})}};
    tok = loadJson(dir, t);
    EXPECT_EQ(tok->decode({1, 20, 21, 2}),
              "a\xC3\xA9"
              "b");
    EXPECT_EQ(tok->decode({1, 20, 2}),
              "a\xEF\xBF\xBD"
              "b");  // a lone lead byte becomes U+FFFD
}

TEST(Tokenizer, IgnoreMergesTakesWholeWords) {
    peft::test::TempDir dir;
    json t = baseTokenizer();
    t["model"]["merges"] = json::array({"b c"});
    t["model"]["vocab"]["abc"] = 8;
    auto tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("abc"), (std::vector<int64_t>{1, 7}));
    t["model"]["ignore_merges"] = true;
    tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("abc"), (std::vector<int64_t>{8}));
}

TEST(Tokenizer, AddedTokensMatchInRawText) {
    peft::test::TempDir dir;
    json t = baseTokenizer();
    // The normalizer would destroy "<s>" if it ran first; added tokens are matched before it.
    t["normalizer"] = {{"type", "Replace"}, {"pattern", {{"String", "<"}}}, {"content", "a"}};
    t["post_processor"] = {{"type", "TemplateProcessing"},
                           {"single",
                            json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                         {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                         {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}})},
                           {"pair", json::array()},
                           {"special_tokens",
                            {{"<s>", {{"id", "<s>"}, {"ids", {10}}, {"tokens", {"<s>"}}}},
                             {"</s>", {{"id", "</s>"}, {"ids", {11}}, {"tokens", {"</s>"}}}}}}};
    auto tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("ab<s>c</s><d", false), (std::vector<int64_t>{6, 10, 3, 11, 1, 4}));
    EXPECT_EQ(tok->encode("ab<s>c", true), (std::vector<int64_t>{10, 6, 10, 3, 11}));
    // Leftmost-longest: "<s>x" added as a longer token wins over "<s>".
    t["added_tokens"].push_back({{"id", 12},
                                 {"content", "<s>d"},
                                 {"single_word", false},
                                 {"lstrip", false},
                                 {"rstrip", false},
                                 {"normalized", false},
                                 {"special", false}});
    tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("a<s>d<s>", false), (std::vector<int64_t>{1, 12, 10}));
}

TEST(Tokenizer, AddedTokenFlags) {
    peft::test::TempDir dir;
    json t = baseTokenizer();
    t["added_tokens"] = json::array({{{"id", 12},
                                      {"content", "cd"},
                                      {"single_word", true},
                                      {"lstrip", false},
                                      {"rstrip", false},
                                      {"normalized", false},
                                      {"special", false}},
                                     {{"id", 13},
                                      {"content", "<m>"},
                                      {"single_word", false},
                                      {"lstrip", true},
                                      {"rstrip", true},
                                      {"normalized", false},
                                      {"special", true}}});
    auto tok = loadJson(dir, t);
    // single_word: "cd" inside "acd" is not a token; alone it is.
    EXPECT_EQ(tok->encode("acd"), (std::vector<int64_t>{1, 3, 4}));
    EXPECT_EQ(tok->encode("a cd e"), (std::vector<int64_t>{1, 9, 12, 9, 5}));
    // lstrip/rstrip absorb the spaces around <m>.
    EXPECT_EQ(tok->encode("a  <m>  b"), (std::vector<int64_t>{1, 13, 2}));
    // skip_special_tokens drops <m> but keeps the normal added token.
    EXPECT_EQ(tok->decode({1, 13, 12}, true), "a cd");  // no decoder: tokens joined by spaces
    EXPECT_EQ(tok->decode({1, 13, 12}, false), "a <m> cd");
    EXPECT_TRUE(tok->isSpecial(13));
    EXPECT_FALSE(tok->isSpecial(12));
}

TEST(Tokenizer, DecodeSkipsSpecialTokensWithByteLevel) {
    auto tok = Tokenizer::load(peft::test::fixture("tokenizers/bytelevel"));
    auto ids = tok->encode("<|endoftext|>Hello world<|endoftext|>");
    ASSERT_EQ(ids.front(), 0);
    ASSERT_EQ(ids.back(), 0);
    EXPECT_EQ(tok->decode(ids, false), "<|endoftext|>Hello world<|endoftext|>");
    EXPECT_EQ(tok->decode(ids, true), "Hello world");
    EXPECT_THROW(tok->decode({999999}), PeftError);
}

TEST(Tokenizer, InvalidUtf8IsRefused) {
    auto tok = Tokenizer::load(peft::test::fixture("tokenizers/bytelevel"));
    EXPECT_THROW(tok->encode("ab\xC3(x"), PeftError);
}

TEST(Tokenizer, MetaspacePrependSchemes) {
    peft::test::TempDir dir;
    json t = baseTokenizer();
    t["model"]["vocab"]["_"] = 14;
    t["model"]["vocab"]["_a"] = 15;
    t["model"]["merges"] = json::array({"_ a"});
    t["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "first"}, {"split", true}};
    auto tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("a a"), (std::vector<int64_t>{15, 15}));
    // "first": only the piece at the very start of the input gets the prefix.
    EXPECT_EQ(tok->encode("<s>a a"), (std::vector<int64_t>{10, 1, 15}));
    t["pre_tokenizer"]["prepend_scheme"] = "always";
    tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("<s>a a"), (std::vector<int64_t>{10, 15, 15}));
    t["pre_tokenizer"]["prepend_scheme"] = "never";
    t["decoder"] = {{"type", "Metaspace"}, {"replacement", "_"}, {"prepend_scheme", "always"}, {"split", true}};
    tok = loadJson(dir, t);
    EXPECT_EQ(tok->encode("a a"), (std::vector<int64_t>{1, 15}));
    EXPECT_EQ(tok->decode({15, 15}), "a a");
}

TEST(Tokenizer, SplitBehaviors) {
    peft::test::TempDir dir;
    json t = baseTokenizer();
    // With merges "a b", "b c", "ab c": the split decides which pairs can merge.
    auto run = [&](const std::string& behavior, bool invert) {
        t["pre_tokenizer"] = {
            {"type", "Split"}, {"pattern", {{"String", "b"}}}, {"behavior", behavior}, {"invert", invert}};
        return loadJson(dir, t)->encode("abcab");
    };
    EXPECT_EQ(run("Isolated", false), (std::vector<int64_t>{1, 2, 3, 1, 2}));
    EXPECT_EQ(run("Removed", false), (std::vector<int64_t>{1, 3, 1}));
    EXPECT_EQ(run("MergedWithPrevious", false), (std::vector<int64_t>{6, 3, 6}));
    EXPECT_EQ(run("MergedWithNext", false), (std::vector<int64_t>{1, 7, 1, 2}));
    EXPECT_EQ(run("Contiguous", false), (std::vector<int64_t>{1, 2, 3, 1, 2}));
    EXPECT_EQ(run("Removed", true), (std::vector<int64_t>{2, 2}));
}

TEST(Tokenizer, ByteLevelGpt2RegexAndDigits) {
    auto tok = Tokenizer::load(peft::test::fixture("tokenizers/bytelevel"));
    // Byte-level round trip of arbitrary UTF-8, including a 4-byte emoji split across tokens.
    for (std::string s : {"x \xF0\x9F\xA4\x97 y", "a\r\n\tb  c", "It's 2024!!", "\xE2\x96\x81\xE2\x96\x81"})
        EXPECT_EQ(tok->decode(tok->encode(s)), s);
    // A token cut inside a multi-byte character decodes to U+FFFD, as HF's lossy decode.
    auto ids = tok->encode("\xF0\x9F\xA4\x97");
    ASSERT_GT(ids.size(), 1u);
    EXPECT_NE(tok->decode({ids[0]}).find("\xEF\xBF\xBD"), std::string::npos);

    peft::test::TempDir dir;
    json t = baseTokenizer();
    t["model"]["vocab"]["1"] = 16;
    t["model"]["vocab"]["2"] = 17;
    t["model"]["vocab"]["12"] = 18;
    t["model"]["merges"] = json::array({"1 2"});
    t["pre_tokenizer"] = {{"type", "Digits"}, {"individual_digits", true}};
    EXPECT_EQ(loadJson(dir, t)->encode("a12"), (std::vector<int64_t>{1, 16, 17}));
    t["pre_tokenizer"]["individual_digits"] = false;
    EXPECT_EQ(loadJson(dir, t)->encode("a12"), (std::vector<int64_t>{1, 18}));
}

TEST(Tokenizer, UnicodeNormalization) {
    using peft::tok::UnicodeForm;
    using peft::tok::unicodeNormalize;
    EXPECT_EQ(unicodeNormalize("plain ascii", UnicodeForm::NFC), "plain ascii");
    EXPECT_EQ(unicodeNormalize("e\xCC\x81", UnicodeForm::NFC), "\xC3\xA9");         // e + acute -> é
    EXPECT_EQ(unicodeNormalize("\xC3\xA9", UnicodeForm::NFD), "e\xCC\x81");         // é -> e + acute
    EXPECT_EQ(unicodeNormalize("\xEF\xAC\x81", UnicodeForm::NFKC), "fi");           // ﬁ ligature
    EXPECT_EQ(unicodeNormalize("\xEF\xAC\x81", UnicodeForm::NFC), "\xEF\xAC\x81");  // NFC keeps it
    // Hangul: 한 = U+1112 U+1161 U+11AB composed to U+D55C.
    EXPECT_EQ(unicodeNormalize("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", UnicodeForm::NFC), "\xED\x95\x9C");
    // Reordering: a + dot below (220) after acute (230) -> dot below composes first: ạ + ́.
    EXPECT_EQ(unicodeNormalize("a\xCC\x81\xCC\xA3", UnicodeForm::NFC), "\xE1\xBA\xA1\xCC\x81");
    // Å (U+212B angstrom sign) is a singleton -> U+00C5.
    EXPECT_EQ(unicodeNormalize("\xE2\x84\xAB", UnicodeForm::NFC), "\xC3\x85");

    peft::test::TempDir dir;
    json t = baseTokenizer();
    t["normalizer"] = {{"type", "NFKC"}};
    t["model"]["vocab"]["f"] = 19;
    t["model"]["vocab"]["i"] = 20;
    EXPECT_EQ(loadJson(dir, t)->encode("\xEF\xAC\x81"), (std::vector<int64_t>{19, 20}));
}

TEST(Tokenizer, ConfigTokensAndChatTemplate) {
    peft::test::TempDir dir;
    writeTokenizer(dir, baseTokenizer());
    std::ofstream(dir.file("tokenizer_config.json"))
        << R"({"bos_token": {"content": "<s>", "__type": "AddedToken"}, "eos_token": "</s>", "pad_token": null,
              "chat_template": "{{ messages }}"})";
    auto tok = Tokenizer::load(dir.path());
    EXPECT_EQ(tok->bosId(), std::optional<int64_t>(10));
    EXPECT_EQ(tok->eosId(), std::optional<int64_t>(11));
    EXPECT_FALSE(tok->padId().has_value());
    EXPECT_EQ(tok->chatTemplate(), "{{ messages }}");
    EXPECT_EQ(tok->vocabSize(), 12);
}

TEST(Tokenizer, CliTokenizeMatchesFixtures) {
    for (const char* name : {"bytelevel", "metaspace"}) {
        peft::test::TempDir dir;
        const std::string in = peft::test::fixture(std::string("tokenizers/") + name + "/tokenizer_cases.json");
        // The CLI gets only the texts, so it cannot echo the expected answers back.
        json cases;
        {
            std::ifstream f(in);
            cases = json::parse(f);
        }
        json textsOnly = json::array();
        for (const auto& c : cases) textsOnly.push_back({{"text", c["text"]}});
        std::ofstream(dir.file("in.json")) << textsOnly.dump();
        const std::string cmd = "\"" + peft::test::cliPath() + "\" tokenize --tokenizer \"" +
            peft::test::fixture(std::string("tokenizers/") + name) + "\" --cases \"" + dir.file("in.json") +
            "\" --out \"" + dir.file("out.json") + "\" > /dev/null 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        std::ifstream f(dir.file("out.json"));
        ASSERT_TRUE(f.good());
        json out = json::parse(f);
        ASSERT_EQ(out.size(), cases.size());
        for (size_t i = 0; i < cases.size(); ++i) {
            EXPECT_EQ(out[i]["text"], cases[i]["text"]);
            EXPECT_EQ(out[i]["ids"], cases[i]["ids"]) << name << " case " << i;
            EXPECT_EQ(out[i]["decoded"], cases[i]["decoded"]) << name << " case " << i;
        }
    }
    // A bad cases file fails with a non-zero exit code.
    peft::test::TempDir dir;
    std::ofstream(dir.file("bad.json")) << "{\"text\": 1}";
    const std::string cmd = "\"" + peft::test::cliPath() + "\" tokenize --tokenizer \"" +
        peft::test::fixture("tokenizers/bytelevel") + "\" --cases \"" + dir.file("bad.json") + "\" --out \"" +
        dir.file("o.json") + "\" > /dev/null 2>&1";
    EXPECT_NE(std::system(cmd.c_str()), 0);
}

TEST(Tokenizer, QwenStyleSplitThenByteLevel) {
    // Qwen2 / Llama-3 style: Split(regex, Isolated) then ByteLevel without its own regex.
    const std::string pattern =
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
    json j = {
        {"type", "Sequence"},
        {"pretokenizers",
         json::array(
             {{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}})}};
    auto pre = peft::tok::makePreTokenizer(j, "test: pre_tokenizer");
    std::vector<peft::tok::Piece> pieces{{"Hello world's 123\n\n  x", true}};
    pre->preTokenize(pieces);
    std::vector<std::string> got;
    for (const auto& p : pieces) got.push_back(p.text);
    // Ġ = space, Ċ = newline in GPT-2's byte map.
    const std::vector<std::string> want = {"Hello", "\xC4\xA0world",    "'s",       "\xC4\xA0", "1", "2",
                                           "3",     "\xC4\x8A\xC4\x8A", "\xC4\xA0", "\xC4\xA0x"};
    EXPECT_EQ(got, want);
}

TEST(Tokenizer, EncodingIsFast) {
    auto tok = Tokenizer::load(peft::test::fixture("tokenizers/bytelevel"));
    std::vector<std::string> texts;
    for (int i = 0; i < 3000; ++i)
        texts.push_back("Sample " + std::to_string(i) +
                        ": the quick brown fox jumps over the lazy dog, again and again (" + std::to_string(i * 7919) +
                        ").");
    auto t0 = std::chrono::steady_clock::now();
    size_t total = 0;
    for (const auto& t : texts) total += tok->encode(t).size();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("encoded %zu texts (%zu tokens) in %.3f s: %.0f texts/s\n", texts.size(), total, secs,
                texts.size() / secs);
    EXPECT_GT(total, texts.size() * 10);
    EXPECT_LT(secs, 6.0) << "3000 short texts should take well under a second";
}
