// LSD Bridge: log category.
#pragma once

#include "Logging/LogMacros.h"

DECLARE_LOG_CATEGORY_EXTERN(LogLSDBridge, Log, All);
