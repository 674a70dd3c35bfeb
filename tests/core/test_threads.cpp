// CPU thread count: parsing of the kernel's CPU lists and cgroup quotas, counting physical cores
// from a /sys-like tree, the training.threads key, and that the chosen count reaches the threads
// that do the work (LibTorch keeps it per thread).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/train/run_config.h"
#include "core/util/cpu_cores.h"
#include "core/util/error.h"
#include "core/util/runtime_info.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace peft;

namespace {

// A scratch folder standing in for "/": the /proc and /sys files a test writes, and countCpus
// over them.
class FakeRoot {
public:
    void put(const std::string& rel, const std::string& text) const {
        test::writeAt(fs::path(m_dir.path()) / rel, text);
    }
    // cpuN's SMT sibling list.
    void siblings(int cpu, const std::string& list) const {
        put("sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/thread_siblings_list", list + "\n");
    }
    CpuCount count(const std::set<int>& cpus) const { return countCpus(cpus, m_dir.path()); }

private:
    test::TempDir m_dir;
};

// Sets or clears an environment variable for a scope.
class EnvVar {
public:
    EnvVar(const char* name, const char* value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old;
        if (value) ::setenv(name, value, 1);
        else ::unsetenv(name);
    }
    ~EnvVar() {
        if (m_old) ::setenv(m_name, m_old->c_str(), 1);
        else ::unsetenv(m_name);
    }

private:
    const char* m_name;
    std::optional<std::string> m_old;
};

}  // namespace

TEST(CpuCores, ParsesCpuLists) {
    EXPECT_EQ(parseCpuList("0-3,8\n", "f"), (std::set<int>{0, 1, 2, 3, 8}));
    EXPECT_EQ(parseCpuList("5", "f"), (std::set<int>{5}));
    EXPECT_EQ(parseCpuList("0,2-3,10-11", "f"), (std::set<int>{0, 2, 3, 10, 11}));
    EXPECT_TRUE(parseCpuList("\n", "f").empty());
    for (const char* bad : {"a", "3-1", "0-", "1,,2", "-2", "0-99999"}) {
        try {
            parseCpuList(bad, "cpuset.cpus");
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const PeftError& e) {
            EXPECT_NE(std::string(e.what()).find("cpuset.cpus"), std::string::npos) << e.what();
        }
    }
}

TEST(CpuCores, ParsesCgroupQuotas) {
    EXPECT_FALSE(parseCpuMax("max 100000\n", "f"));
    EXPECT_DOUBLE_EQ(*parseCpuMax("150000 100000\n", "f"), 1.5);
    EXPECT_DOUBLE_EQ(*parseCpuMax("400000 100000", "f"), 4.0);
    EXPECT_DOUBLE_EQ(*parseCpuMax("50000", "f"), 0.5);  // period defaults to 100 ms
    EXPECT_THROW(parseCpuMax("", "f"), PeftError);
    EXPECT_THROW(parseCpuMax("lots 100000", "f"), PeftError);
    EXPECT_THROW(parseCpuMax("100 0", "f"), PeftError);
    EXPECT_THROW(parseCpuMax("100 200 300", "f"), PeftError);
    EXPECT_FALSE(parseCfsQuota("-1\n", "100000\n", "f"));
    EXPECT_DOUBLE_EQ(*parseCfsQuota("250000\n", "100000\n", "f"), 2.5);
    EXPECT_THROW(parseCfsQuota("x", "100000", "f"), PeftError);
    EXPECT_THROW(parseCfsQuota("1000", "0", "f"), PeftError);
}

TEST(CpuCores, SmtSiblingsCountOnce) {
    FakeRoot root;
    // 4 logical CPUs, 2 cores: (0,2) and (1,3), as Linux numbers hyper-threads.
    for (int c : {0, 2}) root.siblings(c, "0,2");
    for (int c : {1, 3}) root.siblings(c, "1,3");
    CpuCount all = root.count({0, 1, 2, 3});
    EXPECT_EQ(all.allowed, 4);
    EXPECT_EQ(all.physical, 2);
    EXPECT_FALSE(all.quota);
    EXPECT_EQ(all.usable, 2);
    // An affinity mask of one thread per core still has two cores; both threads of one core, one.
    EXPECT_EQ(root.count({0, 1}).physical, 2);
    EXPECT_EQ(root.count({0, 2}).physical, 1);
    EXPECT_EQ(root.count({0, 2}).usable, 1);
    EXPECT_NE(all.describe().find("2 physical cores of 4 allowed CPUs"), std::string::npos) << all.describe();
}

TEST(CpuCores, NoTopologyMeansEveryCpuIsACore) {
    CpuCount c = FakeRoot().count({0, 1, 2});
    EXPECT_EQ(c.physical, 3);
    EXPECT_EQ(c.usable, 3);
    EXPECT_FALSE(c.quota);
}

