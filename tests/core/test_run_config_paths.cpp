// RunConfig::load resolves input paths relative to the config file's folder when they do not
// exist relative to the working directory; output_dir and paths that exist as given are kept.
// A run folder's run.json holds absolute input paths, so the folder reads the same from anywhere.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "core/eval/eval_report.h"
#include "core/train/run_config.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace peft;

namespace {

// Changes the working directory for the scope of a test.
class Cwd {
public:
    explicit Cwd(const fs::path& p) : m_old(fs::current_path()) { fs::current_path(p); }
    ~Cwd() { fs::current_path(m_old); }

private:
    fs::path m_old;
};

}  // namespace

TEST(RunConfigPaths, RelativeInputsResolveBesideTheConfig) {
    test::TempDir tmp;
    const fs::path root = tmp.path();
    fs::create_directories(root / "proj/model");
    test::writeAt(root / "proj/train.jsonl", "{\"text\": \"a\"}\n");
    test::writeAt(root / "proj/val.jsonl", "{\"text\": \"b\"}\n");
    test::writeAt(root / "proj/run.json",
                  R"({"model": "model", "dataset": {"path": "train.jsonl", "validation_path": "val.jsonl"},
              "method": {"peft_type": "LORA", "init_from": "model"}, "output_dir": "runs/x"})");
    fs::create_directories(root / "elsewhere");
    Cwd cwd(root / "elsewhere");
    RunConfig c = RunConfig::load((root / "proj/run.json").string());
    EXPECT_EQ(fs::path(c.model), (root / "proj/model").lexically_normal());
    EXPECT_EQ(fs::path(c.dataset["path"].get<std::string>()), (root / "proj/train.jsonl").lexically_normal());
    EXPECT_EQ(fs::path(c.dataset["validation_path"].get<std::string>()), (root / "proj/val.jsonl").lexically_normal());
    EXPECT_EQ(fs::path(c.method["init_from"].get<std::string>()), (root / "proj/model").lexically_normal());
    EXPECT_EQ(c.outputDir, "runs/x");  // outputs stay relative to the working directory
}

TEST(RunConfigPaths, PathsThatExistAsGivenKeepTheirMeaning) {
    test::TempDir tmp;
    const fs::path root = tmp.path();
    fs::create_directories(root / "proj/model");
    fs::create_directories(root / "work/model");  // exists relative to the cwd: wins
    test::writeAt(root / "proj/run.json", R"({"model": "model", "dataset": {"path": "missing.jsonl"}})");
    Cwd cwd(root / "work");
    RunConfig c = RunConfig::load((root / "proj/run.json").string());
    EXPECT_EQ(c.model, "model");
    // Exists nowhere: left as written, so the error later names what the user wrote.
    EXPECT_EQ(c.dataset["path"], "missing.jsonl");
    // Absolute paths are never touched.
    RunConfig d = RunConfig::fromJson(nlohmann::json{{"model", (root / "proj/model").string()}}, "t");
    d.resolveRelativePaths((root / "work").string());
    EXPECT_EQ(d.model, (root / "proj/model").string());
}

TEST(RunConfigPaths, RunFolderConfigHasAbsoluteInputs) {
    test::TempDir tmp;
    const fs::path root = tmp.path();
    fs::create_directories(root / "work/model");
    test::writeAt(root / "work/train.jsonl", "{\"text\": \"a\"}\n");
    Cwd cwd(root / "work");
    RunConfig c =
        RunConfig::fromJson(nlohmann::json{{"model", "model"},
                                           {"dataset", {{"path", "train.jsonl"}, {"validation_path", "gone.jsonl"}}},
                                           {"output_dir", "runs/x"}},
                            "t");
    const RunConfig f = c.forRunFolder();
    EXPECT_EQ(fs::path(f.model), (root / "work/model").lexically_normal());
    EXPECT_EQ(fs::path(f.dataset["path"].get<std::string>()), (root / "work/train.jsonl").lexically_normal());
    EXPECT_EQ(f.dataset["validation_path"], "gone.jsonl");  // exists nowhere: the error later names what was written
    EXPECT_EQ(fs::path(f.outputDir), (root / "work/runs/x").lexically_normal());
    EXPECT_EQ(c.model, "model");  // the run's own config is unchanged
}

