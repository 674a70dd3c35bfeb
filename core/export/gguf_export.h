// GGUF export of a model (optionally with an adapter merged in) or of a LoRA adapter alone, for
// llama.cpp, Ollama and LM Studio. Builds on the format writer (gguf_writer.h), the name tables
// (gguf_arch.h) and the tokenizer metadata (gguf_tokenizer.h).
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/export/gguf_tokenizer.h"
#include "core/export/gguf_writer.h"

namespace peft::gguf {

// "f32" | "f16" | "bf16" | "q8_0"; PeftError naming the value otherwise.
TensorType parseTensorType(const std::string& name);

struct ExportOptions {
    std::string modelDir;    // Hugging Face model folder (the base)
    std::string adapterDir;  // optional: peft adapter folder, or a full fine-tuning run's model folder
    std::string outPath;     // FILE.gguf
    TensorType type = TensorType::F16;
    bool loraOnly = false;             // write a llama.cpp LoRA adapter instead of a whole model
    bool modelfile = false;            // also write an Ollama Modelfile beside the GGUF
    std::string baseGgufForModelfile;  // --lora-only: the FROM line (default: the base model's name)
    std::function<void(uint64_t done, uint64_t total)> progress;
    const std::atomic<bool>* cancel = nullptr;
};

struct ExportResult {
    std::string path;
    uint64_t bytes = 0;
    std::string modelfilePath;
    std::string loraScaleNote;  // LoRA-only: how the per-module scale was written
    TokenizerSummary tokenizer;
};

// Throws PeftError (nothing written) for unsupported architectures, tokenizers and methods.
ExportResult exportGguf(const ExportOptions& options);

// The exact size of the whole-model GGUF, from config.json, tokenizer.json and the safetensors
// headers alone (no weights read). For the GUI's "expected file size".
uint64_t expectedGgufBytes(const std::string& modelDir, TensorType type);

}  // namespace peft::gguf
