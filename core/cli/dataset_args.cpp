#include "core/cli/dataset_args.h"

namespace peft::cli {

data::DatasetConfig datasetFromArgs(const Args& a, const std::string& fileFlag) {
    data::DatasetConfig c;
    c.path = a.require(fileFlag);
    c.format = a.get("format", "auto");
    c.maxLength = a.getInt("max-length", 512);
    c.templateName = a.get("template", "auto");
    c.trainOn = a.get("train-on", "responses");
    return c;
}

}  // namespace peft::cli
