// `peft-studio-cli dataset`: the report as JSON and text, and a clear error for a UTF-16 file;
// `generate --template`: the prompt wrapped as a chat turn, and clear errors.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "tests/test_util.h"

namespace {
peft::test::CliResult run(const std::string& args) { return peft::test::runCli(args, true); }
}  // namespace

TEST(DatasetCli, PrintsTheReport) {
    peft::test::TempDir d;
    std::ofstream(d.file("a.jsonl")) << "{\"instruction\": \"What is LoRA?\", \"output\": \"A low-rank update.\"}\n"
                                        "{\"instruction\": \"x\"}\n"
                                        "{\"instruction\": \"Why?\", \"output\": \"Fewer parameters.\"}\n";
    peft::test::CliResult j = run("dataset --file " + d.file("a.jsonl") + " --tokenizer " +
                                  peft::test::fixture("tiny-llama/base") + " --template chatml --max-length 64 --json");
    ASSERT_EQ(j.rc, 0) << j.out;
    auto start = j.out.find("{\n");
    ASSERT_NE(start, std::string::npos) << j.out;
    auto rep = nlohmann::json::parse(j.out.substr(start));
    EXPECT_EQ(rep["rows_read"], 3);
    EXPECT_EQ(rep["rows_rejected"], 1);
    EXPECT_EQ(rep["rejections"][0]["line"], 2);
    EXPECT_EQ(rep["format"], "instruction");
    EXPECT_EQ(rep["template"], "chatml");
    EXPECT_TRUE(rep["tokenized"].get<bool>());
    EXPECT_EQ(rep["max_length"], 64);
    EXPECT_FALSE(rep["histogram"].empty());
    peft::test::CliResult t = run("dataset --file " + d.file("a.jsonl") + " --template alpaca");
    ASSERT_EQ(t.rc, 0) << t.out;
    EXPECT_NE(t.out.find(":2: missing field 'output'"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("[[masked: Below is an instruction"), std::string::npos) << t.out;
}

TEST(DatasetCli, Utf16FileFailsWithAClearMessage) {
    peft::test::TempDir d;
    std::ofstream(d.file("u.csv"), std::ios::binary) << std::string("\xFF\xFEt\0e\0x\0t\0\n\0", 12);
    peft::test::CliResult r = run("dataset --file " + d.file("u.csv"));
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("UTF-16"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("UTF-8"), std::string::npos) << r.out;
}

TEST(GenerateCli, TemplateWrapsThePromptOrSaysWhatToUse) {
    // `generate --template NAME` sends the prompt as one user turn (echoed before the output).
    const std::string model = peft::test::fixture("tiny-llama/base");
    peft::test::CliResult ok =
        run("generate --model " + model + " --prompt Hi --template chatml --greedy --max-new-tokens 2");
    ASSERT_EQ(ok.rc, 0) << ok.out;
    EXPECT_NE(ok.out.find("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"), std::string::npos) << ok.out;
    // A name it does not know, and "auto" on a model without a chat template: an error naming the fix.
    peft::test::CliResult bad = run("generate --model " + model + " --prompt Hi --template nonsense");
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.out.find("unknown template 'nonsense'"), std::string::npos) << bad.out;
    peft::test::CliResult none = run("generate --model " + model + " --prompt Hi --template auto");
    EXPECT_NE(none.rc, 0);
    EXPECT_NE(none.out.find("no chat_template"), std::string::npos) << none.out;
    EXPECT_NE(none.out.find("chatml, llama3"), std::string::npos) << none.out;
}
