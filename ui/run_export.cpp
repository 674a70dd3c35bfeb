// Run export: adapter copy, merged model folder, run report card.
#include "ui/run_export.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/io/model_config.h"
#include "core/model/loader.h"
#include "core/peft/full/export_model.h"
#include "core/peft/method.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace peft::ui {

json finalMetrics(const std::string& runDir) {
    json out = json::object();
    std::ifstream in(fs::path(runDir) / "metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        const json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;
        for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = it.value();
    }
    return out;
}

std::string loadSnippet(const std::string& modelDir, const std::string& adapterDir, bool classification,
                        bool wholeModel) {
    const std::string cls = classification ? "AutoModelForSequenceClassification" : "AutoModelForCausalLM";
    std::ostringstream s;
    s << "from transformers import " << cls << ", AutoTokenizer\n";
    if (wholeModel) {
        s << "\nmodel = " << cls << ".from_pretrained(\"" << adapterDir << "\")\n";
    } else {
        s << "from peft import PeftModel\n\n"
          << "base = " << cls << ".from_pretrained(\"" << modelDir << "\")\n";
    }
    s << "tokenizer = AutoTokenizer.from_pretrained(\"" << modelDir << "\")\n";
    if (!wholeModel) s << "model = PeftModel.from_pretrained(base, \"" << adapterDir << "\")\n";
    s << "model.eval()\n";
    return s.str();
}

namespace {
std::string num(const json& m, const char* key, int precision = 4) {
    if (!m.contains(key) || !m[key].is_number()) return "—";
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(precision);
    s << m[key].get<double>();
    return s.str();
}

std::string readmeCard(const json& run, const json& metrics, const std::string& adapterRel, bool hasMerged,
                       bool wholeModel) {
    const json& method = run.value("method", json::object());
    const json& training = run.value("training", json::object());
    const std::string model = run.value("model", std::string("?"));
    const bool cls = method.value("task_type", std::string("CAUSAL_LM")) == "SEQ_CLS";
    std::ostringstream s;
    if (wholeModel)
        s << "# Full fine-tune of `" << fs::path(model).filename().string() << "`\n\n"
          << "Trained with PEFT Studio: every weight of the model trained. `adapter/` holds the whole model "
             "in transformers' layout (`config.json` + `model.safetensors`).\n\n";
    else
        s << "# " << method.value("peft_type", std::string("LORA")) << " adapter for `"
          << fs::path(model).filename().string() << "`\n\n"
          << "Trained with PEFT Studio. The adapter uses the Hugging Face peft layout "
             "(`adapter_config.json` + `adapter_model.safetensors`).\n\n";
    s << "## Run\n\n"
      << "| | |\n|---|---|\n"
      << "| Base model | `" << model << "` |\n"
      << "| Method | " << method.value("peft_type", std::string("LORA")) << " |\n";
    for (const char* k : {"r", "lora_alpha", "lora_dropout"})
        if (method.contains(k)) s << "| " << k << " | " << method[k].dump() << " |\n";
    if (method.contains("target_modules")) s << "| target_modules | `" << method["target_modules"].dump() << "` |\n";
    s << "| Dataset | `" << run.value("dataset", json::object()).value("path", std::string()) << "` |\n";
    for (const char* k : {"epochs", "max_steps", "batch_size", "grad_accum", "lr", "scheduler", "precision"})
        if (training.contains(k)) s << "| " << k << " | " << training[k].dump() << " |\n";
    if (training.value("quantize_base", false)) s << "| Base weights | NF4 (QLoRA) |\n";
    s << "\n## Final metrics\n\n| | |\n|---|---|\n"
      << "| Steps | " << (metrics.contains("step") ? metrics["step"].dump() : "—") << " |\n"
      << "| Train loss | " << num(metrics, "loss") << " |\n"
      << "| Eval loss | " << num(metrics, "eval_loss") << " |\n"
      << "| Eval perplexity | " << num(metrics, "eval_ppl", 2) << " |\n";
    if (metrics.contains("eval_accuracy")) s << "| Eval accuracy | " << num(metrics, "eval_accuracy") << " |\n";
    s << "| Training time | " << num(metrics, "elapsed_s", 1) << " s |\n\n"
      << "Charts: `loss.png`, `lr.png`, `grad_norm.png`, `throughput.png`; every step: `metrics.jsonl`.\n\n"
      << "## Use it\n\n```python\n"
      << loadSnippet(model, adapterRel, cls, wholeModel) << "```\n";
    if (hasMerged)
        s << "\nA merged model folder (`merged/`) loads without peft: "
             "`AutoModelForCausalLM.from_pretrained(\"merged\")`.\n";
    return s.str();
}
}  // namespace

