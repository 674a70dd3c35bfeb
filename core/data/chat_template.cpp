// Built-in prompt templates (segments with a trained flag) and Jinja chat_template recognition.
#include "core/data/chat_template.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft::data {

namespace {

struct NamedKind {
    const char* name;
    TemplateKind kind;
};
const NamedKind kKinds[] = {{"chatml", TemplateKind::ChatMl}, {"llama3", TemplateKind::Llama3},
                            {"llama2", TemplateKind::Llama2}, {"zephyr", TemplateKind::Zephyr},
                            {"alpaca", TemplateKind::Alpaca}, {"plain", TemplateKind::Plain}};

// Appends to the last segment when the flag matches, so the output stays compact.
void push(std::vector<Segment>& out, const std::string& text, bool trained) {
    if (text.empty()) return;
    if (!out.empty() && out.back().trained == trained) out.back().text += text;
    else out.push_back({text, trained});
}

// Decodes one UTF-8 code point at i (the input is valid UTF-8 by the time it gets here).
uint32_t decodeAt(const std::string& s, size_t i, size_t& len) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return len = 1, c;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else len = 4, cp = c & 0x07;
    if (i + len > s.size()) return len = 1, c;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    return cp;
}

bool pyIsSpace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
        (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string roleLabel(const std::string& role) {
    if (role == "system") return "System";
    if (role == "user") return "User";
    return "Assistant";
}

}  // namespace

std::string pyStrip(const std::string& s) {
    size_t b = 0;
    while (b < s.size()) {
        size_t len;
        uint32_t cp = decodeAt(s, b, len);
        if (!pyIsSpace(cp)) break;
        b += len;
    }
    size_t e = s.size();
    while (e > b) {
        size_t start = e - 1;
        while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
        size_t len;
        uint32_t cp = decodeAt(s, start, len);
        if (!pyIsSpace(cp)) break;
        e = start;
    }
    return s.substr(b, e - b);
}

std::string templateName(TemplateKind k) {
    for (const auto& n : kKinds)
        if (n.kind == k) return n.name;
    return "?";
}

std::optional<TemplateKind> templateFromName(const std::string& name) {
    for (const auto& n : kKinds)
        if (name == n.name) return n.kind;
    return std::nullopt;
}

const std::vector<std::string>& templateNames() {
    static const std::vector<std::string> k = {"chatml", "llama3", "llama2", "zephyr", "alpaca", "plain"};
    return k;
}

TemplateTokens defaultTemplateTokens(TemplateKind k) {
    TemplateTokens t;
    switch (k) {
        case TemplateKind::Llama3:
            t.bos = "<|begin_of_text|>";
            t.eos = "<|eot_id|>";
            break;
        case TemplateKind::ChatMl:
            t.bos = "";
            t.eos = "<|im_end|>";
            break;
        case TemplateKind::Alpaca:
        case TemplateKind::Plain:
            t.bos = "";
            t.eos = "";  // no eos string is added unless a tokenizer provides one
            break;
        default: break;
    }
    return t;
}

