// Data-parallel training over c10d Gloo: 2 ranks x batch 2 equal 1 process x batch 4 (per-step
// loss, pre-clip gradient norm, final adapter) on tiny-llama and tiny-gpt2, with grad_accum and a
// classification run; a rank killed mid-run stops the other within the timeout and the run
// resumes with 2 ranks or 1 to the uninterrupted adapter; torchrun's variables are checked.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/dist/data_parallel.h"
#include "core/dist/launcher.h"
#include "core/dist/rank_env.h"
#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "tests/cli_process.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Starts the CLI with extra environment variables and its output in `log`; returns the pid.
pid_t spawn(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
            const std::string& log) {
    return peft::test::spawnCli(args, log, env);
}

// One rank of `world` started by hand, as torchrun would: RANK, WORLD_SIZE, MASTER_ADDR (this
// machine) and MASTER_PORT.
pid_t spawnRank(const std::vector<std::string>& args, int rank, int world, int port, const std::string& log) {
    return spawn(args,
                 {{"RANK", std::to_string(rank)},
                  {"WORLD_SIZE", std::to_string(world)},
                  {"MASTER_ADDR", "127.0.0.1"},
                  {"MASTER_PORT", std::to_string(port)}},
                 log);
}

using peft::test::waitExit;

std::string readAll(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

struct StepRecord {
    double loss, gradNorm;
};
std::map<int64_t, StepRecord> metrics(const std::string& outDir) {
    std::ifstream in(fs::path(outDir) / "metrics.jsonl");
    std::string line;
    std::map<int64_t, StepRecord> out;
    while (std::getline(in, line)) {
        auto j = json::parse(line, nullptr, false);
        if (j.is_discarded()) continue;
        out[j["step"].get<int64_t>()] = {j["loss"].get<double>(), j["grad_norm"].get<double>()};
    }
    return out;
}

// Largest absolute difference between two adapters' tensors (same names and shapes required).
double adapterDiff(const std::string& a, const std::string& b) {
    auto fa = peft::st::File::open(a + "/adapter_model.safetensors");
    auto fb = peft::st::File::open(b + "/adapter_model.safetensors");
    EXPECT_EQ(fa->tensors().size(), fb->tensors().size());
    EXPECT_FALSE(fa->tensors().empty());
    double m = 0;
    for (const auto& ta : fa->tensors()) {
        const auto& tb = fb->at(ta.name);
        EXPECT_EQ(ta.shape, tb.shape) << ta.name;
        if (ta.dtype != peft::st::DType::F32 || tb.dtype != peft::st::DType::F32) {
            ADD_FAILURE() << ta.name << " is not fp32";
            continue;
        }
        const float* pa = reinterpret_cast<const float*>(fa->data(ta));
        const float* pb = reinterpret_cast<const float*>(fb->data(tb));
        for (int64_t i = 0; i < ta.numel(); ++i) m = std::max(m, static_cast<double>(std::fabs(pa[i] - pb[i])));
    }
    return m;
}

void writeText(const std::string& path, const std::string& s) { std::ofstream(path) << s; }

// 22 short lines (not a multiple of 4: the last global batch of each epoch is partial).
std::string lmData(peft::test::TempDir& d) {
    const char* words[] = {"the", "adapter", "learns",  "a",   "low",   "rank", "update",
                           "of",  "weights", "quickly", "and", "ranks", "agree"};
    std::string s;
    for (int i = 0; i < 22; ++i) {
        std::string text;
        for (int k = 0; k < 4 + (i * 7) % 11; ++k) text += std::string(k ? " " : "") + words[(i * 5 + k * 3) % 13];
        s += json{{"text", text}}.dump() + "\n";
    }
    const std::string p = d.file("lm.jsonl");
    writeText(p, s);
    return p;
}

std::string clsData(peft::test::TempDir& d) {
    std::string s = "text,label\n";
    const char* good[] = {"fine film", "great fun", "lovely story", "good acting", "nice ending"};
    const char* bad[] = {"dull plot", "bad film", "weak acting", "poor ending", "boring story"};
    for (int i = 0; i < 18; ++i)
        s += std::string(i % 2 ? good[i % 5] : bad[i % 5]) + "," + (i % 2 ? "pos" : "neg") + "\n";
    const std::string p = d.file("cls.csv");
    writeText(p, s);
    return p;
}

json runConfig(const std::string& model, const std::string& data, const std::string& out, int64_t batch, int64_t accum,
               const json& method, int64_t steps = 6) {
    return {{"model", peft::test::fixture(model + "/base")},
            {"dataset", {{"path", data}, {"max_length", 40}, {"validation_split", 0}}},
            {"method", method},
            {"training",
             {{"max_steps", steps},
              {"batch_size", batch},
              {"grad_accum", accum},
              {"lr", 5e-3},
              {"precision", "fp32"},
              {"device", "cpu"},
              {"save_every", 2},
              {"keep_checkpoints", 5},
              {"eval_every", 0},
              {"seed", 3},
              {"warmup_steps", 1},
              {"max_grad_norm", 0.5},
              {"threads", 1}}},
            {"output_dir", out}};
}

json lora(const std::vector<std::string>& targets) {
    return {{"peft_type", "LORA"}, {"r", 4}, {"lora_alpha", 8}, {"lora_dropout", 0.0}, {"target_modules", targets}};
}

// Trains `cfg` with `nproc` ranks (0: a plain process) and returns the exit code; output in log.
int train(peft::test::TempDir& d, const json& cfg, const std::string& name, int nproc,
          std::vector<std::string> extra = {}) {
    const std::string path = d.file(name + ".json");
    writeText(path, cfg.dump(2));
    std::vector<std::string> args = {"train", "--config", path, "--quiet"};
    if (nproc > 0) args.insert(args.end(), {"--nproc", std::to_string(nproc)});
    args.insert(args.end(), extra.begin(), extra.end());
    return waitExit(spawn(args, {}, d.file(name + ".log")));
}

void expectSameRun(const std::string& refOut, const std::string& out, const std::string& what) {
    auto a = metrics(refOut), b = metrics(out);
    ASSERT_EQ(a.size(), b.size()) << what;
    ASSERT_FALSE(a.empty()) << what;
    for (const auto& [step, r] : a) {
        ASSERT_TRUE(b.count(step)) << what << " step " << step;
        EXPECT_NEAR(r.loss, b[step].loss, 1e-5) << what << " loss at step " << step;
        EXPECT_NEAR(r.gradNorm, b[step].gradNorm, 1e-5) << what << " pre-clip grad norm at step " << step;
    }
    EXPECT_LE(adapterDiff(refOut + "/adapter", out + "/adapter"), 1e-5) << what;
}

void checkEquivalence(const std::string& model, const json& method, const std::string& data, int64_t accum) {
    peft::test::TempDir d;
    const std::string one = d.file("one"), two = d.file("two");
    ASSERT_EQ(train(d, runConfig(model, data, one, 4, accum, method), "one", 0), 0) << readAll(d.file("one.log"));
    ASSERT_EQ(train(d, runConfig(model, data, two, 2, accum, method), "two", 2), 0)
        << readAll(d.file("two.log")) << readAll(two + "/logs/rank-1.log");
    expectSameRun(one, two, model + " accum " + std::to_string(accum));
    // Rank 0 alone wrote the run's files; rank 1 only its log.
    EXPECT_TRUE(fs::exists(two + "/log.txt"));
    EXPECT_NE(readAll(two + "/log.txt").find("data-parallel: 2 ranks (Gloo)"), std::string::npos);
    EXPECT_TRUE(fs::exists(two + "/logs/rank-1.log"));
}

}  // namespace

