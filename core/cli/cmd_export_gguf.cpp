// `peft-studio-cli export-gguf`: a model (with an adapter merged in) or a LoRA adapter alone as
// GGUF for llama.cpp / Ollama / LM Studio, optionally with an Ollama Modelfile.
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/export/gguf_export.h"

namespace peft::cli {

int cmdExportGguf(const std::vector<std::string>& argv) {
    Args a(argv, {"model", "adapter", "out", "type", "from"}, {"lora-only", "modelfile", "quiet"}, "export-gguf");
    gguf::ExportOptions o;
    o.modelDir = a.require("model");
    o.adapterDir = a.get("adapter");
    o.outPath = a.require("out");
    o.type = gguf::parseTensorType(a.get("type", "f16"));
    o.loraOnly = a.has("lora-only");
    o.modelfile = a.has("modelfile");
    o.baseGgufForModelfile = a.get("from");
    const bool quiet = a.has("quiet");
    int lastPct = -1;
    o.progress = [&](uint64_t done, uint64_t total) {
        const int pct = total ? static_cast<int>(100 * done / total) : 100;
        if (!quiet && pct / 10 != lastPct / 10) std::cerr << "export-gguf: " << pct << "%\n";
        lastPct = pct;
    };
    gguf::ExportResult r = gguf::exportGguf(o);
    std::cout << "wrote " << r.path << " (" << r.bytes << " bytes, " << (o.loraOnly ? "LoRA adapter" : "model") << ", "
              << gguf::tensorTypeName(o.type) << ")\n";
    if (!r.loraScaleNote.empty()) std::cout << "LoRA scale: " << r.loraScaleNote << "\n";
    if (!r.modelfilePath.empty()) std::cout << "wrote " << r.modelfilePath << "\n";
    return 0;
}

}  // namespace peft::cli