ExportResult exportRun(const ExportRequest& req, const std::function<void(const std::string&)>& progress) {
    auto say = [&](const std::string& m) {
        spdlog::info("export: {}", m);
        if (progress) progress(m);
    };
    const fs::path run(req.runDir), out(req.outDir);
    const fs::path adapterSrc = run / "adapter";
    if (!fs::exists(adapterSrc / "adapter_config.json") && !fs::exists(adapterSrc / "config.json"))
        fail(adapterSrc.string(), "the run has no trained adapter",
             "Finish (or stop) a training run first; it writes adapter/.");
    json runJson = json::object();
    if (fs::exists(run / "run.json")) runJson = readJsonFile((run / "run.json").string());
    const std::string modelDir = !req.modelDir.empty() ? req.modelDir : runJson.value("model", std::string());
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) fail(out.string(), "cannot create the export folder: " + ec.message(), "Pick a folder you can write to.");
    ExportResult r;
    if (req.adapter) {
        say("copying the adapter");
        const fs::path dst = out / "adapter";
        fs::remove_all(dst, ec);
        fs::copy(adapterSrc, dst, fs::copy_options::recursive, ec);
        if (ec) fail(dst.string(), "cannot copy the adapter: " + ec.message(), "Check the disk space and permissions.");
        r.adapterDir = dst.string();
    }
    // Full fine-tuning writes a whole model folder (config.json), every other method an adapter.
    const bool wholeModel = !fs::exists(adapterSrc / "adapter_config.json");
    if (req.merged && wholeModel) {
        r.mergeSkipped = "full fine-tuning already wrote a whole model folder (adapter/); there is nothing to merge.";
    } else if (req.merged) {
        if (modelDir.empty())
            fail(req.runDir, "no base model is known for the merged folder", "Choose the model on the Model page.");
        say("loading the base model");
        LoadedModel loaded = loadModel(modelDir);
        Adapter ad = loadAdapter(*loaded.model, adapterSrc.string());
        if (!ad.method->canMerge()) {
            r.mergeSkipped = ad.method->peftType() +
                " adapters cannot be merged into the base weights; only LoRA, DoRA "
                "and (IA)3 merge. The adapter is exported as is.";
            say(r.mergeSkipped);
        } else {
            say("merging the adapter into the base weights");
            ad.method->merge();
            const fs::path dst = out / "merged";
            fs::remove_all(dst, ec);
            exportModelFolder(*loaded.model, modelDir, dst.string());
            r.mergedDir = dst.string();
        }
    }
    if (req.report) {
        say("writing the run report");
        const fs::path dst = out / "report";
        fs::create_directories(dst, ec);
        if (ec) fail(dst.string(), "cannot create the report folder: " + ec.message(), "");
        const json metrics = finalMetrics(req.runDir);
        writeFileAtomic((dst / "run.json").string(), runJson.dump(2) + "\n");
        writeFileAtomic((dst / "final_metrics.json").string(), metrics.dump(2) + "\n");
        if (fs::exists(run / "metrics.jsonl")) {
            fs::copy_file(run / "metrics.jsonl", dst / "metrics.jsonl", fs::copy_options::overwrite_existing, ec);
            if (ec) fail((dst / "metrics.jsonl").string(), "cannot copy the metrics: " + ec.message(), "");
        }
        const std::string adapterRel = req.adapter ? "../adapter" : adapterSrc.string();
        writeFileAtomic((dst / "README.md").string(),
                        readmeCard(runJson, metrics, adapterRel, !r.mergedDir.empty(), wholeModel));
        r.reportDir = dst.string();
    }
    say("done");
    return r;
}

}  // namespace peft::ui
