// DatasetConfig: the run config's "dataset" object (path, format, split, max_length, template,
// train_on, packing, column_mapping, on_error), read strictly and written back.
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

namespace peft::data {

struct DatasetConfig {
    std::string path;
    std::string format = "auto";  // auto | text | instruction | chat | classification | tokens | preference
    std::optional<std::string> validationPath;  // "validation_path": null -> split by ratio
    double validationSplit = 0.1;               // [0, 1)
    int64_t maxLength = 512;
    std::string templateName = "auto";  // "template": auto | chatml | llama3 | llama2 | zephyr | alpaca | plain
    std::string trainOn = "responses";  // responses | all
    bool packing = false;
    std::map<std::string, std::string> columnMapping;  // canonical field -> user column
    std::string onError = "skip";                      // skip | stop (bad rows)

    // Missing keys keep the defaults above. Unknown keys, wrong types and invalid values throw
    // PeftError naming `where`.key (e.g. "run.json: dataset.max_length").
    static DatasetConfig fromJson(const nlohmann::json& j, const std::string& where = "dataset");
    nlohmann::json toJson() const;
};

}  // namespace peft::data
