// Dataset preparation against the real fixture tokenizers (tiny-llama: metaspace + BOS,
// tiny-gpt2: byte-level): ids equal the whole rendered text's encoding; the trained tokens are
// exactly the response.
#include <gtest/gtest.h>

#include <fstream>

#include "core/data/batcher.h"
#include "core/data/prepare.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/test_util.h"

using namespace peft::data;

using peft::test::write;

namespace {

struct Runs {
    int count = 0;  // number of maximal runs of trained labels
    std::vector<int64_t> trained;
};

Runs trainedRuns(const PreparedExample& e) {
    Runs r;
    bool in = false;
    for (size_t i = 0; i < e.labels.size(); ++i) {
        bool t = e.labels[i] != kIgnoreIndex;
        if (t) {
            EXPECT_EQ(e.labels[i], e.inputIds[i]);
            r.trained.push_back(e.inputIds[i]);
        }
        if (t && !in) ++r.count;
        in = t;
    }
    return r;
}

}  // namespace

class RealTokenizer : public ::testing::TestWithParam<std::string> {};

TEST_P(RealTokenizer, MaskCoversExactlyTheResponse) {
    auto tok = peft::Tokenizer::load(peft::test::fixture(GetParam() + "/base"));
    peft::test::TempDir d;
    DatasetConfig cfg;
    cfg.path = write(
        d, "c.jsonl",
        R"({"messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is LoRA?"},)"
        R"( {"role": "assistant", "content": "A low-rank update added beside a frozen weight."}]})"
        "\n");
    cfg.validationSplit = 0;
    const std::string eos = tok->idToToken(*tok->eosId());
    for (const auto& t : templateNames()) {
        cfg.templateName = t;
        auto pd = prepareDataset(cfg, tok.get());
        ASSERT_EQ(pd.train.size(), 1u) << t;
        const auto& e = pd.train[0];
        std::string full;
        for (const auto& s : pd.report.example) full += s.text;
        bool specials = t == "alpaca" || t == "plain";
        EXPECT_EQ(e.inputIds, tok->encode(full, specials)) << t;
        Runs r = trainedRuns(e);
        EXPECT_EQ(r.count, 1) << t;
        std::string decoded = tok->decode(r.trained, false);
        std::string want = "A low-rank update added beside a frozen weight.";
        if (t == "chatml") want += "<|im_end|>";
        else if (t == "llama3") want += "<|eot_id|>";
        else if (t == "llama2") want = " " + want + " " + eos;
        else want += eos;
        // The metaspace decoder drops one leading space of the decoded sequence.
        if (GetParam() == "tiny-llama" && want[0] == ' ') want = want.substr(1);
        EXPECT_EQ(decoded, want) << t;
        // The untrained part decodes to the prompt.
        std::vector<int64_t> masked;
        for (size_t i = 0; i < e.labels.size(); ++i)
            if (e.labels[i] == kIgnoreIndex) masked.push_back(e.inputIds[i]);
        EXPECT_NE(tok->decode(masked, false).find("What is LoRA?"), std::string::npos) << t;
    }
}

TEST_P(RealTokenizer, TextRowsGetEosAndBatchesPad) {
    auto tok = peft::Tokenizer::load(peft::test::fixture(GetParam() + "/base"));
    peft::test::TempDir d;
    DatasetConfig cfg;
    cfg.path = write(d, "t.txt", "hello world\nlow rank adapters are small\n");
    cfg.validationSplit = 0;
    auto pd = prepareDataset(cfg, tok.get());
    ASSERT_EQ(pd.train.size(), 2u);
    for (const auto& e : pd.train) {
        EXPECT_EQ(e.inputIds.back(), *tok->eosId());
        EXPECT_EQ(e.labels, e.inputIds);
    }
    auto want = tok->encode("hello world", true);
    want.push_back(*tok->eosId());
    EXPECT_EQ(pd.train[0].inputIds, want);
    BatcherOptions o;
    o.batchSize = 2;
    o.shuffle = false;
    o.padId = pd.padId;
    Batcher b(std::make_shared<std::vector<PreparedExample>>(pd.train), o);
    Batch x = b.next();
    int64_t T = static_cast<int64_t>(std::max(pd.train[0].inputIds.size(), pd.train[1].inputIds.size()));
    EXPECT_EQ(x.inputIds.sizes(), (std::vector<int64_t>{2, T}));
    EXPECT_EQ(x.attentionMask.sum().item<int64_t>(),
              static_cast<int64_t>(pd.train[0].inputIds.size() + pd.train[1].inputIds.size()));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RealTokenizer, ::testing::Values("tiny-llama", "tiny-gpt2"));