std::vector<Segment> renderChat(TemplateKind k, const std::vector<ChatMessage>& messages, bool addGen,
                                const TemplateTokens& tok, const std::string& where) {
    std::vector<Segment> out;
    const std::string w = where.empty() ? std::string("chat template ") + templateName(k) : where;
    for (const auto& m : messages)
        if (m.role != "system" && m.role != "user" && m.role != "assistant")
            fail(w, "unknown role '" + m.role + "'", "Use system, user or assistant (ShareGPT: system, human, gpt).");
    switch (k) {
        case TemplateKind::ChatMl:
            for (const auto& m : messages) {
                bool a = m.role == "assistant";
                push(out, "<|im_start|>" + m.role + "\n", false);
                push(out, m.content + "<|im_end|>", a);
                push(out, "\n", false);
            }
            if (addGen) push(out, "<|im_start|>assistant\n", false);
            break;
        case TemplateKind::Llama3:
            for (size_t i = 0; i < messages.size(); ++i) {
                const auto& m = messages[i];
                bool a = m.role == "assistant";
                push(out, (i == 0 ? tok.bos : std::string()) + "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n",
                     false);
                push(out, pyStrip(m.content) + "<|eot_id|>", a);
            }
            if (addGen) push(out, "<|start_header_id|>assistant<|end_header_id|>\n\n", false);
            break;
        case TemplateKind::Zephyr:
            // The Jinja original is rendered with trim_blocks/lstrip_blocks: only the "\n" after each
            // {{ }} expression survives.
            for (size_t i = 0; i < messages.size(); ++i) {
                const auto& m = messages[i];
                bool a = m.role == "assistant";
                push(out, "<|" + m.role + "|>\n", false);
                push(out, m.content + tok.eos, a);
                push(out, "\n", false);
                if (i + 1 == messages.size() && addGen) push(out, "<|assistant|>\n", false);
            }
            break;
        case TemplateKind::Llama2: {
            size_t first = 0;
            std::optional<std::string> system;
            if (!messages.empty() && messages[0].role == "system") {
                system = messages[0].content;
                first = 1;
            }
            for (size_t i = first; i < messages.size(); ++i) {
                const auto& m = messages[i];
                size_t idx = i - first;
                if ((m.role == "user") != (idx % 2 == 0))
                    fail(w,
                         "llama2 needs roles alternating user/assistant/user/... (after an optional first system "
                         "message); message " +
                             std::to_string(i + 1) + " is '" + m.role + "'",
                         "Fix the conversation or choose another template.");
                std::string content = m.content;
                if (idx == 0 && system) content = "<<SYS>>\n" + *system + "\n<</SYS>>\n\n" + content;
                if (m.role == "user") {
                    push(out, tok.bos + "[INST] " + pyStrip(content) + " [/INST]", false);
                } else {
                    push(out, " " + pyStrip(content) + " " + tok.eos, true);
                }
            }
            break;  // the Llama 2 template ignores add_generation_prompt
        }
        case TemplateKind::Alpaca: {
            size_t i = 0;
            std::string preamble =
                "Below is an instruction that describes a task. Write a response that appropriately completes the "
                "request.";
            if (!messages.empty() && messages[0].role == "system") {
                preamble = messages[0].content;
                i = 1;
            }
            push(out, preamble, false);
            for (; i < messages.size(); ++i) {
                const auto& m = messages[i];
                if (m.role == "assistant") {
                    push(out, "\n\n### Response:\n", false);
                    push(out, m.content + tok.eos, true);
                } else {
                    push(out, "\n\n### Instruction:\n" + m.content, false);
                }
            }
            if (addGen && (messages.empty() || messages.back().role != "assistant"))
                push(out, "\n\n### Response:\n", false);
            break;
        }
        case TemplateKind::Plain:
            for (size_t i = 0; i < messages.size(); ++i) {
                const auto& m = messages[i];
                if (i > 0) push(out, "\n", false);
                if (m.role == "assistant") push(out, m.content + tok.eos, true);
                else push(out, m.content, false);
            }
            if (addGen) push(out, "\n", false);
            break;
    }
    (void)roleLabel;
    return out;
}

std::vector<Segment> renderInstruction(TemplateKind k, const std::string& instruction, const std::string& input,
                                       const std::string& output, const TemplateTokens& tok, const std::string& where) {
    std::vector<Segment> out;
    if (k == TemplateKind::Alpaca) {
        if (input.empty())
            push(out,
                 "Below is an instruction that describes a task. Write a response that appropriately completes the "
                 "request.\n\n### Instruction:\n" +
                     instruction + "\n\n### Response:\n",
                 false);
        else
            push(out,
                 "Below is an instruction that describes a task, paired with an input that provides further context. "
                 "Write a response that appropriately completes the request.\n\n### Instruction:\n" +
                     instruction + "\n\n### Input:\n" + input + "\n\n### Response:\n",
                 false);
        push(out, output + tok.eos, true);
        return out;
    }
    if (k == TemplateKind::Plain) {
        push(out, instruction + "\n" + (input.empty() ? std::string() : input + "\n"), false);
        push(out, output + tok.eos, true);
        return out;
    }
    std::string user = input.empty() ? instruction : instruction + "\n\n" + input;
    return renderChat(k, {{"user", user}, {"assistant", output}}, false, tok, where);
}

namespace {

// Whitespace removed, quotes unified, Jinja trim markers and `message.role` vs
// `message['role']` spellings folded, lower-cased.
std::string normaliseJinja(const std::string& s) {
    std::string o;
    o.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
        if (c == '"') c = '\'';
        o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    auto replaceAll = [&](const std::string& from, const std::string& to) {
        size_t p = 0;
        while ((p = o.find(from, p)) != std::string::npos) {
            o.replace(p, from.size(), to);
            p += to.size();
        }
    };
    replaceAll("{%-", "{%");
    replaceAll("-%}", "%}");
    replaceAll("{{-", "{{");
    replaceAll("-}}", "}}");
    replaceAll("['role']", ".role");
    replaceAll("['content']", ".content");
    // Jinja source escapes (\n written as backslash-n) versus real newlines were already folded by
    // dropping whitespace; drop the escape spelling too.
    replaceAll("\\n", "");
    return o;
}

struct Fingerprint {
    TemplateKind kind;
    std::vector<const char*> required;
    std::vector<const char*> forbidden;
};

bool contains(const std::string& h, const char* n) { return h.find(n) != std::string::npos; }

}  // namespace