TEST(RankEnv, ReadsTorchrunsVariables) {
    std::map<std::string, std::string> e = {{"WORLD_SIZE", "4"},
                                            {"RANK", "3"},
                                            {"LOCAL_RANK", "1"},
                                            {"LOCAL_WORLD_SIZE", "2"},
                                            {"MASTER_ADDR", "10.0.0.1"},
                                            {"MASTER_PORT", "29400"},
                                            {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                            {"TORCHELASTIC_RESTART_COUNT", "2"}};
    auto get = [&](const char* k) -> const char* {
        auto it = e.find(k);
        return it == e.end() ? nullptr : it->second.c_str();
    };
    auto r = peft::dist::RankEnv::parse(get);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->world, 4);
    EXPECT_EQ(r->rank, 3);
    EXPECT_EQ(r->localRank, 1);
    EXPECT_EQ(r->localWorld, 2);
    EXPECT_EQ(r->masterAddr, "10.0.0.1");
    EXPECT_EQ(r->masterPort, 29400);
    EXPECT_TRUE(r->agentStore);
    EXPECT_EQ(r->restartCount, 2);
    // Errors name the variable.
    for (const auto& [key, bad] : std::vector<std::pair<std::string, std::string>>{
             {"RANK", "4"}, {"RANK", "x"}, {"WORLD_SIZE", "0"}, {"MASTER_PORT", "70000"}, {"LOCAL_RANK", "2"}}) {
        auto copy = e;
        copy[key] = bad;
        auto g = [&](const char* k) -> const char* {
            auto it = copy.find(k);
            return it == copy.end() ? nullptr : it->second.c_str();
        };
        try {
            peft::dist::RankEnv::parse(g);
            ADD_FAILURE() << key << "=" << bad << " accepted";
        } catch (const peft::PeftError& err) {
            EXPECT_NE(std::string(err.what()).find(key == "RANK" && bad == "4" ? "RANK" : key), std::string::npos)
                << err.what();
        }
    }
    EXPECT_FALSE(peft::dist::RankEnv::parse([](const char*) -> const char* { return nullptr; }));
}

