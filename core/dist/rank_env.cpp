// torchrun's variables -> RankEnv (see rank_env.h).
#include "core/dist/rank_env.h"

#include <cstdlib>

#include "core/util/error.h"

namespace peft::dist {

namespace {

int parseInt(const char* name, const char* value, long lo, long hi) {
    const std::string v = value ? value : "";
    char* end = nullptr;
    const long n = v.empty() ? 0 : std::strtol(v.c_str(), &end, 10);
    if (v.empty() || !end || *end != '\0' || n < lo || n > hi)
        fail(std::string("environment variable ") + name,
             "is '" + v + "', expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi),
             "torchrun sets it for each rank; when starting ranks by hand, set RANK, WORLD_SIZE, MASTER_ADDR and "
             "MASTER_PORT "
             "alike on every rank (or use `peft-studio-cli train --nproc N` on one machine).");
    return static_cast<int>(n);
}

}  // namespace

std::optional<RankEnv> RankEnv::parse(const std::function<const char*(const char*)>& getenv) {
    const char* world = getenv("WORLD_SIZE");
    if (!world || !*world) return std::nullopt;
    RankEnv e;
    e.world = parseInt("WORLD_SIZE", world, 1, 65536);
    const char* rank = getenv("RANK");
    if (!rank)
        fail("environment variable RANK", "is not set but WORLD_SIZE is (" + std::string(world) + ")",
             "Set RANK to this process's rank, 0 to WORLD_SIZE-1.");
    e.rank = parseInt("RANK", rank, 0, 65535);
    if (e.rank >= e.world)
        fail("environment variable RANK",
             "is " + std::to_string(e.rank) + " but WORLD_SIZE is " + std::to_string(e.world),
             "Ranks run from 0 to WORLD_SIZE-1: check WORLD_SIZE (every rank must have the same) and RANK.");
    const char* lr = getenv("LOCAL_RANK");
    e.localRank = lr ? parseInt("LOCAL_RANK", lr, 0, 65535) : e.rank;
    const char* lw = getenv("LOCAL_WORLD_SIZE");
    e.localWorld = lw ? parseInt("LOCAL_WORLD_SIZE", lw, 1, 65536) : e.world;
    if (e.localRank >= e.localWorld)
        fail("environment variable LOCAL_RANK",
             "is " + std::to_string(e.localRank) + " but LOCAL_WORLD_SIZE is " + std::to_string(e.localWorld),
             "LOCAL_RANK runs from 0 to LOCAL_WORLD_SIZE-1.");
    if (const char* a = getenv("MASTER_ADDR"); a && *a) e.masterAddr = a;
    else if (e.world > 1)
        fail("environment variable MASTER_ADDR", "is not set",
             "Set it to the host name or address of rank 0's machine.");
    if (const char* p = getenv("MASTER_PORT"); p && *p) e.masterPort = parseInt("MASTER_PORT", p, 1, 65535);
    else if (e.world > 1)
        fail("environment variable MASTER_PORT", "is not set",
             "Set it to a free TCP port on rank 0's machine, e.g. 29500.");
    if (const char* s = getenv("TORCHELASTIC_USE_AGENT_STORE")) {
        const std::string v = s;
        e.agentStore = v == "True" || v == "true" || v == "1";
    }
    if (const char* r = getenv("TORCHELASTIC_RESTART_COUNT"); r && *r)
        e.restartCount = parseInt("TORCHELASTIC_RESTART_COUNT", r, 0, 1 << 30);
    return e;
}

std::optional<RankEnv> RankEnv::fromEnvironment() {
    return parse([](const char* n) { return std::getenv(n); });
}

std::string RankEnv::describe() const {
    return "rank " + std::to_string(rank) + " of " + std::to_string(world) + " (local " + std::to_string(localRank) +
        " of " + std::to_string(localWorld) + "), rendezvous " + masterAddr + ":" + std::to_string(masterPort) +
        (agentStore ? " (torchrun's store)" : "");
}

}  // namespace peft::dist
