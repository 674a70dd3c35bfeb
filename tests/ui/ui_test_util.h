// Helpers for the QtTest suites: fixture paths, and the small run the Train page tests drive.
#pragma once
#include <QDir>
#include <QString>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/io/model_config.h"
#include "ui/project_state.h"

namespace peft::uitest {

inline QString fixture(const QString& rel) {
    const char* f = std::getenv("PEFT_FIXTURES");
    return QDir(f ? QString::fromLocal8Bit(f) : QStringLiteral("../shared/fixtures")).filePath(rel);
}

// A path in the source tree (PEFT_SOURCE_DIR, which CTest sets; "." without it).
inline QString sourcePath(const QString& rel) {
    const char* s = std::getenv("PEFT_SOURCE_DIR");
    return QDir(s ? QString::fromLocal8Bit(s) : QStringLiteral(".")).filePath(rel);
}

// Opens the tiny-llama fixture in `state` (as the Model page does) and returns its config.
inline ModelConfig openTinyLlama(ui::ProjectState& state) {
    const QString dir = fixture(QStringLiteral("tiny-llama/base"));
    const ModelConfig mc = ModelConfig::load(dir.toStdString());
    state.setModel(dir, mc);
    return mc;
}

// Puts a run config's sections into the project, as filling in the pages would (the objective
// only when the run names one).
inline void loadRun(ui::ProjectState& state, const nlohmann::json& run) {
    for (const char* k : {"model", "dataset", "method", "training", "objective", "output_dir"})
        if (run.contains(k)) state.setSection(k, run[k]);
}

// A 24-row text dataset written into `dir`, and a run config for `maxSteps` fp32 LoRA (r 4) steps
// of batch 2 on the CPU with the tiny-llama fixture: a quarter of the rows validate every 3 steps.
inline nlohmann::json tinyTextRun(const QTemporaryDir& dir, int maxSteps) {
    const QString data = dir.filePath(QStringLiteral("train.jsonl"));
    std::ofstream out(data.toStdString());
    for (int i = 0; i < 24; ++i)
        out << nlohmann::json{{"text", "The quick brown fox number " + std::to_string(i) + " jumps over the lazy dog."}}
                   .dump()
            << "\n";
    out.close();
    nlohmann::json c = ui::defaultRunConfig();
    c["model"] = fixture(QStringLiteral("tiny-llama/base")).toStdString();
    c["dataset"]["path"] = data.toStdString();
    c["dataset"]["max_length"] = 32;
    c["dataset"]["validation_split"] = 0.25;
    c["method"]["r"] = 4;
    c["method"]["lora_dropout"] = 0.0;
    c["training"]["max_steps"] = maxSteps;
    c["training"]["batch_size"] = 2;
    c["training"]["precision"] = "fp32";
    c["training"]["eval_every"] = 3;
    c["training"]["save_every"] = 100;
    c["training"]["lr"] = 1e-3;
    c["training"]["device"] = "cpu";
    c["output_dir"] = dir.filePath(QStringLiteral("run")).toStdString();
    return c;
}

// Waits up to `ms` for `done` (a page's signal whose first argument is the error message, empty on
// success) and says whether it came exactly once and carried no error; the failure is logged.
inline bool endsWithoutError(QSignalSpy& done, int ms) {
    if (!QTest::qWaitFor([&] { return done.count() >= 1; }, ms)) {
        qWarning("no result within %d ms", ms);
        return false;
    }
    if (done.count() != 1) {
        qWarning("the result came %d times, not once", static_cast<int>(done.count()));
        return false;
    }
    const QString error = done.first().first().toString();
    if (!error.isEmpty()) qWarning("%s", qPrintable(error));
    return error.isEmpty();
}

// LoRA r 4 (alpha 8) on q_proj and v_proj: the candidate the Budget page tests add.
inline nlohmann::json qvLora() {
    return {{"peft_type", "LORA"},
            {"task_type", "CAUSAL_LM"},
            {"r", 4},
            {"lora_alpha", 8},
            {"target_modules", {"q_proj", "v_proj"}}};
}

}  // namespace peft::uitest
