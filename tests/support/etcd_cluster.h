// EtcdCluster: real etcd members for tests, through tests/support/etcd-cluster
// (found as $ETCD_CLUSTER, else $top_srcdir/tests/support/etcd-cluster).
// Blocking (it runs the script): call it from the test's thread, between
// loop runs, never from a callback.
//
// SharedEtcdCluster: one such cluster for the tests of a suite or of a
// whole program, started on first use.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <memory>
#include <string>
#include <vector>

#include "common/base/logging.h"
#include "common/base/result.h"
#include <gtest/gtest.h>

namespace nfsrec::test_support {

class EtcdCluster {
 public:
  // Starts `members` (1 or 3) members in a fresh directory under $TMPDIR;
  // with `tls_dir` (made by Certs) they serve https and want a client
  // certificate.
  static Result<std::unique_ptr<EtcdCluster>> Start(int members, const std::string& tls_dir = "") {
    const char* base = getenv("TMPDIR");
    std::string templ =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/nfsrec-etcd-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) return Status::IOError("mkdtemp failed");
    auto c = std::unique_ptr<EtcdCluster>(new EtcdCluster(templ));
    std::string cmd = StrCat(Script(), " start ", templ, "/c --members ", members);
    if (!tls_dir.empty()) cmd += " --tls " + tls_dir;
    std::string out;
    NFSREC_RETURN_IF_ERROR(Capture(cmd, &out));
    size_t start = 0;
    while (start < out.size()) {
      size_t comma = out.find_first_of(",\n", start);
      if (comma == std::string::npos) comma = out.size();
      if (comma > start) c->endpoints_.push_back(out.substr(start, comma - start));
      start = comma + 1;
    }
    if (c->endpoints_.size() != static_cast<size_t>(members)) {
      return Status::IOError(StrCat("etcd-cluster start printed \"", out, "\""));
    }
    return c;
  }

  // CERTDIR with ca.pem, server.pem, server-key.pem, client.pem,
  // client-key.pem (a new CA each time).
  static Status Certs(const std::string& dir) { return Run(StrCat(Script(), " certs ", dir)); }

  ~EtcdCluster() {
    Status s = Run(StrCat(Script(), " cleanup ", dir_, "/c"));
    (void)s;
    std::string rm = StrCat("rm -rf ", dir_);
    if (system(rm.c_str()) != 0) return;
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // Member numbers count from 1, in endpoints() order.
  Status Kill(int n) { return Member("kill", n); }
  Status Stop(int n) { return Member("stop", n); }
  Status Freeze(int n) { return Member("freeze", n); }
  Status Thaw(int n) { return Member("thaw", n); }
  Status Restart(int n) { return Member("restart", n); }
  Status WaitHealthy() { return Run(StrCat(Script(), " wait-healthy ", dir_, "/c")); }

 private:
  explicit EtcdCluster(std::string dir) : dir_(std::move(dir)) {}

  static std::string Script() {
    if (const char* s = getenv("ETCD_CLUSTER"); s != nullptr && *s != '\0') return s;
    const char* top = getenv("top_srcdir");
    return StrCat(top != nullptr ? top : ".", "/tests/support/etcd-cluster");
  }
  static Status Run(const std::string& cmd) {
    int rc = system(cmd.c_str());
    if (rc == 0) return Status::Ok();
    return Status::IOError(StrCat(cmd, ": exit status ", WIFEXITED(rc) ? WEXITSTATUS(rc) : rc));
  }
  static Status Capture(const std::string& cmd, std::string* out) {
    FILE* p = popen(cmd.c_str(), "r");
    if (p == nullptr) return Status::IOError("popen failed");
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
    int rc = pclose(p);
    if (rc != 0) return Status::IOError(StrCat(cmd, ": exit status ", WEXITSTATUS(rc)));
    return Status::Ok();
  }
  Status Member(const char* verb, int n) {
    return Run(StrCat(Script(), " ", verb, " ", dir_, "/c ", n));
  }

  std::string dir_;
  std::vector<std::string> endpoints_;
};

// One cluster of `members` shared by several tests.  For a suite: a
// static member, with TearDownTestSuite calling TearDown(); for a whole
// program: ForProgram() at namespace scope, which gtest tears down after
// the last test.  Each test's SetUp asserts Get() != nullptr with error()
// as the message, so without etcd every test fails with the reason.
class SharedEtcdCluster : public ::testing::Environment {
 public:
  explicit SharedEtcdCluster(int members) : members_(members) {}

  static SharedEtcdCluster* ForProgram(int members) {
    return static_cast<SharedEtcdCluster*>(
        ::testing::AddGlobalTestEnvironment(new SharedEtcdCluster(members)));
  }

  // Started on the first call; null once a start failed (not retried
  // until TearDown).
  EtcdCluster* Get() {
    if (!tried_) {
      tried_ = true;
      Result<std::unique_ptr<EtcdCluster>> c = EtcdCluster::Start(members_);
      if (c.ok()) {
        cluster_ = std::move(c).value();
      } else {
        error_ = c.status();
      }
    }
    return cluster_.get();
  }
  // Why Get() returned null.
  const Status& error() const { return error_; }

  // Stops the members; the next Get() starts new ones.
  void TearDown() override {
    cluster_.reset();
    tried_ = false;
    error_ = Status::Ok();
  }

 private:
  const int members_;
  bool tried_ = false;
  std::unique_ptr<EtcdCluster> cluster_;
  Status error_;
};

}  // namespace nfsrec::test_support
