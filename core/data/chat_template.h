// Prompt templates for instruction and chat rows: the built-ins chatml, llama3, llama2, zephyr,
// alpaca and plain, rendered as segments marked trained or not, plus recognition of a model's
// Jinja chat_template (tokenizer_config.json) as one of the built-ins.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace peft::data {

enum class TemplateKind { ChatMl, Llama3, Llama2, Zephyr, Alpaca, Plain };

std::string templateName(TemplateKind k);
// "chatml", "llama3", ... -> kind; nullopt for anything else (including "auto").
std::optional<TemplateKind> templateFromName(const std::string& name);
const std::vector<std::string>& templateNames();  // the six built-in names

struct ChatMessage {
    std::string role;  // "system", "user" or "assistant"
    std::string content;
};

// A piece of rendered text. `trained` pieces are the response: their tokens keep their labels,
// the others get -100 when training on responses only.
struct Segment {
    std::string text;
    bool trained = false;
};

// Special-token strings the templates insert (bos_token / eos_token in the Jinja originals).
struct TemplateTokens {
    std::string bos = "<s>";
    std::string eos = "</s>";
};

// The token strings a template uses when no tokenizer is known (e.g. llama3's bos is
// <|begin_of_text|>, chatml needs none).
TemplateTokens defaultTemplateTokens(TemplateKind k);

// Renders a conversation. The concatenated text equals transformers' apply_chat_template(...,
// tokenize=False) for the four Jinja originals (chatml, llama3, llama2, zephyr). Trained segments:
// each assistant message's content plus its end-of-turn marker (<|im_end|>, <|eot_id|>, eos) --
// the separator after the marker ("\n") is not trained. Throws PeftError (`where` names the row)
// when the conversation cannot be rendered (llama2: roles must alternate user/assistant).
// alpaca: "### Instruction:/### Response:" blocks with the Alpaca preamble (a system message
// replaces it), eos after each response. plain: each message's content on its own line, eos
// after each response.
std::vector<Segment> renderChat(TemplateKind k, const std::vector<ChatMessage>& messages, bool addGenerationPrompt,
                                const TemplateTokens& tokens, const std::string& where = {});

// An Alpaca-style row. With `alpaca` this is the original Stanford Alpaca prompt (with or without
// the input block) followed by the output and eos. With `plain`: instruction, input and output each
// on their own line. With a chat template: one user message (instruction, then input after a blank
// line) and one assistant message.
std::vector<Segment> renderInstruction(TemplateKind k, const std::string& instruction, const std::string& input,
                                       const std::string& output, const TemplateTokens& tokens,
                                       const std::string& where = {});

// Recognises a Jinja chat template as one of the four chat built-ins. Matching is on normalised
// fingerprints (whitespace removed, quotes unified, {%- -%} trim markers ignored) of the
// distinctive pieces of each template, so reformatted copies match too; templates with features
// the built-in does not reproduce (tools, a default system prompt) are not matched.
std::optional<TemplateKind> recogniseChatTemplate(const std::string& jinja);

// Reads <dir>/tokenizer_config.json (or that file) and recognises its chat_template (a string, or
// a list of {name, template} where "default" is used). Returns nullopt when it is absent or not
// recognised; `found` (when given) tells whether a chat_template was present at all.
std::optional<TemplateKind> recogniseTokenizerConfig(const std::string& pathOrDir, bool* found = nullptr);

// Resolves the dataset config's "template" value. A built-in name is returned as is. "auto" gives
// the tokenizer's chat_template when it is recognised; otherwise it throws PeftError saying that
// the user has to choose one of the built-ins (and whether the template was absent or unknown).
TemplateKind resolveTemplate(const std::string& configured, const std::string& tokenizerChatTemplate);

// A generation prompt: `userText` as one user turn in template `k`, up to where the model's answer
// starts (ChatML: "...<|im_start|>assistant\n"), as training rendered the same turn.
std::string generationPrompt(TemplateKind k, const std::string& userText);

// The template a run trained with, for prompting its model: a built-in name as is; "auto" on a
// chat/instruction dataset: the model folder's tokenizer chat_template (nullopt when it is absent,
// unreadable or not recognised); nullopt for text and other formats (the prompt goes in as typed).
std::optional<TemplateKind> runPromptTemplate(const std::string& configured, const std::string& datasetFormat,
                                              const std::string& modelDir);

// Python's str.strip() on ASCII/Unicode whitespace (what Jinja's trim and .strip() do).
std::string pyStrip(const std::string& s);

}  // namespace peft::data