TEST(DataParallel, LocalShareSplitsRowsDisjointly) {
    peft::data::Batch b;
    b.inputIds = torch::arange(5 * 3).view({5, 3});
    b.attentionMask = torch::ones({5, 3}, torch::kInt64);
    b.labels = b.inputIds.clone();
    std::vector<int64_t> seen;
    for (int r = 0; r < 2; ++r)
        for (const auto& c : peft::dist::localShare(b, r, 2, 2)) {
            EXPECT_LE(c.inputIds.size(0), 2);
            for (int64_t i = 0; i < c.inputIds.size(0); ++i) seen.push_back(c.inputIds[i][0].item<int64_t>() / 3);
        }
    EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4}));
    // One row, two ranks: rank 0 has none, rank 1 the row.
    peft::data::Batch one;
    one.inputIds = torch::zeros({1, 3}, torch::kInt64);
    one.attentionMask = torch::ones({1, 3}, torch::kInt64);
    one.labels = torch::zeros({1}, torch::kInt64);
    EXPECT_TRUE(peft::dist::localShare(one, 0, 2, 4).empty());
    EXPECT_EQ(peft::dist::localShare(one, 1, 2, 4).size(), 1u);
}

TEST(DataParallel, TwoRanksEqualOneProcessLlama) {
    peft::test::TempDir d;
    const std::string data = lmData(d);
    checkEquivalence("tiny-llama", lora({"q_proj", "v_proj"}), data, 1);
    checkEquivalence("tiny-llama", lora({"q_proj", "v_proj"}), data, 2);
}

TEST(DataParallel, TwoRanksEqualOneProcessGpt2) {
    peft::test::TempDir d;
    json m = lora({"c_attn"});
    m["fan_in_fan_out"] = true;
    checkEquivalence("tiny-gpt2", m, lmData(d), 1);
}

TEST(DataParallel, TwoRanksEqualOneProcessClassification) {
    peft::test::TempDir d;
    json m = lora({"q_proj", "v_proj"});
    m["task_type"] = "SEQ_CLS";
    checkEquivalence("tiny-llama", m, clsData(d), 1);
}

