// nlm-client: a user-space NFSv3 lock client for system tests that have no
// kernel NFS client: MOUNT3 MNT for the export's root handle, NFS3 LOOKUP
// (CREATE when the file is missing) for the file's handle, then one NLM4
// call on the whole file, as a host named --caller would send it.
//
//   nlm-client [options] EXPORT_PATH FILE lock | test | unlock
// Options: --host ADDR (127.0.0.1)  --udp (else TCP)  --caller NAME (the
//          client's caller_name, "client")  --svid N (the locking process,
//          1)  --state N (the client's NSM state, sent in NLM4_LOCK, 1)
//          --timeout-ms N (3000; bounds every call, no retransmission)
// Output: one line, the NLM4 status ("granted", "denied", ...); a denied
// test adds the holder ("denied holder svid=N exclusive=1").  Exit: 0 on
// granted, 1 on any other NLM4 status, 2 on usage, RPC or protocol errors,
// 3 when a call got no answer.
//
// Ports come from the server's portmapper; calls carry AUTH_SYS root
// credentials, as a kernel client's would.  Arguments and results are
// written out here with libtirpc's XDR primitives over memory buffers
// (RFC 1813 for MOUNT3 and NFS3, the Open Group's XNFS for NLM4); results
// are decoded only as far as the test needs them.
#include <rpc/rpc.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "common/rpc/rpc_message.h"
#include "tests/support/rpc_test_client.h"

namespace nfsrec::test {
namespace {

constexpr uint32_t kMountProgram = 100005;
constexpr uint32_t kMountVersion = 3;
constexpr uint32_t kMountProcMnt = 1;
constexpr uint32_t kNfsProgram = 100003;
constexpr uint32_t kNfsVersion = 3;
constexpr uint32_t kNfsProcLookup = 3;
constexpr uint32_t kNfsProcCreate = 8;
constexpr uint32_t kNlmProgram = 100021;
constexpr uint32_t kNlmVersion = 4;
constexpr uint32_t kNlmProcTest = 1;
constexpr uint32_t kNlmProcLock = 2;
constexpr uint32_t kNlmProcUnlock = 4;

constexpr u_int kMaxFhSize = 64;    // NFS3_FHSIZE
constexpr u_int kMaxNetobj = 1024;  // MAXNETOBJ_SZ
constexpr u_int kMaxPath = 1024;    // MNTPATHLEN
constexpr u_int kMaxName = 255;     // MAXNAMLEN
constexpr uint32_t kNfs3ErrNoent = 2;
constexpr int32_t kCreateUnchecked = 0;  // createmode3
constexpr int32_t kDontChange = 0;       // time_how

const char* const kNlmStatNames[] = {
    "granted", "denied", "denied_nolocks", "blocked", "denied_grace_period",
    "deadlck", "rofs",   "stale_fh",       "fbig",    "failed"};
constexpr uint32_t kNlmGranted = 0;
constexpr uint32_t kNlmDenied = 1;

using Bytes = std::vector<uint8_t>;

// Encodes into a fixed buffer (every message here is small).
class Encoder {
 public:
  Encoder() : buf_(8192) {
    xdrmem_create(&x_, reinterpret_cast<char*>(buf_.data()), static_cast<u_int>(buf_.size()),
                  XDR_ENCODE);
  }
  ~Encoder() { xdr_destroy(&x_); }
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  Encoder& U32(uint32_t v) {
    ok_ = ok_ && xdr_u_int32_t(&x_, &v);
    return *this;
  }
  Encoder& I32(int32_t v) {
    ok_ = ok_ && xdr_int32_t(&x_, &v);
    return *this;
  }
  Encoder& U64(uint64_t v) {
    ok_ = ok_ && xdr_u_int64_t(&x_, &v);
    return *this;
  }
  Encoder& Bool(bool v) {
    bool_t b = v ? TRUE : FALSE;
    ok_ = ok_ && xdr_bool(&x_, &b);
    return *this;
  }
  Encoder& Opaque(const Bytes& v, u_int max) {
    char* p = const_cast<char*>(reinterpret_cast<const char*>(v.data()));
    u_int n = static_cast<u_int>(v.size());
    ok_ = ok_ && xdr_bytes(&x_, &p, &n, max);
    return *this;
  }
  Encoder& String(const std::string& s, u_int max) {
    char* p = const_cast<char*>(s.c_str());
    ok_ = ok_ && xdr_string(&x_, &p, max);
    return *this;
  }

  bool ok() const { return ok_; }
  Bytes Take() {
    buf_.resize(xdr_getpos(&x_));
    return std::move(buf_);
  }

