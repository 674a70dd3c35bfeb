// Logging set up once per process: console plus a rotating file under the user's data folder.
#pragma once
#include <string>

namespace peft {

// Sets the default spdlog logger: stderr and <dataDir>/logs/<app>.log (rotating, 5 x 5 MB).
// Returns the log file path ("" when the folder could not be created; the console still works).
std::string setupLogging(const std::string& appName, bool verbose = false);

// ~/.local/share/peft-studio (or $XDG_DATA_HOME/peft-studio).
std::string userDataDir();

}  // namespace peft
