// Tokenizer metadata for GGUF (tokenizer.ggml.*, tokenizer.chat_template) from a Hugging Face
// tokenizer.json + tokenizer_config.json. Byte-level BPE goes out as llama.cpp's "gpt2" model with
// the pre-tokenizer whose regex matches; a byte-fallback BPE (Llama-2, Mistral, TinyLlama) as the
// "llama" (SentencePiece) model. Anything else is an error naming what was found. No torch.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/export/gguf_writer.h"
#include "core/io/model_config.h"

namespace peft::gguf {

struct TokenizerSummary {
    std::string model;  // "gpt2" | "llama"
    std::string pre;    // "gpt-2", "llama-bpe", "qwen2", ... ("default" for llama)
    int64_t tokens = 0;
    bool addBos = false;
    std::string chatTemplate;
    std::vector<std::string> stopTokens;  // eos (and end-of-turn) token strings, for Modelfiles
};

// The llama.cpp pre-tokenizer name for a byte-level BPE split regex; throws PeftError naming
// the regex when llama.cpp has none for it.
std::string preTokenizerForRegex(const std::string& regex, const std::string& where);

// Reads `dir`/tokenizer.json (+ tokenizer_config.json) and sets the tokenizer keys on `w`.
// `vocabSize` is the model's embedding rows: the token list is padded to it, as llama.cpp wants.
TokenizerSummary addTokenizerMetadata(Writer& w, const std::string& dir, const ModelConfig& cfg);

}  // namespace peft::gguf
