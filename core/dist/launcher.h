// `train --nproc N`: starts N ranks of this program on this machine with torchrun's variables
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, a free MASTER_PORT) and
// waits for them. No LibTorch.
#pragma once
#include <string>
#include <vector>

namespace peft::dist {

struct LaunchOptions {
    int nproc = 2;
    std::string logDir;        // ranks 1..N-1 write their output to logDir/rank-N.log; rank 0 keeps the terminal
    double timeoutS = 60;      // after one rank fails, the others get this long (+30 s) to stop by themselves
    std::string program;       // the executable to start ("" = this one, /proc/self/exe)
};

// Runs `args` (the subcommand and its options, without --nproc) in N ranks. Returns 0 when every
// rank succeeded, else the first failed rank's exit code (128+signal when killed); that rank, its
// exit and the tail of its log are printed to stderr. SIGINT/SIGTERM are passed on to every rank.
int launchLocalRanks(const std::vector<std::string>& args, const LaunchOptions& opts);

// A TCP port that is free on 127.0.0.1 right now (the kernel's choice).
int freeLocalPort();

}  // namespace peft::dist
