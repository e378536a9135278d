// Assertions on Status and Result for every test:
//   ASSERT_OK(store.Put(x));     EXPECT_OK(result);
// On failure they print the Status, not just "false".
#pragma once

#include "common/base/result.h"
#include "common/base/status.h"
#include <gtest/gtest.h>

namespace nfsrec::testing {

// A copy: the argument may be a temporary that dies with the statement.
inline Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const Result<T>& r) {
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace nfsrec::testing

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    const ::nfsrec::Status _s = ::nfsrec::testing::StatusOf((expr)); \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.ToString();          \
  } while (0)
#define EXPECT_OK(expr)                                              \
  do {                                                               \
    const ::nfsrec::Status _s = ::nfsrec::testing::StatusOf((expr)); \
    EXPECT_TRUE(_s.ok()) << #expr << ": " << _s.ToString();          \
  } while (0)
