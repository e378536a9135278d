// Helpers shared by the store tests: status assertions and a temporary
// directory that is removed with everything in it.
#pragma once

#include <string>

#include "common/base/result.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace nfsrec::sqlite {

using TempDir = test_support::TempDir;

}  // namespace nfsrec::sqlite
