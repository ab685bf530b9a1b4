// Human-readable summary of an OpenReport, shared by `serve` (startup) and `check`.
#pragma once

#include <string>

#include "ordo/options.h"

namespace ordo::cli {

std::string FormatOpenReport(const std::string& directory, const OpenReport& report);

}  // namespace ordo::cli
