// RunConfig::load resolves input paths relative to the config file's folder when they do not
// exist relative to the working directory; output_dir and paths that exist as given are kept.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/train/run_config.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace peft;

namespace {

void write(const fs::path& p, const std::string& s) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << s;
}

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
    write(root / "proj/train.jsonl", "{\"text\": \"a\"}\n");
    write(root / "proj/val.jsonl", "{\"text\": \"b\"}\n");
    write(root / "proj/run.json",
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
    write(root / "proj/run.json", R"({"model": "model", "dataset": {"path": "missing.jsonl"}})");
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