TEST(DataParallel, KilledRankStopsTheOtherThenResumeWithTwoOrOne) {
    peft::test::TempDir d;
    const std::string data = lmData(d);
    const json method = lora({"q_proj", "v_proj"});
    const int64_t steps = 10;
    const std::string ref = d.file("ref");
    ASSERT_EQ(train(d, runConfig("tiny-llama", data, ref, 4, 1, method, steps), "ref", 0), 0)
        << readAll(d.file("ref.log"));

    const std::string out = d.file("killed");
    const json cfg = runConfig("tiny-llama", data, out, 2, 1, method, steps);
    writeText(d.file("killed.json"), cfg.dump(2));
    // Two ranks started by hand with torchrun's variables.
    const int port = peft::dist::freeLocalPort();
    const std::vector<std::string> args = {"train",   "--config",       d.file("killed.json"),
                                           "--quiet", "--dist-timeout", "20"};
    pid_t r0 = spawnRank(args, 0, 2, port, d.file("rank0.log"));
    pid_t r1 = spawnRank(args, 1, 2, port, d.file("rank1.log"));
    // Kill rank 1 once rank 0 recorded step 3 (a checkpoint exists at step 2).
    const auto start = std::chrono::steady_clock::now();
    while (metrics(out).size() < 3 && std::chrono::steady_clock::now() - start < std::chrono::seconds(120))
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_GE(metrics(out).size(), 3u) << readAll(d.file("rank0.log"));
    ::kill(r1, SIGKILL);
    const auto killed = std::chrono::steady_clock::now();
    waitExit(r1);
    const int rc0 = waitExit(r0);
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
    EXPECT_NE(rc0, 0) << readAll(d.file("rank0.log"));
    EXPECT_LT(waited, 20 + 10) << "rank 0 did not stop within the timeout";
    EXPECT_NE(readAll(d.file("rank0.log")).find("data-parallel rank 0 of 2"), std::string::npos)
        << readAll(d.file("rank0.log"));
    ASSERT_LT(metrics(out).size(), static_cast<size_t>(steps));

    // Resume with two ranks; and (from a copy) with one.
    const std::string out1 = d.file("killed-one");
    fs::copy(out, out1, fs::copy_options::recursive);
    ASSERT_EQ(train(d, cfg, "resume2", 2, {"--resume"}), 0) << readAll(d.file("resume2.log"));
    expectSameRun(ref, out, "resumed with 2 ranks");
    json cfg1 = cfg;
    cfg1["output_dir"] = out1;
    ASSERT_EQ(train(d, cfg1, "resume1", 0, {"--resume"}), 0) << readAll(d.file("resume1.log"));
    expectSameRun(ref, out1, "resumed with 1 process");
}

TEST(DataParallel, RendezvousFaultsHaveClearErrors) {
    peft::test::TempDir d;
    const std::string data = lmData(d);
    json cfg = runConfig("tiny-llama", data, d.file("out"), 2, 1, lora({"q_proj"}), 2);
    writeText(d.file("run.json"), cfg.dump());
    const std::vector<std::string> args = {"train", "--config", d.file("run.json"), "--quiet", "--dist-timeout", "5"};
    // Port in use: a listening socket holds it.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(::listen(fd, 4), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const int busy = ntohs(a.sin_port);
    int rc = waitExit(spawnRank(args, 0, 2, busy, d.file("busy.log")));
    ::close(fd);
    EXPECT_NE(rc, 0);
    EXPECT_NE(readAll(d.file("busy.log")).find("is in use"), std::string::npos) << readAll(d.file("busy.log"));

    // RANK outside WORLD_SIZE.
    rc = waitExit(spawnRank(args, 2, 2, 29999, d.file("rank.log")));
    EXPECT_NE(rc, 0);
    EXPECT_NE(readAll(d.file("rank.log")).find("WORLD_SIZE is 2"), std::string::npos) << readAll(d.file("rank.log"));

    const int port = peft::dist::freeLocalPort();
    // Different WORLD_SIZE on the two ranks.
    {
        pid_t p0 = spawnRank(args, 0, 2, port, d.file("w0.log"));
        pid_t p1 = spawnRank(args, 1, 3, port, d.file("w1.log"));
        EXPECT_NE(waitExit(p0), 0);
        EXPECT_NE(waitExit(p1), 0);
        const std::string both = readAll(d.file("w0.log")) + readAll(d.file("w1.log"));
        EXPECT_NE(both.find("WORLD_SIZE is"), std::string::npos) << both;
    }
    // A rank with another learning rate.
    {
        json other = cfg;
        other["training"]["lr"] = 1e-3;
        writeText(d.file("other.json"), other.dump());
        const int port2 = peft::dist::freeLocalPort();
        std::vector<std::string> args1 = args;
        args1[2] = d.file("other.json");
        pid_t p0 = spawnRank(args, 0, 2, port2, d.file("c0.log"));
        pid_t p1 = spawnRank(args1, 1, 2, port2, d.file("c1.log"));
        EXPECT_NE(waitExit(p0), 0);
        EXPECT_NE(waitExit(p1), 0);
        EXPECT_NE(readAll(d.file("c0.log")).find("training.lr"), std::string::npos) << readAll(d.file("c0.log"));
    }
    // A rank that never comes: rank 0 gives up within the timeout and says how many arrived.
    {
        const auto t0 = std::chrono::steady_clock::now();
        rc = waitExit(spawnRank(args, 0, 2, peft::dist::freeLocalPort(), d.file("alone.log")));
        EXPECT_NE(rc, 0);
        EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5 + 20);
        EXPECT_NE(readAll(d.file("alone.log")).find("only 1 of WORLD_SIZE=2 ranks arrived"), std::string::npos)
            << readAll(d.file("alone.log"));
    }
}

