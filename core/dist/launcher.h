// `train --nproc N`: starts N ranks of this program on this machine with torchrun's variables
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, a free MASTER_PORT) and
// waits for them. No LibTorch.
#pragma once
#include <string>
#include <vector>

namespace peft::dist {

struct LaunchOptions {
    int nproc = 2;
    std::string logDir;    // ranks 1..N-1 write their output to logDir/rank-N.log; rank 0 keeps the terminal
    double timeoutS = 60;  // after one rank fails, the others get this long (+30 s) to stop by themselves
    std::string program;   // the executable to start ("" = this one, /proc/self/exe)
};

// Runs `args` (the subcommand and its options, without --nproc) in N ranks. Returns 0 when every
// rank succeeded, else the first failed rank's exit code (128+signal when killed); that rank, its
// exit and the tail of its log are printed to stderr. SIGINT/SIGTERM are passed on to every rank.
int launchLocalRanks(const std::vector<std::string>& args, const LaunchOptions& opts);

// A TCP port that is free on 127.0.0.1 right now (the kernel's choice).
int freeLocalPort();

// The variables of local rank `rank` of `nproc` with a rendezvous at 127.0.0.1:`port`, as torchrun
// would set them ("RANK=1", ...).
std::vector<std::string> localRankVariables(int rank, int nproc, int port);

// Ranks started beside a rank that runs in this process (the GUI runs rank 0 on its training
// thread): each is `program args...` with localRankVariables() and its output in
// logDir/rank-N.log. Nothing is left running: the destructor stops (SIGTERM, then SIGKILL after
// a grace period) and reaps any rank still alive. Safe to use from a multi-threaded program (the
// child only calls async-signal-safe functions before exec).
class RankProcesses {
public:
    struct Exit {
        int rank = -1;
        int code = 0;  // 128+signal when killed
        bool signaled = false;
        std::string log;      // its log file
        std::string logTail;  // the last lines of that log
    };
    // Starts ranks `firstRank`..nproc-1. PeftError when one cannot be started (the others are stopped).
    RankProcesses(const std::string& program, const std::vector<std::string>& args, int firstRank, int nproc, int port,
                  const std::string& logDir);
    ~RankProcesses();
    RankProcesses(const RankProcesses&) = delete;
    RankProcesses& operator=(const RankProcesses&) = delete;

    // Reaps ranks that ended; the first that ended with a non-zero code, if any.
    const Exit* firstFailure();
    // Waits up to `seconds` for every rank to end; false when some still run.
    bool waitAll(double seconds);
    // SIGTERM to every rank still running; after `graceS` SIGKILL; reaps them all.
    void stopAll(double graceS = 10);
    std::vector<int> pids() const;  // of the ranks still running (tests)

private:
    void reap(bool block);
    struct Child {
        int rank;
        int pid;  // -1 once reaped
        std::string log;
    };
    std::vector<Child> m_children;
    std::vector<Exit> m_exits;
};

}  // namespace peft::dist