// The bug this guards against: a trainer-written run.json kept the model path relative to where
// training started, so `evaluate --run RUN` from another folder could not find the model.
TEST(RunConfigPaths, TrainedRunFolderEvaluatesFromAnotherWorkingDirectory) {
    test::TempDir tmp;
    const fs::path proj = fs::path(tmp.path()) / "proj";
    fs::create_directories(proj);
    fs::create_directory_symlink(fs::absolute(test::fixture("tiny-llama/base")), proj / "model");
    {
        std::ofstream data(proj / "data.jsonl");
        const char* rows[][2] = {{"Say hello", "hello"},
                                 {"Count to three", "one two three"},
                                 {"Name a colour", "blue"},
                                 {"Say goodbye", "goodbye"}};
        for (int i = 0; i < 8; ++i)
            data << nlohmann::json{{"instruction", rows[i % 4][0]}, {"output", rows[i % 4][1]}}.dump() << "\n";
    }
    test::writeAt(proj / "run.json",
                  R"({"model": "model", "dataset": {"path": "data.jsonl", "format": "instruction", "template": "alpaca",
              "validation_split": 0.25, "max_length": 128},
              "method": {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"]},
              "training": {"max_steps": 1, "batch_size": 2, "precision": "fp32", "device": "cpu", "eval_every": 0,
                           "save_every": 0}, "output_dir": "runs/r"})");
    const std::string cli = test::cliPath();
    auto shell = [](const std::string& cmd) { return test::runShell(cmd + " 2>&1"); };
    auto t = shell("cd '" + proj.string() + "' && '" + cli + "' train --quiet --config run.json");
    ASSERT_EQ(t.rc, 0) << t.out;
    const fs::path run = proj / "runs/r";
    const auto written = nlohmann::json::parse(std::ifstream(run / "run.json"));
    EXPECT_TRUE(fs::path(written["model"].get<std::string>()).is_absolute()) << written.dump(2);
    EXPECT_TRUE(fs::path(written["dataset"]["path"].get<std::string>()).is_absolute()) << written.dump(2);
    fs::create_directories(fs::path(tmp.path()) / "elsewhere");
    auto e = shell("cd '" + tmp.file("elsewhere") + "' && '" + cli + "' evaluate --quiet --run '" + run.string() +
                   "' --max-new-tokens 3 --metrics em,rougeL");
    ASSERT_EQ(e.rc, 0) << e.out;
    const eval::EvalReport rep = eval::readReport((run / "evaluation/report.json").string());
    EXPECT_FALSE(rep.rows.empty());
    EXPECT_EQ(rep.sides, (std::vector<std::string>{"base", "tuned"}));
}

TEST(RunConfigTraining, PackedWeightsKey) {
    // training.packed_weights: on by default, read and written back; a wrong type names the key.
    nlohmann::json j = {{"model", "m"}, {"training", {{"max_steps", 1}}}};
    EXPECT_TRUE(RunConfig::fromJson(j, "run.json").training.packedWeights);
    j["training"]["packed_weights"] = false;
    const RunConfig c = RunConfig::fromJson(j, "run.json");
    EXPECT_FALSE(c.training.packedWeights);
    EXPECT_EQ(c.toJson()["training"]["packed_weights"], false);
    EXPECT_FALSE(RunConfig::fromJson(c.toJson(), "again").training.packedWeights);
    j["training"]["packed_weights"] = "no";
    try {
        RunConfig::fromJson(j, "run.json");
        FAIL() << "a string was accepted";
    } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("packed_weights"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("run.json"), std::string::npos) << e.what();
    }
}
