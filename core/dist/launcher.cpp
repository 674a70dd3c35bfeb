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

}  // namespace

int freeLocalPort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) fail("train --nproc", std::string("cannot open a socket: ") + std::strerror(errno));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        fail("train --nproc", std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(errno));
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

int launchLocalRanks(const std::vector<std::string>& args, const LaunchOptions& opts) {
    if (opts.nproc < 1 || opts.nproc > 1024) fail("train --nproc", "is " + std::to_string(opts.nproc), "Use 1 to 1024 processes.");
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
        if (r > 0) logs[static_cast<size_t>(r)] = (fs::path(opts.logDir) / ("rank-" + std::to_string(r) + ".log")).string();
        pid_t pid = ::fork();
        if (pid < 0) {
            forward(SIGKILL);
            fail("train --nproc", std::string("cannot start rank ") + std::to_string(r) + ": " + std::strerror(errno));
        }
        if (pid == 0) {
            ::sigprocmask(SIG_SETMASK, &old, nullptr);
            ::setenv("RANK", std::to_string(r).c_str(), 1);
            ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
            ::setenv("WORLD_SIZE", std::to_string(opts.nproc).c_str(), 1);
            ::setenv("LOCAL_WORLD_SIZE", std::to_string(opts.nproc).c_str(), 1);
            ::setenv("MASTER_ADDR", "127.0.0.1", 1);
            ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
            ::unsetenv("TORCHELASTIC_USE_AGENT_STORE");
            if (r > 0) {
                int fd = ::open(logs[static_cast<size_t>(r)].c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd >= 0) {
                    ::dup2(fd, STDOUT_FILENO);
                    ::dup2(fd, STDERR_FILENO);
                    ::close(fd);
                }
            }
            std::vector<std::string> all = {"peft-studio-cli"};
            all.insert(all.end(), args.begin(), args.end());
            std::vector<char*> cargv;
            for (auto& s : all) cargv.push_back(s.data());
            cargv.push_back(nullptr);
            ::execv(program.c_str(), cargv.data());
            std::fprintf(stderr, "rank %d: cannot run %s: %s\n", r, program.c_str(), std::strerror(errno));
            ::_exit(127);
        }
        g_children[static_cast<size_t>(r)] = pid;
    }
    struct sigaction sa {}, oldInt{}, oldTerm{};
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
                std::cerr << "train --nproc: the other ranks did not stop within " << opts.timeoutS + 30 << " s: killing them\n";
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
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        if (code != 0 && !failed) {
            failed = true;
            firstCode = code;
            std::cerr << "train --nproc: rank " << r << " "
                      << (WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                              : "exited with code " + std::to_string(code))
                      << "; the others stop too (within " << opts.timeoutS << " s)\n";
            if (r > 0) std::cerr << "  its log, " << logs[static_cast<size_t>(r)] << ", ends:\n" << tail(logs[static_cast<size_t>(r)], 15);
            killAt = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<int64_t>((opts.timeoutS + 30) * 1000));
        }
    }
    ::sigaction(SIGINT, &oldInt, nullptr);
    ::sigaction(SIGTERM, &oldTerm, nullptr);
    g_children.clear();
    return firstCode;
}

}  // namespace peft::dist
