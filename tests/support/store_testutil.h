// Helpers shared by the store tests: status assertions and a temporary
// directory that is removed with everything in it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "common/result.h"
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

// mkdtemp under $TMPDIR (default /tmp); removed recursively on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string templ =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/nfsrecd-store-XXXXXX";
    if (mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~TempDir() {
    if (!path_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace nfsrec::sqlite
