// Where this process stands in a data-parallel run: torchrun's environment variables (RANK,
// WORLD_SIZE, ...), read and checked. No LibTorch, so the launcher and tests use it cheaply.
#pragma once
#include <functional>
#include <optional>
#include <string>

namespace peft::dist {

struct RankEnv {
    int rank = 0;
    int world = 1;
    int localRank = 0;
    int localWorld = 1;
    std::string masterAddr = "127.0.0.1";
    int masterPort = 29500;
    // torchrun's agent already serves the rendezvous store at MASTER_ADDR:MASTER_PORT: every rank
    // is a client (TORCHELASTIC_USE_AGENT_STORE=True); else rank 0 serves it.
    bool agentStore = false;
    int restartCount = 0;  // TORCHELASTIC_RESTART_COUNT: keys of a restarted attempt stay apart

    // The variables as torchrun sets them; nullopt when WORLD_SIZE is not set (a plain run).
    // Bad values (RANK outside 0..WORLD_SIZE-1, a port outside 1..65535, text where a number
    // belongs, RANK missing) throw PeftError naming the variable and the fix.
    static std::optional<RankEnv> fromEnvironment();
    // The same from any lookup (tests).
    static std::optional<RankEnv> parse(const std::function<const char*(const char*)>& getenv);

    std::string describe() const;  // "rank 1 of 4 (local 1 of 2), rendezvous 10.0.0.1:29500"
};

}  // namespace peft::dist
