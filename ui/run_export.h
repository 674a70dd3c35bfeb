// Exporting a finished run: the adapter (peft layout; a full fine-tuning run's whole model folder),
// a merged model folder where the method merges, and a run report (run.json, final metrics,
// README card). Runs on any thread; the
// chart PNGs are drawn by the Export page on the GUI thread.
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace peft::ui {

struct ExportRequest {
    std::string runDir;    // output_dir of the run: run.json, metrics.jsonl, adapter/
    std::string modelDir;  // base model (for the merged folder); empty = run.json's "model"
    std::string outDir;    // where adapter/, merged/ and report/ go
    bool adapter = true;
    bool merged = false;
    bool report = true;
};

struct ExportResult {
    std::string adapterDir, mergedDir, reportDir;
    std::string mergeSkipped;  // why no merged folder was written, when one was asked for
};

// The last metrics.jsonl line with each field (train loss, eval loss...) folded into one object.
nlohmann::json finalMetrics(const std::string& runDir);

// The Python lines that load the trained model with transformers: the base plus the adapter with
// peft, or, for a full fine-tuning run (`wholeModel`: its adapter/ folder is a whole model in
// transformers' layout), that folder alone.
std::string loadSnippet(const std::string& modelDir, const std::string& adapterDir, bool classification,
                        bool wholeModel);

// Throws PeftError naming the folder when the run has no adapter or a step fails.
ExportResult exportRun(const ExportRequest& req, const std::function<void(const std::string&)>& progress = {});

}  // namespace peft::ui