TEST(DataParallel, NprocTwoOnTheDemoRunFinishesAndItsAdapterLoads) {
    peft::test::TempDir d;
    const std::string demo = peft::test::sourcePath("resources/demo");
    const std::string out = d.file("demo-run");
    // The demo's LoRA config (its run.json is full fine-tuning, whose output is a model folder).
    const int rc = waitExit(spawn({"train", "--config", demo + "/configs/lora.json", "--output-dir", out, "--max-steps",
                                   "4", "--quiet", "--nproc", "2"},
                                  {}, d.file("demo.log")));
    ASSERT_EQ(rc, 0) << readAll(d.file("demo.log")) << readAll(out + "/logs/rank-1.log");
    ASSERT_TRUE(fs::exists(out + "/adapter/adapter_model.safetensors"));
    EXPECT_EQ(metrics(out).size(), 4u);
    // The adapter loads onto the demo model and generates.
    peft::test::CliResult g = peft::test::runCli("generate --model " + demo + "/model --adapter " + out +
                                                 "/adapter --prompt hello --max-new-tokens 3 --greedy");
    EXPECT_EQ(g.rc, 0) << g.out;
}

TEST(DataParallel, ProcessesInTheConfigStartTheRanks) {
    // training.processes 2 (what the GUI's Processes setting writes) without --nproc: the same run
    // as one process with the whole global batch.
    peft::test::TempDir d;
    json m = lora({"c_attn"});
    m["fan_in_fan_out"] = true;
    const std::string data = lmData(d);
    const std::string one = d.file("one"), two = d.file("two");
    ASSERT_EQ(train(d, runConfig("tiny-gpt2", data, one, 4, 1, m, 4), "one", 0), 0) << readAll(d.file("one.log"));
    json cfg = runConfig("tiny-gpt2", data, two, 2, 1, m, 4);
    cfg["training"]["processes"] = 2;
    ASSERT_EQ(train(d, cfg, "two", 0), 0) << readAll(d.file("two.log")) << readAll(two + "/logs/rank-1.log");
    expectSameRun(one, two, "training.processes 2");
    EXPECT_NE(readAll(two + "/log.txt").find("data-parallel: 2 ranks (Gloo)"), std::string::npos);
}

TEST(DataParallel, EachRankDrawsItsOwnDropout) {
    // Every row is the same text, so both ranks see the same rows. With one dropout seed on every
    // rank, rank 1 would repeat rank 0's masks exactly and 2 ranks x batch 1 would equal 1 process x
    // batch 1 step for step; with seed + rank the ranks' masks, hence gradients, differ.
    peft::test::TempDir d;
    std::string s;
    for (int i = 0; i < 8; ++i)
        s += json{{"text", "the adapter learns a low rank update of weights quickly"}}.dump() + "\n";
    writeText(d.file("same.jsonl"), s);
    json m = lora({"q_proj", "v_proj"});
    m["lora_dropout"] = 0.5;
    auto cfg = [&](const std::string& out) {
        json c = runConfig("tiny-llama", d.file("same.jsonl"), out, 1, 1, m, 3);
        c["training"]["shuffle"] = false;
        c["training"]["max_grad_norm"] = 0.0;
        return c;
    };
    const std::string one = d.file("one"), two = d.file("two");
    ASSERT_EQ(train(d, cfg(one), "one", 0), 0) << readAll(d.file("one.log"));
    ASSERT_EQ(train(d, cfg(two), "two", 2), 0) << readAll(d.file("two.log")) << readAll(two + "/logs/rank-1.log");
    auto a = metrics(one), b = metrics(two);
    ASSERT_EQ(a.size(), 3u);
    ASSERT_EQ(b.size(), 3u);
    // Step 1's loss is the base model's (LoRA B starts at zero, whatever the masks); every step's
    // gradient carries the masks. (Later losses barely move apart: Adam's first updates are about
    // lr x sign(gradient), and the two runs' gradients mostly share their signs.)
    EXPECT_NEAR(a[1].loss, b[1].loss, 1e-5);
    for (int64_t step = 1; step <= 3; ++step)
        EXPECT_GT(std::fabs(a[step].gradNorm - b[step].gradNorm), 1e-4)
            << "step " << step << ": rank 1 drew rank 0's dropout masks";
}

