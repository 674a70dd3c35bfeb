// Local rank launcher (see launcher.h): fork + exec per rank, then wait, reporting the first failure.
#include "core/dist/launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/util/error.h"

namespace peft::dist {

namespace fs = std::filesystem;

namespace {

std::vector<pid_t> g_children;

void forward(int sig) {
    for (pid_t p : g_children)
        if (p > 0) ::kill(p, sig);
}

std::string tail(const std::string& path, size_t lines) {
    std::ifstream in(path);
    std::deque<std::string> last;
    std::string line;
    while (std::getline(in, line)) {
        last.push_back(line);
        if (last.size() > lines) last.pop_front();
    }
    std::string out;
    for (const auto& l : last) out += "    " + l + "\n";
    return out;
}

// Forks and execs `program args...` with `vars` added to this environment (and torchrun's agent
// store variable removed), output to `log` ("" = inherited). Everything the child needs is built
// before fork(), so the child calls only async-signal-safe functions (the GUI forks from a thread).
pid_t spawnRank(const std::string& program, const std::vector<std::string>& args, const std::vector<std::string>& vars,
                const std::string& log) {
    std::vector<std::string> env;
    auto overridden = [&](const std::string& entry) {
        const std::string key = entry.substr(0, entry.find('='));
        if (key == "TORCHELASTIC_USE_AGENT_STORE") return true;
        for (const auto& v : vars)
            if (v.compare(0, key.size() + 1, key + "=") == 0) return true;
        return false;
    };
    for (char** e = environ; e && *e; ++e)
        if (!overridden(*e)) env.emplace_back(*e);
    env.insert(env.end(), vars.begin(), vars.end());
    std::vector<std::string> all = {"peft-studio-cli"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> cargv, cenv;
    for (auto& s : all) cargv.push_back(s.data());
    cargv.push_back(nullptr);
    for (auto& s : env) cenv.push_back(s.data());
    cenv.push_back(nullptr);
    int fd = -1;
    if (!log.empty()) {
        fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            fail(log, std::string("cannot write a rank's log: ") + std::strerror(errno),
                 "Check that the run folder is writable.");
    }
    static const char kExecFailed[] = "peft-studio-cli rank: cannot run the program (exec failed)\n";
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        if (fd >= 0) ::close(fd);
        fail("train --nproc", std::string("cannot start a rank: ") + std::strerror(err),
             "Free some memory or processes and try again.");
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (fd >= 0) {
            ::dup2(fd, STDOUT_FILENO);
            ::dup2(fd, STDERR_FILENO);
        }
        ::execve(program.c_str(), cargv.data(), cenv.data());
        ssize_t ignored = ::write(STDERR_FILENO, kExecFailed, sizeof(kExecFailed) - 1);
        (void)ignored;
        ::_exit(127);
    }
    if (fd >= 0) ::close(fd);
    return pid;
}

int exitCode(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

std::vector<std::string> localRankVariables(int rank, int nproc, int port) {
    return {"RANK=" + std::to_string(rank),
            "LOCAL_RANK=" + std::to_string(rank),
            "WORLD_SIZE=" + std::to_string(nproc),
            "LOCAL_WORLD_SIZE=" + std::to_string(nproc),
            "MASTER_ADDR=127.0.0.1",
            "MASTER_PORT=" + std::to_string(port)};
}

int freeLocalPort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("train --nproc", std::string("cannot open a socket: ") + std::strerror(errno));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        fail("train --nproc", std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(errno));
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

int launchLocalRanks(const std::vector<std::string>& args, const LaunchOptions& opts) {
    if (opts.nproc < 1 || opts.nproc > 1024)
        fail("train --nproc", "is " + std::to_string(opts.nproc), "Use 1 to 1024 processes.");
    const std::string program = opts.program.empty() ? std::string("/proc/self/exe") : opts.program;
    const int port = freeLocalPort();
    std::error_code ec;
    fs::create_directories(opts.logDir, ec);
    std::vector<std::string> logs(static_cast<size_t>(opts.nproc));
    g_children.assign(static_cast<size_t>(opts.nproc), -1);
    // Until every rank is started, a signal would reach only some: hold them back.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &block, &old);
    for (int r = 0; r < opts.nproc; ++r) {
        if (r > 0)
            logs[static_cast<size_t>(r)] = (fs::path(opts.logDir) / ("rank-" + std::to_string(r) + ".log")).string();
        pid_t pid = -1;
        try {
            pid = spawnRank(program, args, localRankVariables(r, opts.nproc, port), logs[static_cast<size_t>(r)]);
        } catch (...) {
            forward(SIGKILL);
            ::sigprocmask(SIG_SETMASK, &old, nullptr);
            throw;
        }
        g_children[static_cast<size_t>(r)] = pid;
    }
    struct sigaction sa {
    }, oldInt{}, oldTerm{};
    sa.sa_handler = forward;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &oldInt);
    ::sigaction(SIGTERM, &sa, &oldTerm);
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    std::cerr << "train --nproc " << opts.nproc << ": ranks started (rendezvous 127.0.0.1:" << port << "); ranks 1.."
              << opts.nproc - 1 << " log to " << opts.logDir << "/rank-N.log\n";

    int firstCode = 0, running = opts.nproc;
    std::chrono::steady_clock::time_point killAt{};
    bool failed = false;
    while (running > 0) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, failed ? WNOHANG : 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pid == 0) {  // after a failure: poll until the others stop or their time is up
            if (std::chrono::steady_clock::now() >= killAt) {
                std::cerr << "train --nproc: the other ranks did not stop within " << opts.timeoutS + 30
                          << " s: killing them\n";
                forward(SIGKILL);
                killAt = std::chrono::steady_clock::time_point::max();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        int r = -1;
        for (size_t k = 0; k < g_children.size(); ++k)
            if (g_children[k] == pid) r = static_cast<int>(k);
        if (r < 0) continue;
        g_children[static_cast<size_t>(r)] = -1;
        --running;
        const int code = exitCode(status);
        if (code != 0 && !failed) {
            failed = true;
            firstCode = code;
            std::cerr << "train --nproc: rank " << r << " "
                      << (WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                              : "exited with code " + std::to_string(code))
                      << "; the others stop too (within " << opts.timeoutS << " s)\n";
            if (r > 0)
                std::cerr << "  its log, " << logs[static_cast<size_t>(r)] << ", ends:\n"
                          << tail(logs[static_cast<size_t>(r)], 15);
            killAt = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(static_cast<int64_t>((opts.timeoutS + 30) * 1000));
        }
    }
    ::sigaction(SIGINT, &oldInt, nullptr);
    ::sigaction(SIGTERM, &oldTerm, nullptr);
    g_children.clear();
    return firstCode;
}

RankProcesses::RankProcesses(const std::string& program, const std::vector<std::string>& args, int firstRank, int nproc,
                             int port, const std::string& logDir) {
    std::error_code ec;
    fs::create_directories(logDir, ec);
    for (int r = firstRank; r < nproc; ++r) {
        const std::string log = (fs::path(logDir) / ("rank-" + std::to_string(r) + ".log")).string();
        try {
            m_children.push_back({r, spawnRank(program, args, localRankVariables(r, nproc, port), log), log});
        } catch (...) {
            stopAll(0);
            throw;
        }
    }
}

RankProcesses::~RankProcesses() { stopAll(); }

void RankProcesses::reap(bool block) {
    for (Child& c : m_children) {
        if (c.pid <= 0) continue;
        int status = 0;
        pid_t got;
        do got = ::waitpid(c.pid, &status, block ? 0 : WNOHANG);
        while (got < 0 && errno == EINTR);
        if (got != c.pid) continue;
        c.pid = -1;
        Exit e;
        e.rank = c.rank;
        e.code = exitCode(status);
        e.signaled = WIFSIGNALED(status);
        e.log = c.log;
        e.logTail = tail(c.log, 15);
        m_exits.push_back(std::move(e));
    }
}

const RankProcesses::Exit* RankProcesses::firstFailure() {
    reap(false);
    for (const Exit& e : m_exits)
        if (e.code != 0) return &e;
    return nullptr;
}

bool RankProcesses::waitAll(double seconds) {
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    while (true) {
        reap(false);
        if (pids().empty()) return true;
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

void RankProcesses::stopAll(double graceS) {
    reap(false);
    for (const Child& c : m_children)
        if (c.pid > 0) ::kill(c.pid, SIGTERM);
    if (!waitAll(graceS)) {
        for (const Child& c : m_children)
            if (c.pid > 0) ::kill(c.pid, SIGKILL);
        reap(true);
    }
}

std::vector<int> RankProcesses::pids() const {
    std::vector<int> out;
    for (const Child& c : m_children)
        if (c.pid > 0) out.push_back(c.pid);
    return out;
}

}  // namespace peft::dist
