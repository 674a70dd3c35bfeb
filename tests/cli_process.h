// Runs peft-studio-cli as a child process for tests that kill it or run several at once
// (test_kill_resume, test_data_parallel): spawn with its output in a log, then wait for it.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace peft::test {

// Starts the CLI with `args` and extra environment variables, stdout and stderr appended to `log`.
inline pid_t spawnCli(const std::vector<std::string>& args, const std::string& log,
                      const std::map<std::string, std::string>& env = {}) {
    std::fflush(stdout);  // or the child's freopen flushes our buffered lines into its log
    pid_t pid = ::fork();
    if (pid == 0) {
        FILE* f = std::freopen(log.c_str(), "a", stdout);
        (void)f;
        ::dup2(::fileno(stdout), STDERR_FILENO);
        for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> argv;
        std::string cli = cliPath();
        argv.push_back(cli.data());
        std::vector<std::string> copy = args;
        for (auto& a : copy) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(cli.c_str(), argv.data());
        std::_Exit(127);
    }
    return pid;
}

// The child's exit code; 128 + the signal when a signal ended it.
inline int waitExit(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

}  // namespace peft::test