std::optional<TemplateKind> recogniseChatTemplate(const std::string& jinja) {
    if (jinja.empty()) return std::nullopt;
    const std::string n = normaliseJinja(jinja);
    // Features none of the built-ins reproduce: tool calls, default system prompts, reasoning blocks.
    static const char* kCommonForbidden[] = {"tools", "tool_call", "youare", "<think>", "date_string", "strftime"};
    for (const char* f : kCommonForbidden)
        if (contains(n, f)) return std::nullopt;
    static const std::vector<Fingerprint> fps = {
        {TemplateKind::ChatMl,
         {"'<|im_start|>'+message.role", "message.content+'<|im_end|>'", "<|im_start|>assistant",
          "add_generation_prompt"},
         {"<|start_header_id|>", "[inst]"}},
        {TemplateKind::Llama3,
         {"'<|start_header_id|>'+message.role+'<|end_header_id|>", "message.content|trim+'<|eot_id|>'", "bos_token",
          "loop.index0==0", "<|start_header_id|>assistant<|end_header_id|>"},
         {"<|im_start|>", "[inst]"}},
        {TemplateKind::Zephyr,
         {"'<|user|>'+message.content+eos_token", "'<|system|>'+message.content+eos_token",
          "'<|assistant|>'+message.content+eos_token", "loop.lastandadd_generation_prompt", "'<|assistant|>'}}"},
         {"<|im_start|>", "[inst]"}},
        {TemplateKind::Llama2,
         {"bos_token+'[inst]'+content.strip()+'[/inst]'", "'<<sys>>", "<</sys>>", "''+content.strip()+''+eos_token",
          "loop_messages=messages[1:]", "raise_exception"},
         {"<|im_start|>", "<|start_header_id|>"}},
    };
    for (const auto& fp : fps) {
        bool ok = true;
        for (const char* r : fp.required) ok = ok && contains(n, r);
        for (const char* f : fp.forbidden) ok = ok && !contains(n, f);
        if (ok) return fp.kind;
    }
    return std::nullopt;
}

std::optional<TemplateKind> recogniseTokenizerConfig(const std::string& pathOrDir, bool* found) {
    namespace fs = std::filesystem;
    fs::path p(pathOrDir);
    if (fs::is_directory(p)) p /= "tokenizer_config.json";
    if (found) *found = false;
    if (!fs::exists(p)) return std::nullopt;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(readFile(p.string()));
    } catch (const nlohmann::json::exception& e) {
        fail(p.string(), std::string("invalid JSON (") + e.what() + ")", "Fix the file or choose a template by name.");
    }
    if (!j.is_object() || !j.contains("chat_template")) return std::nullopt;
    const auto& ct = j["chat_template"];
    std::string text;
    if (ct.is_string()) {
        text = ct.get<std::string>();
    } else if (ct.is_array()) {
        for (const auto& e : ct)
            if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
                e["template"].is_string())
                text = e["template"].get<std::string>();
    }
    if (found) *found = !text.empty();
    return recogniseChatTemplate(text);
}

TemplateKind resolveTemplate(const std::string& configured, const std::string& tokenizerChatTemplate) {
    if (auto k = templateFromName(configured)) return *k;
    std::string names = "chatml, llama3, llama2, zephyr, alpaca or plain";
    if (configured != "auto")
        fail("dataset.template", "unknown template '" + configured + "'", "Use auto, " + names + ".");
    if (tokenizerChatTemplate.empty())
        fail("dataset.template",
             "'auto' cannot pick a prompt template: the tokenizer has no chat_template (or no tokenizer was given)",
             "Choose one of " + names + ".");
    if (auto k = recogniseChatTemplate(tokenizerChatTemplate)) return *k;
    fail("dataset.template",
         "'auto' cannot pick a prompt template: the tokenizer's chat_template is not one of the built-ins",
         "Choose the closest of " + names + ".");
}

std::string generationPrompt(TemplateKind k, const std::string& userText) {
    std::string out;
    // Everything before the (empty) response: the separator after its end-of-turn marker is not
    // part of the prompt (with it, ChatML prompts would end in "assistant\n\n").
    for (const auto& seg : renderInstruction(k, userText, "", "", defaultTemplateTokens(k))) {
        if (seg.trained) break;
        out += seg.text;
    }
    return out.empty() ? userText : out;
}

std::optional<TemplateKind> runPromptTemplate(const std::string& configured, const std::string& datasetFormat,
                                              const std::string& modelDir) {
    if (auto k = templateFromName(configured)) return k;
    if (configured != "auto" || (datasetFormat != "chat" && datasetFormat != "instruction")) return std::nullopt;
    try {
        return recogniseTokenizerConfig(modelDir);
    } catch (const std::exception&) {
        return std::nullopt;  // an unreadable tokenizer_config: the prompt goes in as typed
    }
}

}  // namespace peft::data