namespace {
bool torchrunInstalled() {
    return std::system("/usr/bin/python3 -c 'import torch.distributed.run' >/dev/null 2>&1") == 0;
}

// A run trained in one process with batch 4 ("one") and the same run for two ranks of batch 2
// (two.json, writing to "two"), for the torchrun tests.
void oneRunAndItsTwoRankConfig(peft::test::TempDir& d, std::string& one, std::string& two) {
    const std::string data = lmData(d);
    const json method = lora({"q_proj", "v_proj"});
    one = d.file("one");
    two = d.file("two");
    ASSERT_EQ(train(d, runConfig("tiny-llama", data, one, 4, 1, method, 4), "one", 0), 0) << readAll(d.file("one.log"));
    writeText(d.file("two.json"), runConfig("tiny-llama", data, two, 2, 1, method, 4).dump(2));
}
}  // namespace

TEST(DataParallel, TorchrunStartsTheRanks) {
    // torchrun (torch.distributed.run) starts the ranks and serves the rendezvous itself.
    if (!torchrunInstalled()) GTEST_SKIP() << "torch.distributed.run is not installed (Debian: python3-torch)";
    peft::test::TempDir d;
    std::string one, two;
    ASSERT_NO_FATAL_FAILURE(oneRunAndItsTwoRankConfig(d, one, two));
    // Underscored flags: torchrun 1.13 knows no others (newer ones take both). "-r 1 -t 1" works
    // around torch 1.13 on Python 3.11, whose default "no redirect" fails to parse.
    const std::string cmd =
        "timeout 300 /usr/bin/python3 -m torch.distributed.run --no_python --nnodes 1 --nproc_per_node 2 "
        "--master_port " +
        std::to_string(peft::dist::freeLocalPort()) + " -r 1 -t 1 --log_dir " + d.file("torchrun-logs") + " " +
        peft::test::cliPath() + " train --config " + d.file("two.json") + " --quiet > " + d.file("torchrun.log") +
        " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << readAll(d.file("torchrun.log"));
    expectSameRun(one, two, "torchrun --nproc_per_node 2");
    EXPECT_NE(readAll(two + "/log.txt").find("data-parallel: 2 ranks (Gloo)"), std::string::npos)
        << readAll(two + "/log.txt");
}

TEST(DataParallel, TorchrunTwoMachinesEqualOneProcess) {
    // README's multi-machine command: one torchrun agent per machine, c10d rendezvous at the first
    // machine. Here both "machines" are this one: each agent starts one rank that is local rank 0 of
    // a local world of 1, and the second agent's rank reaches the first's store as a client.
    if (!torchrunInstalled()) GTEST_SKIP() << "torch.distributed.run is not installed (Debian: python3-torch)";
    peft::test::TempDir d;
    std::string one, two;
    ASSERT_NO_FATAL_FAILURE(oneRunAndItsTwoRankConfig(d, one, two));
    const std::string endpoint = "127.0.0.1:" + std::to_string(peft::dist::freeLocalPort());
    auto agent = [&](int node) {
        return "timeout 300 /usr/bin/python3 -m torch.distributed.run --no_python --nnodes 2 --nproc_per_node 1 "
               "--rdzv_backend c10d --rdzv_endpoint " +
            endpoint + " --rdzv_id peft-two-machines -r 1 -t 1 --log_dir " + d.file("logs-" + std::to_string(node)) +
            " " + peft::test::cliPath() + " train --config " + d.file("two.json") + " --quiet > " +
            d.file("agent-" + std::to_string(node) + ".log") + " 2>&1";
    };
    const std::string cmd = "(" + agent(1) + ") & " + agent(0) + "; a=$?; wait $!; b=$?; exit $((a | b))";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << readAll(d.file("agent-0.log")) << readAll(d.file("agent-1.log"));
    expectSameRun(one, two, "two torchrun agents (--nnodes 2, c10d rendezvous)");
    const std::string log = readAll(two + "/log.txt");
    EXPECT_NE(log.find("data-parallel: 2 ranks (Gloo)"), std::string::npos) << log;
}

