// Golden: the built-in chat templates render transformers' apply_chat_template output exactly,
// and each reference Jinja string is recognised from a tokenizer_config.json.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "core/data/chat_template.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft::data;
using nlohmann::json;

namespace {

json loadFixture() { return json::parse(peft::readFile(peft::test::fixture("chat-templates/chat_templates.json"))); }

std::vector<ChatMessage> conversation(const json& j) {
    std::vector<ChatMessage> out;
    for (const auto& m : j) out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    return out;
}

std::string joined(const std::vector<Segment>& segs) {
    std::string s;
    for (const auto& x : segs) s += x.text;
    return s;
}

}  // namespace

TEST(ChatTemplates, EveryFixtureCaseRendersExactly) {
    json fx = loadFixture();
    TemplateTokens tok{fx["bos_token"].get<std::string>(), fx["eos_token"].get<std::string>()};
    ASSERT_EQ(fx["cases"].size(), 16u);
    int checked = 0;
    for (const auto& c : fx["cases"]) {
        std::string name = c["template"].get<std::string>();
        auto kind = templateFromName(name);
        ASSERT_TRUE(kind) << name;
        auto conv = conversation(fx["conversations"][c["conversation"].get<size_t>()]);
        bool gen = c["add_generation_prompt"].get<bool>();
        auto segs = renderChat(*kind, conv, gen, tok);
        EXPECT_EQ(joined(segs), c["rendered"].get<std::string>())
            << name << " conversation " << c["conversation"] << " gen " << gen;
        ++checked;
    }
    EXPECT_EQ(checked, 16);
}

TEST(ChatTemplates, TrainedSegmentsAreTheAssistantTurns) {
    json fx = loadFixture();
    TemplateTokens tok{"<s>", "</s>"};
    auto conv = conversation(fx["conversations"][1]);
    std::map<std::string, std::string> expectTrained = {
        {"chatml", "LoRA and prefix tuning.<|im_end|>"},
        {"llama3", "LoRA and prefix tuning.<|eot_id|>"},
        {"zephyr", "LoRA and prefix tuning.</s>"},
        {"llama2", " LoRA and prefix tuning. </s>"},
    };
    for (const auto& [name, trained] : expectTrained) {
        auto segs = renderChat(*templateFromName(name), conv, false, tok);
        std::string t;
        for (const auto& s : segs)
            if (s.trained) t += s.text;
        EXPECT_EQ(t, trained) << name;
    }
}

TEST(ChatTemplates, EachReferenceJinjaIsRecognisedFromTokenizerConfig) {
    json fx = loadFixture();
    peft::test::TempDir dir;
    for (auto it = fx["templates"].begin(); it != fx["templates"].end(); ++it) {
        json cfg = {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"chat_template", it.value()}};
        std::ofstream(dir.file("tokenizer_config.json")) << cfg.dump(2);
        bool found = false;
        auto k = recogniseTokenizerConfig(dir.path(), &found);
        EXPECT_TRUE(found) << it.key();
        ASSERT_TRUE(k) << it.key();
        EXPECT_EQ(templateName(*k), it.key());
        // The list form: [{name: default, template: ...}].
        json cfg2 = {{"chat_template", json::array({{{"name", "default"}, {"template", it.value()}}})}};
        std::ofstream(dir.file("tokenizer_config.json")) << cfg2.dump();
        auto k2 = recogniseTokenizerConfig(dir.file("tokenizer_config.json"));
        ASSERT_TRUE(k2) << it.key();
        EXPECT_EQ(templateName(*k2), it.key());
        EXPECT_EQ(templateName(resolveTemplate("auto", it.value().get<std::string>())), it.key());
    }
}

TEST(ChatTemplates, RecognitionSurvivesReformatting) {
    json fx = loadFixture();
    for (auto it = fx["templates"].begin(); it != fx["templates"].end(); ++it) {
        std::string s = it.value().get<std::string>();
        // Reformat: whitespace-trimming markers, double quotes, extra spaces/newlines, attribute access.
        std::string r;
        for (char c : s) r += (c == '\'') ? '"' : c;
        size_t p = 0;
        while ((p = r.find("{%", p)) != std::string::npos) {
            r.replace(p, 2, "{%- ");
            p += 4;
        }
        p = 0;
        while ((p = r.find("%}", p)) != std::string::npos) {
            r.replace(p, 2, " -%}\n  ");
            p += 7;
        }
        p = 0;
        while ((p = r.find("message[\"role\"]", p)) != std::string::npos) r.replace(p, 15, "message.role");
        auto k = recogniseChatTemplate(r);
        ASSERT_TRUE(k) << it.key() << "\n" << r;
        EXPECT_EQ(templateName(*k), it.key());
    }
}

