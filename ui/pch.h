// Precompiled header for peftui: LibTorch first, then Qt (built with QT_NO_KEYWORDS).
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <QtWidgets>
