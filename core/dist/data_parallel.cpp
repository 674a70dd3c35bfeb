// c10d process group for data-parallel training (see data_parallel.h). The only translation unit
// that includes c10d's headers: Gloo's need -DUSE_C10D_GLOO and libgloo-dev (core/CMakeLists.txt).
#include "core/dist/data_parallel.h"

#include <spdlog/spdlog.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#ifdef PEFT_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef PEFT_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/data/dataset_format.h"
#include "core/util/cpu_cores.h"
#include "core/util/error.h"

namespace peft::dist {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Gradients travel in buckets of at most this many fp32 values (64 MB), so full fine-tuning of a
// large model does not need a second copy of every gradient at once.
constexpr int64_t kBucketValues = int64_t(16) << 20;

std::string errorText(const std::exception& e) {
    if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
    return e.what();
}

std::vector<uint8_t> bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string text(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

// "training.lr" style paths where two configs differ (first few).
void diffJson(const json& a, const json& b, const std::string& path, std::vector<std::string>& out) {
    if (out.size() >= 4) return;
    if (a.is_object() && b.is_object()) {
        for (auto it = a.begin(); it != a.end(); ++it) {
            const std::string p = path.empty() ? it.key() : path + "." + it.key();
            if (!b.contains(it.key())) out.push_back(p + " (only on one rank)");
            else diffJson(*it, b[it.key()], p, out);
        }
        for (auto it = b.begin(); it != b.end(); ++it)
            if (!a.contains(it.key()))
                out.push_back((path.empty() ? it.key() : path + "." + it.key()) + " (only on one rank)");
        return;
    }
    if (a != b) out.push_back(path + " (" + a.dump() + " vs " + b.dump() + ")");
}

bool isLoopback(const std::string& addr) { return addr == "127.0.0.1" || addr == "localhost" || addr == "::1"; }

}  // namespace

struct DataParallel::Impl {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroup> group;
    bool onDevice = false;  // collectives run on the training device (NCCL); else on CPU copies (Gloo)
};

DataParallel::DataParallel(const RankEnv& env, const GroupOptions& opts)
    : m_env(env), m_opts(opts), m_impl(std::make_unique<Impl>()) {
    const std::string here = "data-parallel " + env.describe();
    const double secs = std::chrono::duration<double>(opts.timeout).count();
    const std::string endpoint = env.masterAddr + ":" + std::to_string(env.masterPort);
    // 1. The rendezvous store: rank 0 serves it (unless torchrun's agent does).
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.masterPort);
    so.isServer = env.rank == 0 && !env.agentStore;
    so.numWorkers = c10::nullopt;
    so.waitWorkers = false;  // arrivals are counted below, with a message that says who is missing
    so.timeout = opts.timeout;
    try {
        auto tcp = c10::make_intrusive<c10d::TCPStore>(env.masterAddr, so);
        m_impl->store =
            c10::make_intrusive<c10d::PrefixStore>("/peft-studio/attempt_" + std::to_string(env.restartCount), tcp);
    } catch (const std::exception& e) {
        const std::string what = errorText(e);
        if (so.isServer && (what.find("in use") != std::string::npos || what.find("EADDRINUSE") != std::string::npos))
            fail(
                here, "port " + std::to_string(env.masterPort) + " is in use on this machine (" + what + ")",
                "Another run or program holds it: set MASTER_PORT to a free port (with --nproc a free one is picked).");
        fail(here,
             "cannot reach the rendezvous at " + endpoint + " within " + std::to_string(static_cast<int>(secs)) +
                 " s (" + what + ")",
             so.isServer ? "Check MASTER_ADDR names this machine."
                         : "Check that rank 0 runs, and MASTER_ADDR and MASTER_PORT are the same on every rank.");
    }
    // 2. Every rank publishes its world size and run config, then arrives; while waiting for the
    // others, configs already published are compared (a rank with another WORLD_SIZE would
    // otherwise wait for a count that never comes).
    try {
        const json mine = {{"world", env.world}, {"config", json::parse(opts.configJson)}};
        m_impl->store->set("config/" + std::to_string(env.rank), bytes(mine.dump()));
        auto compare = [&](int other) {
            const json theirs = json::parse(text(m_impl->store->get("config/" + std::to_string(other))));
            if (theirs["world"] != mine["world"])
                fail(here,
                     "WORLD_SIZE is " + std::to_string(env.world) + " here but " + theirs["world"].dump() +
                         " on rank " + std::to_string(other),
                     "Start every rank with the same WORLD_SIZE.");
            std::vector<std::string> diffs;
            diffJson(mine["config"], theirs["config"], "", diffs);
            if (!diffs.empty()) {
                std::string list;
                for (const auto& d : diffs) list += (list.empty() ? "" : ", ") + d;
                fail(here, "the run config differs from rank " + std::to_string(other) + "'s: " + list,
                     "Every rank must run the same run.json (same model, data, method, training settings and "
                     "output_dir).");
            }
        };
        std::vector<int> others;
        if (env.rank == 0)
            for (int r = 1; r < env.world; ++r) others.push_back(r);
        else others.push_back(0);
        std::vector<bool> compared(others.size(), false);
        auto compareReady = [&] {
            for (size_t k = 0; k < others.size(); ++k)
                if (!compared[k] && m_impl->store->check({"config/" + std::to_string(others[k])})) {
                    compare(others[k]);
                    compared[k] = true;
                }
        };
        int64_t n = m_impl->store->add("arrived", 1);
        const auto deadline = Clock::now() + opts.timeout;
        while (n < env.world && Clock::now() < deadline) {
            compareReady();
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            n = m_impl->store->add("arrived", 0);
        }
        compareReady();
        if (n < env.world)
            fail(here,
                 "only " + std::to_string(n) + " of WORLD_SIZE=" + std::to_string(env.world) + " ranks arrived at " +
                     endpoint + " within " + std::to_string(static_cast<int>(secs)) + " s",
                 "A rank did not start, crashed, or has another MASTER_ADDR/MASTER_PORT/WORLD_SIZE: check every rank's "
                 "log.");
        if (n > env.world)
            fail(here, std::to_string(n) + " ranks arrived but WORLD_SIZE is " + std::to_string(env.world),
                 "Every rank must have the same WORLD_SIZE (and a port no other run uses).");
        // 3. Every config this rank must check, now that all have arrived.
        for (size_t k = 0; k < others.size(); ++k)
            if (!compared[k]) compare(others[k]);
    } catch (const PeftError&) {
        throw;
    } catch (const std::exception& e) {
        fail(here, "the rendezvous at " + endpoint + " failed: " + errorText(e),
             "A rank stopped or did not answer within " + std::to_string(static_cast<int>(secs)) +
                 " s; check every rank's log.");
    }
    // 4. The process group.
    try {
#ifdef PEFT_HAVE_NCCL
        if (opts.device.is_cuda()) {
            auto no = c10d::ProcessGroupNCCL::Options::create();
            no->timeout = opts.timeout;
            m_impl->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(
                c10::make_intrusive<c10d::PrefixStore>("nccl", m_impl->store), env.rank, env.world, no);
            m_impl->onDevice = true;
        }
#endif
#ifdef PEFT_HAVE_GLOO
        if (!m_impl->group) {
            auto go = c10d::ProcessGroupGloo::Options::create(opts.timeout);
            if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
                go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
            else if (isLoopback(env.masterAddr))
                go->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            else go->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            go->threads = 2;
            m_impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
                c10::make_intrusive<c10d::PrefixStore>("gloo", m_impl->store), env.rank, env.world, go);
        }
#endif
        if (!m_impl->group)
            fail(here, "this build has no c10d process group for " + opts.device.str(),
                 "Build with Gloo's headers (libgloo-dev; packaging/setup-deps.sh installs them), or NCCL for GPUs.");
    } catch (const PeftError&) {
        throw;
    } catch (const std::exception& e) {
        fail(here,
             "the " + std::string(opts.device.is_cuda() ? "NCCL/Gloo" : "Gloo") +
                 " process group could not connect: " + errorText(e),
             "Check that every rank runs and can reach the others (set GLOO_SOCKET_IFNAME to the network interface to "
             "use).");
    }
    spdlog::info("{}: connected ({})", here, backend());
}