 private:
  Bytes buf_;
  XDR x_;
  bool ok_ = true;
};

class Decoder {
 public:
  explicit Decoder(Bytes bytes) : buf_(std::move(bytes)) {
    xdrmem_create(&x_, reinterpret_cast<char*>(buf_.data()), static_cast<u_int>(buf_.size()),
                  XDR_DECODE);
  }
  ~Decoder() { xdr_destroy(&x_); }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  bool U32(uint32_t* v) { return xdr_u_int32_t(&x_, v); }
  bool I32(int32_t* v) { return xdr_int32_t(&x_, v); }
  bool Bool(bool* v) {
    bool_t b = FALSE;
    if (!xdr_bool(&x_, &b)) return false;
    *v = b != FALSE;
    return true;
  }
  bool Opaque(Bytes* v, u_int max) {
    char tmp[kMaxNetobj];
    char* p = tmp;
    u_int n = 0;
    if (!xdr_bytes(&x_, &p, &n, max < sizeof tmp ? max : sizeof tmp)) return false;
    v->assign(tmp, tmp + n);
    return true;
  }

 private:
  Bytes buf_;
  XDR x_;
};

struct Options {
  std::string host = "127.0.0.1";
  Proto proto = Proto::kTcp;
  std::string caller = "client";
  int32_t svid = 1;
  int32_t state = 1;
  Duration timeout = std::chrono::milliseconds(3000);
};

// authsys_parms for root, machine name = the caller name.
rpc::OpaqueAuth RootCredential(const std::string& machine) {
  Encoder e;
  e.U32(static_cast<uint32_t>(std::time(nullptr))).String(machine, 255).U32(0).U32(0).U32(0);
  return rpc::OpaqueAuth{rpc::kAuthSys, e.Take()};
}

// One call through the portmapper's port; 0 and the result bytes, or the
// exit code for the failure (printed).
int CallProgram(const Options& o, const char* what, uint32_t prog, uint32_t vers, uint32_t proc,
                const Bytes& args, Bytes* results) {
  Result<uint16_t> port = PmapGetPort(o.host, prog, vers, o.proto, o.timeout);
  if (!port.ok() || port.value() == 0) {
    std::printf("%s: no port: %s\n", what,
                port.ok() ? "not registered" : port.status().ToString().c_str());
    return port.ok() ? 2 : 3;
  }
  CallOptions copts;
  copts.cred = RootCredential(o.caller);
  Result<Reply> r = Call(o.host, port.value(), o.proto, prog, vers, proc, args, o.timeout, copts);
  if (!r.ok()) {
    std::printf("%s: no reply: %s\n", what, r.status().ToString().c_str());
    return 3;
  }
  if (!r->Success()) {
    std::printf("%s: call not accepted\n", what);
    return 2;
  }
  *results = std::move(r->results);
  return 0;
}

// The first nfs_fh3 of a reply that starts with a status: MNT (mountstat3,
// fhandle3), LOOKUP (nfsstat3, object) or CREATE (nfsstat3, post_op_fh3:
// `post_op`).  *status gets the status; *fh stays empty without a handle.
bool DecodeHandle(Bytes results, bool post_op, uint32_t* status, Bytes* fh) {
  Decoder d(std::move(results));
  if (!d.U32(status)) return false;
  if (*status != 0) return true;
  bool follows = true;
  if (post_op && !d.Bool(&follows)) return false;
  return !follows || d.Opaque(fh, kMaxFhSize);
}

int FileHandle(const Options& o, const std::string& export_path, const std::string& file,
               Bytes* fh) {
  Bytes root, results;
  uint32_t status = 0;
  Encoder mnt;
  mnt.String(export_path, kMaxPath);
  if (int rc = CallProgram(o, "MNT", kMountProgram, kMountVersion, kMountProcMnt, mnt.Take(),
                           &results)) {
    return rc;
  }
  if (!DecodeHandle(std::move(results), false, &status, &root) || status != 0) {
    std::printf("MNT %s: mountstat3 %u\n", export_path.c_str(), status);
    return 2;
  }
  Encoder where;
  where.Opaque(root, kMaxFhSize).String(file, kMaxName);
  Bytes where_bytes = where.Take();
  if (int rc = CallProgram(o, "LOOKUP", kNfsProgram, kNfsVersion, kNfsProcLookup, where_bytes,
                           &results)) {
    return rc;
  }
  if (!DecodeHandle(std::move(results), false, &status, fh)) return 2;
  if (status == kNfs3ErrNoent) {
    // UNCHECKED, mode 0644, every other attribute left as the server sets it.
    Encoder create;
    create.Opaque(root, kMaxFhSize).String(file, kMaxName).I32(kCreateUnchecked);
    create.Bool(true).U32(0644).Bool(false).Bool(false).Bool(false);
    create.I32(kDontChange).I32(kDontChange);
    if (int rc = CallProgram(o, "CREATE", kNfsProgram, kNfsVersion, kNfsProcCreate, create.Take(),
                             &results)) {
      return rc;
    }
    if (!DecodeHandle(std::move(results), true, &status, fh)) return 2;
    if (status == 0 && fh->empty()) {
      if (int rc = CallProgram(o, "LOOKUP", kNfsProgram, kNfsVersion, kNfsProcLookup, where_bytes,
                               &results)) {
        return rc;
      }
      if (!DecodeHandle(std::move(results), false, &status, fh)) return 2;
    }
  }
  if (status != 0 || fh->empty()) {
    std::printf("%s: nfsstat3 %u\n", file.c_str(), status);
    return 2;
  }
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: nlm-client [--host A] [--udp] [--caller NAME] [--svid N] [--state N]\n"
               "  [--timeout-ms N] EXPORT_PATH FILE lock | test | unlock\n");
  return 2;
}

int Run(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc && std::strncmp(argv[i], "--", 2) == 0; ++i) {
    std::string a = argv[i];
    if (a == "--udp") {
      o.proto = Proto::kUdp;
      continue;
    }
    if (i + 1 >= argc) return Usage();
    const char* v = argv[++i];
    if (a == "--host") {
      o.host = v;
    } else if (a == "--caller") {
      o.caller = v;
    } else if (a == "--svid") {
      o.svid = std::atoi(v);
    } else if (a == "--state") {
      o.state = std::atoi(v);
    } else if (a == "--timeout-ms") {
      int ms = std::atoi(v);
      if (ms <= 0) return Usage();
      o.timeout = std::chrono::milliseconds(ms);
    } else {
      return Usage();
    }
  }
  if (argc - i != 3) return Usage();
  std::string export_path = argv[i], file = argv[i + 1], verb = argv[i + 2];
  uint32_t proc = 0;
  if (verb == "test") {
    proc = kNlmProcTest;
  } else if (verb == "lock") {
    proc = kNlmProcLock;
  } else if (verb == "unlock") {
    proc = kNlmProcUnlock;
  } else {
    return Usage();
  }