TEST(RankProcesses, PassesTheVariablesReportsAFailureAndLeavesNothingRunning) {
    peft::test::TempDir d;
    {
        // Rank 1 prints its variables and fails; rank 2 succeeds.
        peft::dist::RankProcesses ranks(
            "/bin/sh", {"-c", "echo rank $RANK of $WORLD_SIZE at $MASTER_ADDR:$MASTER_PORT; [ $RANK = 2 ] || exit 3"},
            1, 3, 4321, d.file("logs"));
        ASSERT_TRUE(ranks.waitAll(30));
        const auto* f = ranks.firstFailure();
        ASSERT_NE(f, nullptr);
        EXPECT_EQ(f->rank, 1);
        EXPECT_EQ(f->code, 3);
        EXPECT_FALSE(f->signaled);
        EXPECT_EQ(f->log, d.file("logs") + "/rank-1.log");
        EXPECT_NE(f->logTail.find("rank 1 of 3 at 127.0.0.1:4321"), std::string::npos) << f->logTail;
        EXPECT_NE(readAll(d.file("logs") + "/rank-2.log").find("rank 2 of 3"), std::string::npos);
    }
    // Ranks that would run for minutes are stopped when the set goes out of scope.
    std::vector<int> pids;
    {
        peft::dist::RankProcesses ranks("/bin/sh", {"-c", "sleep 300"}, 1, 3, 4321, d.file("logs2"));
        pids = ranks.pids();
        ASSERT_EQ(pids.size(), 2u);
        for (int p : pids) EXPECT_EQ(::kill(p, 0), 0);
    }
    for (int p : pids) EXPECT_NE(::kill(p, 0), 0) << "rank process " << p << " still exists";
    // A program that does not exist: the rank exits 127 and says why in its log.
    peft::dist::RankProcesses missing(d.file("no-such-program"), {}, 1, 2, 4321, d.file("logs3"));
    ASSERT_TRUE(missing.waitAll(30));
    ASSERT_NE(missing.firstFailure(), nullptr);
    EXPECT_EQ(missing.firstFailure()->code, 127);
    EXPECT_NE(missing.firstFailure()->logTail.find("cannot run"), std::string::npos);
}

TEST(DataParallel, ProcessesAndGpusKeysAreCheckedAndRoundTrip) {
    json j = {{"model", "m"}, {"training", {{"processes", 3}}}};
    peft::RunConfig c = peft::RunConfig::fromJson(j, "run.json");
    EXPECT_EQ(c.training.processes, 3);
    EXPECT_EQ(c.training.localRanks(), 3);
    EXPECT_EQ(peft::RunConfig::fromJson(c.toJson(), "again").training.processes, 3);
    EXPECT_EQ(peft::RunConfig::fromJson(json{{"model", "m"}}, "run.json").training.localRanks(),
              1);  // one process by default
    j["training"]["gpus"] = {2, 0};
    c = peft::RunConfig::fromJson(j, "run.json");
    EXPECT_EQ(c.training.localRanks(), 2);  // the GPU list, when set, is the rank count
    EXPECT_EQ(peft::RunConfig::fromJson(c.toJson(), "again").training.gpus, (std::vector<int64_t>{2, 0}));
    auto expectError = [](const json& training, const std::string& key) {
        try {
            peft::RunConfig::fromJson(json{{"model", "m"}, {"training", training}}, "run.json");
            ADD_FAILURE() << "accepted " << training.dump();
        } catch (const peft::PeftError& e) {
            const std::string m = e.what();
            EXPECT_NE(m.find("run.json"), std::string::npos) << m;
            EXPECT_NE(m.find(key), std::string::npos) << m;
        }
    };
    for (const json& bad : {json(0), json(-2), json(2000), json("2"), json(1.5)})
        expectError({{"processes", bad}}, "training.processes");
    for (const json& bad : {json(0), json("0,1"), json{0, 0}, json{-1}, json{0.5}})
        expectError({{"gpus", bad}}, "training.gpus");
}