DataParallel::~DataParallel() = default;

std::string DataParallel::backend() const { return m_impl->onDevice ? "NCCL" : "Gloo"; }

void DataParallel::check(const std::string& what, const std::function<void()>& f) {
    try {
        f();
    } catch (const PeftError&) {
        throw;
    } catch (const std::exception& e) {
        fail("data-parallel " + m_env.describe(), what + " failed: " + errorText(e),
             "Another rank stopped, crashed or lost its connection, or did not answer within " +
                 std::to_string(static_cast<int>(std::chrono::duration<double>(m_opts.timeout).count())) +
                 " s, so every rank stops. Check each rank's log, then continue with --resume (any number of ranks).");
    }
}

void DataParallel::broadcast(const std::vector<torch::Tensor>& tensors) {
    torch::NoGradGuard ng;
    for (const torch::Tensor& t : tensors) {
        check("broadcasting the initial weights", [&] {
            std::vector<torch::Tensor> v = {m_impl->onDevice ? t.detach().contiguous()
                                                             : t.detach().to(torch::kCPU).contiguous()};
            m_impl->group->broadcast(v)->wait(m_opts.timeout);
            if (!v[0].is_same(t)) t.detach().copy_(v[0]);
        });
    }
}

double DataParallel::allReduceGradients(const std::vector<torch::Tensor>& params, double localLoss) {
    torch::NoGradGuard ng;
    const torch::Device where = m_impl->onDevice ? m_opts.device : torch::Device(torch::kCPU);
    const auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(where);
    double loss = 0;
    size_t i = 0;
    bool lossSent = false;
    while (i < params.size() || !lossSent) {
        // [sum of numels (+1 for the loss in the first bucket)]
        std::vector<torch::Tensor> parts;
        std::vector<size_t> members;
        int64_t size = 0;
        if (!lossSent) {
            parts.push_back(torch::full({1}, localLoss, fopts));
            size = 1;
        }
        while (i < params.size() && (members.empty() || size + params[i].numel() <= kBucketValues)) {
            torch::Tensor p = params[i];
            if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
            parts.push_back(p.grad().detach().reshape({-1}).to(fopts));
            size += p.numel();
            members.push_back(i++);
        }
        std::vector<torch::Tensor> flat = {torch::cat(parts)};
        check("the gradient all-reduce", [&] { m_impl->group->allreduce(flat)->wait(m_opts.timeout); });
        int64_t offset = 0;
        if (!lossSent) {
            loss = flat[0][0].item<double>();
            offset = 1;
            lossSent = true;
        }
        for (size_t k : members) {
            torch::Tensor g = params[k].mutable_grad();
            g.copy_(flat[0].narrow(0, offset, g.numel()).view_as(g));
            offset += g.numel();
        }
    }
    return loss;
}

