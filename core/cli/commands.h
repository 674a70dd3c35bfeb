// The subcommands of peft-studio-cli. Each lives in its own core/cli/cmd_<name>.cpp and is
// listed once in commands.cpp.
#pragma once
#include <string>
#include <vector>

namespace peft::cli {

struct Command {
    const char* name;
    const char* summary;
    const char* usage;  // printed by `peft-studio-cli <name> --help`
    int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

// Entry point used by app/cli_main.cpp: dispatches, prints errors, returns the exit code.
int runCli(int argc, char** argv);

// Subcommand implementations.
int cmdInfo(const std::vector<std::string>& args);
int cmdInitModel(const std::vector<std::string>& args);
int cmdTrain(const std::vector<std::string>& args);
int cmdTokenize(const std::vector<std::string>& args);
int cmdGenerate(const std::vector<std::string>& args);
int cmdMerge(const std::vector<std::string>& args);
int cmdExportGguf(const std::vector<std::string>& args);
int cmdLogits(const std::vector<std::string>& args);
int cmdDataset(const std::vector<std::string>& args);
int cmdEstimate(const std::vector<std::string>& args);
int cmdEstimateTime(const std::vector<std::string>& args);
int cmdRankModules(const std::vector<std::string>& args);
int cmdBenchTrain(const std::vector<std::string>& args);
int cmdEvaluate(const std::vector<std::string>& args);
int cmdEvaluatePairs(const std::vector<std::string>& args);
int cmdModels(const std::vector<std::string>& args);
int cmdDownload(const std::vector<std::string>& args);

}  // namespace peft::cli
