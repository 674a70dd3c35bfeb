// Disk full during a save: a file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored so write() fails with
// EFBIG like a full disk fails with ENOSPC) makes writes fail part-way. The previous file or
// checkpoint must survive, no temporary file may be left, and the error must name the file.
#include <gtest/gtest.h>
#include <signal.h>

#include <csignal>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/io/safetensors.h"
#include "core/io/tensor_io.h"
#include "core/train/trainer.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

using peft::test::errorOf;

namespace {

// Limits the size of any file this process writes to `bytes` while alive.
class FileSizeLimit {
public:
    explicit FileSizeLimit(rlim_t bytes) {
        m_oldHandler = ::signal(SIGXFSZ, SIG_IGN);
        ::getrlimit(RLIMIT_FSIZE, &m_old);
        rlimit l = m_old;
        l.rlim_cur = bytes;
        EXPECT_EQ(::setrlimit(RLIMIT_FSIZE, &l), 0);
    }
    ~FileSizeLimit() {
        ::setrlimit(RLIMIT_FSIZE, &m_old);
        ::signal(SIGXFSZ, m_oldHandler);
    }

private:
    rlimit m_old{};
    void (*m_oldHandler)(int) = nullptr;
};

// Files whose name holds ".tmp" anywhere under `dir`.
std::vector<std::string> leftovers(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().filename().string().find(".tmp") != std::string::npos) out.push_back(e.path().string());
    return out;
}

}  // namespace

TEST(DiskFull, AtomicWriteKeepsThePreviousFile) {
    peft::test::TempDir d;
    const std::string path = d.file("state.json");
    peft::writeFileAtomic(path, "previous content\n");
    std::string e;
    {
        FileSizeLimit limit(64 * 1024);
        e = errorOf([&] { peft::writeFileAtomic(path, std::string(1 << 20, 'x')); });
    }
    ASSERT_FALSE(e.empty()) << "a 1 MiB write under a 64 KiB file-size limit did not fail";
    EXPECT_NE(e.find(path), std::string::npos) << e;
    EXPECT_NE(e.find("write failed"), std::string::npos) << e;
    EXPECT_NE(e.find("previous file was kept"), std::string::npos) << e;
    EXPECT_EQ(peft::readFile(path), "previous content\n");
    EXPECT_TRUE(leftovers(d.path()).empty());
}

TEST(DiskFull, SafetensorsWriteKeepsThePreviousFile) {
    peft::test::TempDir d;
    const std::string path = d.file("adapter_model.safetensors");
    peft::saveSafetensors(path, {{"a", torch::ones({4})}});
    std::string e;
    {
        FileSizeLimit limit(16 * 1024);
        e = errorOf([&] { peft::saveSafetensors(path, {{"a", torch::ones({1 << 16})}}); });
    }
    ASSERT_FALSE(e.empty());
    EXPECT_NE(e.find(path), std::string::npos) << e;
    auto back = peft::loadSafetensors(path);
    ASSERT_EQ(back.count("a"), 1u);
    EXPECT_EQ(back.at("a").numel(), 4);
    EXPECT_TRUE(leftovers(d.path()).empty());
}

TEST(DiskFull, FailedCheckpointKeepsThePreviousOne) {
    peft::test::TempDir d;
    {
        std::ofstream data(d.file("data.jsonl"));
        for (int i = 0; i < 16; ++i)
            data << json{{"text", "row " + std::to_string(i) + " of a tiny dataset for a disk test"}}.dump() << "\n";
    }
    auto config = [&](int64_t steps) {
        json j = {{"model", peft::test::fixture("tiny-llama/base")},
                  {"dataset", {{"path", d.file("data.jsonl")}, {"format", "text"}, {"max_length", 32}}},
                  {"method", {{"peft_type", "LORA"}, {"r", 4}, {"target_modules", {"q_proj", "v_proj"}}}},
                  {"training",
                   {{"max_steps", steps},
                    {"batch_size", 2},
                    {"precision", "fp32"},
                    {"device", "cpu"},
                    {"save_every", 2},
                    {"eval_every", 0},
                    {"lr", 1e-3}}},
                  {"output_dir", d.file("run")}};
        return peft::RunConfig::fromJson(j, "test");
    };
    {
        peft::Trainer t(config(4));
        t.setup();
        auto r = t.run();
        ASSERT_EQ(r.status, peft::TrainStatus::Finished) << r.message;
    }
    const std::string before = peft::latestCheckpoint(d.file("run"));
    ASSERT_NE(before.find("step-00000004"), std::string::npos) << before;
    const std::string beforeState = peft::readFile(before + "/trainer_state.json");
    const auto beforeTrainable = peft::readFile(before + "/trainable.safetensors");

    peft::Trainer t(config(6));
    t.setup();
    ASSERT_TRUE(t.resumeFromLatest());
    std::string e;
    {
        // Smaller than trainable.safetensors: the step-6 checkpoint cannot be written.
        FileSizeLimit limit(beforeTrainable.size() / 2);
        e = errorOf([&] { t.run(); });
    }
    ASSERT_FALSE(e.empty()) << "the checkpoint save did not fail under the file-size limit";
    EXPECT_NE(e.find("step-00000006"), std::string::npos) << e;
    EXPECT_NE(e.find("trainable.safetensors"), std::string::npos) << e;
    EXPECT_NE(e.find("previous checkpoint " + before + " is intact"), std::string::npos) << e;
    // The step-4 checkpoint is still the newest, whole, and resumable.
    EXPECT_EQ(peft::latestCheckpoint(d.file("run")), before);
    EXPECT_EQ(peft::readFile(before + "/trainer_state.json"), beforeState);
    EXPECT_EQ(peft::readFile(before + "/trainable.safetensors"), beforeTrainable);
    EXPECT_TRUE(leftovers(d.file("run")).empty());
    EXPECT_FALSE(fs::exists(d.file("run/checkpoints/step-00000006")));
    peft::Trainer again(config(6));
    again.setup();
    ASSERT_TRUE(again.resumeFromLatest());
    EXPECT_EQ(again.step(), 4);
    EXPECT_EQ(again.run().status, peft::TrainStatus::Finished);
}