std::pair<bool, bool> DataParallel::agree(bool stop, bool pause) {
    std::vector<torch::Tensor> t = {torch::tensor({stop ? 1.0f : 0.0f, pause ? 1.0f : 0.0f})};
    if (m_impl->onDevice) t[0] = t[0].to(m_opts.device);
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::MAX;
    check("agreeing on stop/pause", [&] { m_impl->group->allreduce(t, o)->wait(m_opts.timeout); });
    torch::Tensor c = t[0].to(torch::kCPU);
    return {c[0].item<float>() > 0, c[1].item<float>() > 0};
}

void DataParallel::barrier() {
    check("the final barrier", [&] { m_impl->group->barrier()->wait(m_opts.timeout); });
}

std::shared_ptr<DataParallel> joinRun(const RankEnv& env, RunConfig& cfg, std::chrono::milliseconds timeout) {
    GroupOptions go;
    go.timeout = timeout;
    go.configJson = cfg.toJson().dump();  // before the per-rank changes below: every rank must agree on it
    const std::string dev = cfg.training.device;
    if (dev == "cuda" || (dev == "auto" && torch::cuda::is_available())) {
        const auto& gpus = cfg.training.gpus;
        if (!gpus.empty() && env.localRank >= static_cast<int>(gpus.size()))
            fail("training.gpus",
                 "lists " + std::to_string(gpus.size()) + " GPUs but this is local rank " +
                     std::to_string(env.localRank),
                 "List one GPU per local rank, or start as many ranks per machine as it lists.");
        const int64_t gpu = gpus.empty() ? env.localRank : gpus[static_cast<size_t>(env.localRank)];
        cfg.training.device = "cuda:" + std::to_string(gpu);  // one GPU per local rank
        go.device = torch::Device(cfg.training.device);
    }
    auto dp = std::make_shared<DataParallel>(env, go);
    cfg.training.threads = rankThreads(cfg.training.threads, env.localWorld);
    return dp;
}

int64_t rankThreads(int64_t configured, int localWorld) {
    if (configured != 0 || std::getenv("OMP_NUM_THREADS")) return configured;
    return std::max(1, resolveThreadCount(0) / std::max(1, localWorld));
}

std::vector<data::Batch> localShare(const data::Batch& global, int rank, int world, int64_t maxRows) {
    const int64_t n = global.inputIds.size(0);
    const int64_t lo = n * rank / world, hi = n * (rank + 1) / world;
    std::vector<data::Batch> out;
    // A preference batch (its chosen rows, then its rejected rows) stays whole: a row split would part
    // its pairs. The trainer runs preference objectives in one process only.
    if (world == 1 && (n <= maxRows || global.pairs > 0)) {
        out.push_back(global);
        return out;
    }
    for (int64_t s = lo; s < hi; s += maxRows) {
        const int64_t len = std::min(maxRows, hi - s);
        data::Batch b;
        b.inputIds = global.inputIds.narrow(0, s, len);
        b.attentionMask = global.attentionMask.narrow(0, s, len);
        b.labels = global.labels.narrow(0, s, len);
        b.epoch = global.epoch;
        b.numTokens = b.attentionMask.sum().item<int64_t>();
        b.numLabels = b.labels.dim() == 1 ? len : b.labels.ne(data::kIgnoreIndex).sum().item<int64_t>();
        out.push_back(std::move(b));
    }
    return out;
}

}  // namespace peft::dist
