// Logging set-up shared by the CLI and the GUI.
#include "core/util/log.h"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>

namespace peft {

std::string userDataDir() {
    namespace fs = std::filesystem;
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return (fs::path(x) / "peft-studio").string();
    if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".local/share/peft-studio").string();
    return (fs::temp_directory_path() / "peft-studio").string();
}

std::string setupLogging(const std::string& appName, bool verbose) {
    namespace fs = std::filesystem;
    std::vector<spdlog::sink_ptr> sinks;
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    console->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
    sinks.push_back(console);
    std::string logPath;
    try {
        fs::path dir = fs::path(userDataDir()) / "logs";
        fs::create_directories(dir);
        logPath = (dir / (appName + ".log")).string();
        auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(logPath, 5 * 1024 * 1024, 5);
        file->set_level(spdlog::level::debug);
        sinks.push_back(file);
    } catch (const std::exception&) {
        logPath.clear();  // read-only home: console logging only
    }
    auto logger = std::make_shared<spdlog::logger>(appName, sinks.begin(), sinks.end());
    logger->set_level(spdlog::level::debug);
    logger->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    return logPath;
}

}  // namespace peft