  Bytes fh;
  if (int rc = FileHandle(o, export_path, file, &fh)) return rc;
  std::string owner = o.caller + ":" + std::to_string(o.svid);
  // nlm4_testargs, nlm4_lockargs (never blocking, never a reclaim) or
  // nlm4_unlockargs around one nlm4_lock on the whole file; every lock is
  // exclusive.
  Encoder args;
  args.Opaque(Bytes{'n', 'l', 'm', static_cast<uint8_t>(proc)}, kMaxNetobj);
  if (proc == kNlmProcTest) args.Bool(true);
  if (proc == kNlmProcLock) args.Bool(false).Bool(true);
  args.String(o.caller, kMaxNetobj).Opaque(fh, kMaxNetobj);
  args.Opaque(Bytes(owner.begin(), owner.end()), kMaxNetobj).I32(o.svid).U64(0).U64(0);
  if (proc == kNlmProcLock) args.Bool(false).I32(o.state);
  if (!args.ok()) return 2;
  Bytes results;
  if (int rc = CallProgram(o, "NLM4", kNlmProgram, kNlmVersion, proc, args.Take(), &results)) {
    return rc;
  }
  // nlm4_res, or nlm4_testres with the holder of a denied test.
  Decoder d(std::move(results));
  Bytes cookie;
  uint32_t stat = 0;
  if (!d.Opaque(&cookie, kMaxNetobj) || !d.U32(&stat)) {
    std::printf("NLM4: bad result\n");
    return 2;
  }
  const size_t names = sizeof kNlmStatNames / sizeof kNlmStatNames[0];
  std::string name = stat < names ? kNlmStatNames[stat] : "nlm4_stat " + std::to_string(stat);
  bool exclusive = false;
  int32_t svid = 0;
  if (proc == kNlmProcTest && stat == kNlmDenied && d.Bool(&exclusive) && d.I32(&svid)) {
    std::printf("%s holder svid=%d exclusive=%d\n", name.c_str(), svid, exclusive ? 1 : 0);
  } else {
    std::printf("%s\n", name.c_str());
  }
  return stat == kNlmGranted ? 0 : 1;
}

}  // namespace
}  // namespace nfsrec::test

int main(int argc, char** argv) { return nfsrec::test::Run(argc, argv); }