TEST(CpuCores, CgroupV2QuotaCapsTheCount) {
    FakeRoot root;
    root.put("proc/self/cgroup", "0::/user.slice/job\n");
    root.put("sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
    root.put("sys/fs/cgroup/user.slice/job/cpu.max", "250000 100000\n");
    CpuCount c = root.count({0, 1, 2, 3, 4, 5, 6, 7});
    ASSERT_TRUE(c.quota);
    EXPECT_DOUBLE_EQ(*c.quota, 2.5);
    EXPECT_EQ(c.physical, 8);
    EXPECT_EQ(c.usable, 2);  // 2.5 CPUs of time: a third thread would only be throttled
    EXPECT_NE(c.describe().find("cgroup quota 2.50 CPUs"), std::string::npos) << c.describe();
    // A tighter parent wins.
    root.put("sys/fs/cgroup/user.slice/cpu.max", "100000 100000\n");
    EXPECT_EQ(root.count({0, 1, 2, 3}).usable, 1);
    // Less than one CPU of quota still gets one thread.
    root.put("sys/fs/cgroup/user.slice/cpu.max", "20000 100000\n");
    EXPECT_EQ(root.count({0, 1, 2, 3}).usable, 1);
}

TEST(CpuCores, CgroupV1QuotaInAContainer) {
    FakeRoot root;
    // The path names the host's hierarchy; the container's mount shows its own cgroup at the root.
    root.put("proc/self/cgroup", "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n");
    root.put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "300000\n");
    root.put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    CpuCount c = root.count({0, 1, 2, 3, 4, 5});
    ASSERT_TRUE(c.quota);
    EXPECT_DOUBLE_EQ(*c.quota, 3.0);
    EXPECT_EQ(c.usable, 3);
    // -1: no quota.
    root.put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    EXPECT_FALSE(root.count({0, 1}).quota);
    // A garbled file is no limit rather than a crash.
    root.put("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "garbage\n");
    EXPECT_EQ(root.count({0, 1}).usable, 2);
}

TEST(CpuCores, ThisProcessHasAtLeastOneUsableCore) {
    const CpuCount& c = processCpus();
    EXPECT_GE(c.usable, 1);
    EXPECT_LE(c.usable, c.physical);
    EXPECT_LE(c.physical, c.allowed);
    EXPECT_LE(c.allowed, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(Threads, AutoHonoursOmpNumThreadsElseCountsCores) {
    std::string why;
    EXPECT_EQ(resolveThreadCount(3, &why), 3);
    EXPECT_EQ(why, "as requested");
    {
        EnvVar env("OMP_NUM_THREADS", "5");
        EXPECT_EQ(resolveThreadCount(0, &why), 5);
        EXPECT_NE(why.find("OMP_NUM_THREADS=5"), std::string::npos) << why;
    }
    {
        EnvVar env("OMP_NUM_THREADS", nullptr);
        EXPECT_EQ(resolveThreadCount(0, &why), processCpus().usable);
        EXPECT_NE(why.find("physical core"), std::string::npos) << why;
    }
    {
        EnvVar env("OMP_NUM_THREADS", "lots");  // not a count: ignored
        EXPECT_EQ(resolveThreadCount(0), processCpus().usable);
    }
}

TEST(Threads, CountReachesWorkerThreadsAndScopeRestoresIt) {
    const int before = useThreads(2);
    ASSERT_EQ(before, 2);
    EXPECT_EQ(currentThreads(), 2);
    int seen = 0;
    std::thread([&] { seen = currentThreads(); }).join();
    EXPECT_EQ(seen, 2) << "a thread started after useThreads() must begin with its count";
    {
        ThreadsScope scope(1);
        EXPECT_EQ(scope.count(), 1);
        EXPECT_EQ(currentThreads(), 1);
    }
    EXPECT_EQ(currentThreads(), 2);
    std::thread([&] { seen = currentThreads(); }).join();
    EXPECT_EQ(seen, 2);
}

TEST(Threads, RunConfigKey) {
    json j = {{"model", "m"}, {"training", {{"threads", 3}}}};
    RunConfig c = RunConfig::fromJson(j, "run.json");
    EXPECT_EQ(c.training.threads, 3);
    EXPECT_EQ(c.toJson()["training"]["threads"], 3);
    EXPECT_EQ(RunConfig::fromJson(c.toJson(), "again").training.threads, 3);
    EXPECT_EQ(RunConfig::fromJson(json{{"model", "m"}}, "run.json").training.threads, 0);  // auto by default
    for (const json& bad : {json("4"), json(1.5), json(-1), json(true)}) {
        j["training"]["threads"] = bad;
        try {
            RunConfig::fromJson(j, "run.json");
            ADD_FAILURE() << "accepted threads " << bad.dump();
        } catch (const PeftError& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("run.json"), std::string::npos) << m;
            EXPECT_NE(m.find("training.threads"), std::string::npos) << m;
        }
    }
}

TEST(Threads, InfoAndTrainingLogNameTheCount) {
    test::CliResult info = test::runCli("info", false);
    ASSERT_EQ(info.rc, 0) << info.out;
    EXPECT_NE(info.out.find("threads: " + std::to_string(resolveThreadCount(0)) + " (auto"), std::string::npos)
        << info.out;

    test::TempDir d;
    test::writeAt(fs::path(d.path()) / "data.jsonl",
                  "{\"text\": \"one small line to learn\"}\n{\"text\": \"and another one\"}\n");
    json cfg = {
        {"model", test::fixture("tiny-llama/base")},
        {"dataset", {{"path", (fs::path(d.path()) / "data.jsonl").string()}, {"format", "text"}, {"max_length", 16}}},
        {"method", {{"peft_type", "LORA"}, {"r", 2}, {"target_modules", {"q_proj"}}}},
        {"training",
         {{"max_steps", 1},
          {"batch_size", 2},
          {"precision", "fp32"},
          {"device", "cpu"},
          {"eval_every", 0},
          {"threads", 1}}},
        {"output_dir", (fs::path(d.path()) / "out").string()}};
    test::writeAt(fs::path(d.path()) / "run.json", cfg.dump());
    test::CliResult r = test::runCli("train --quiet --config " + (fs::path(d.path()) / "run.json").string());
    ASSERT_EQ(r.rc, 0) << r.out;
    std::ifstream in(fs::path(d.path()) / "out/log.txt");
    const std::string log((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(log.find("CPU threads: 1 (as requested)"), std::string::npos) << log;
}