TEST(ChatTemplates, UnknownOrExtendedTemplatesAreNotRecognised) {
    json fx = loadFixture();
    EXPECT_FALSE(recogniseChatTemplate(""));
    EXPECT_FALSE(recogniseChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}"));
    // ChatML with a default system prompt (Qwen style) renders differently: not the built-in.
    std::string qwen =
        "{% if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' "
        "}}{% endif %}" +
        fx["templates"]["chatml"].get<std::string>();
    EXPECT_FALSE(recogniseChatTemplate(qwen));
    // Llama 3 pieces with tools.
    EXPECT_FALSE(recogniseChatTemplate(fx["templates"]["llama3"].get<std::string>() + "{% if tools %}{% endif %}"));
    // 'auto' with nothing recognised tells the user to choose.
    try {
        resolveTemplate("auto", "{{ messages }}");
        FAIL() << "expected PeftError";
    } catch (const peft::PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("Choose"), std::string::npos) << e.what();
    }
    EXPECT_THROW(resolveTemplate("auto", ""), peft::PeftError);
    EXPECT_EQ(resolveTemplate("zephyr", ""), TemplateKind::Zephyr);
}

TEST(ChatTemplates, Llama2RejectsNonAlternatingRoles) {
    TemplateTokens tok;
    EXPECT_THROW(renderChat(TemplateKind::Llama2, {{"user", "a"}, {"user", "b"}}, false, tok), peft::PeftError);
    EXPECT_THROW(renderChat(TemplateKind::ChatMl, {{"robot", "a"}}, false, tok), peft::PeftError);
}

TEST(ChatTemplates, AlpacaAndPlainInstruction) {
    TemplateTokens tok{"", "</s>"};
    auto a = renderInstruction(TemplateKind::Alpaca, "Add.", "2 and 3", "5", tok);
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].text,
              "Below is an instruction that describes a task, paired with an input that provides further context. "
              "Write a response that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n### Input:\n2 "
              "and 3\n\n### Response:\n");
    EXPECT_FALSE(a[0].trained);
    EXPECT_EQ(a[1].text, "5</s>");
    EXPECT_TRUE(a[1].trained);
    auto b = renderInstruction(TemplateKind::Alpaca, "Say hi.", "", "hi", tok);
    EXPECT_EQ(b[0].text,
              "Below is an instruction that describes a task. Write a response that appropriately completes the "
              "request.\n\n### Instruction:\nSay hi.\n\n### Response:\n");
    auto c = renderInstruction(TemplateKind::ChatMl, "Add.", "2 and 3", "5", tok);
    EXPECT_EQ(joined(c), "<|im_start|>user\nAdd.\n\n2 and 3<|im_end|>\n<|im_start|>assistant\n5<|im_end|>\n");
    auto p = renderInstruction(TemplateKind::Plain, "Add.", "", "5", tok);
    EXPECT_EQ(joined(p), "Add.\n5</s>");
}

TEST(ChatTemplates, PyStripMatchesPython) {
    EXPECT_EQ(pyStrip("  And one more?  "), "And one more?");
    EXPECT_EQ(pyStrip("\t\n x \r\n"), "x");
    EXPECT_EQ(pyStrip("\xC2\xA0x\xE3\x80\x80"), "x");  // NBSP and ideographic space
    EXPECT_EQ(pyStrip("\xC3\xA9"), "\xC3\xA9");
    EXPECT_EQ(pyStrip("   "), "");
}

TEST(ChatTemplates, GenerationPromptIsTheUserTurnUpToTheAnswer) {
    // generationPrompt (the playground and `generate --template`) must equal the chat rendering of
    // one user message with add_generation_prompt, which the fixture cases pin to transformers.
    for (auto k : {TemplateKind::ChatMl, TemplateKind::Llama3, TemplateKind::Llama2, TemplateKind::Zephyr}) {
        std::string want;
        for (const auto& s : renderChat(k, {{"user", "What is LoRA?"}}, true, defaultTemplateTokens(k))) want += s.text;
        EXPECT_EQ(generationPrompt(k, "What is LoRA?"), want) << templateName(k);
    }
    EXPECT_EQ(generationPrompt(TemplateKind::ChatMl, "Hi"), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ChatTemplates, RunPromptTemplateFollowsTheRunsDataset) {
    peft::test::TempDir dir;
    json fx = loadFixture();
    std::ofstream(dir.file("tokenizer_config.json")) << json{{"chat_template", fx["templates"]["chatml"]}}.dump();
    EXPECT_EQ(runPromptTemplate("alpaca", "instruction", dir.path()), TemplateKind::Alpaca);  // named: as is
    EXPECT_EQ(runPromptTemplate("auto", "chat", dir.path()), TemplateKind::ChatMl);           // the tokenizer's
    EXPECT_EQ(runPromptTemplate("auto", "text", dir.path()), std::nullopt);                   // plain text: as typed
    peft::test::TempDir none;
    EXPECT_EQ(runPromptTemplate("auto", "chat", none.path()), std::nullopt);  // no tokenizer_config
}
