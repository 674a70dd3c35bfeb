// The dataset options the commands that read a dataset file share (`dataset`, `rank-modules`).
#pragma once
#include <string>

#include "core/cli/args.h"
#include "core/data/dataset_config.h"

namespace peft::cli {

// --<fileFlag> (required), --format, --max-length, --template, --train-on, with the defaults the
// Dataset page uses.
data::DatasetConfig datasetFromArgs(const Args& a, const std::string& fileFlag);

}  // namespace peft::cli
