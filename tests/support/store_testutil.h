// Helpers shared by the store tests: status assertions and a temporary
// directory that is removed with everything in it.
#pragma once

#include <string>

#include "common/result.h"
#include "tests/support/temp_dir.h"
#include <gtest/gtest.h>

#ifndef ASSERT_OK
#define ASSERT_OK(expr)                                          \
  do {                                                           \
    const ::nfsrec::Status& _assert_ok_st = (expr);              \
    ASSERT_TRUE(_assert_ok_st.ok()) << _assert_ok_st.ToString(); \
  } while (0)
#endif
#ifndef EXPECT_OK
#define EXPECT_OK(expr)                                          \
  do {                                                           \
    const ::nfsrec::Status& _expect_ok_st = (expr);              \
    EXPECT_TRUE(_expect_ok_st.ok()) << _expect_ok_st.ToString(); \
  } while (0)
#endif

namespace nfsrec::sqlite {

using TempDir = test_support::TempDir;

}  // namespace nfsrec::sqlite
