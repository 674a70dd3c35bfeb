// Which base model an adapter folder belongs to, read from its adapter_config.json without torch
// (the CLI's `generate --adapter` alone, and anything else that opens a run folder by itself).
#pragma once
#include <string>

namespace peft {

// The base model an adapter folder names in its adapter_config.json (base_model_name_or_path): the
// string as written when it exists from the working directory (or is a repo id), else resolved
// beside the adapter folder when it exists there. Throws PeftError naming the file when the key
// is absent or empty.
std::string adapterBaseModel(const std::string& adapterDir);

}  // namespace peft
