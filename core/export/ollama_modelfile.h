// An Ollama Modelfile for an exported GGUF: FROM, ADAPTER (LoRA-only export), TEMPLATE translated
// from the model's chat template (the four built-in chat templates), PARAMETER stop. No torch.
#pragma once
#include <string>
#include <vector>

#include "core/data/chat_template.h"

namespace peft::gguf {

struct ModelfileSpec {
    std::string from;          // a GGUF path or an Ollama model name
    std::string adapter;       // LoRA GGUF path, or empty
    std::string chatTemplate;  // Jinja (tokenizer_config.json); empty for none
    std::vector<std::string> stops;
    bool addsBos = false;  // the GGUF's tokenizer.ggml.add_bos_token: llama.cpp adds BOS itself
};

// Ollama's Go TEMPLATE for a built-in chat template (empty for alpaca/plain). `addsBos`: llama.cpp
// puts BOS in front of the prompt itself (the GGUF's tokenizer.ggml.add_bos_token), so the template
// leaves out the BOS text the Jinja original starts with, or the model would see two.
std::string goChatTemplate(data::TemplateKind k, bool addsBos);

// The Modelfile text. A chat template that is not one of the built-ins (ChatML, Llama 3,
// Llama 2, Zephyr) gets no TEMPLATE line and a comment saying so (Ollama then uses the GGUF's).
std::string modelfileText(const ModelfileSpec& spec);

}  // namespace peft::gguf
