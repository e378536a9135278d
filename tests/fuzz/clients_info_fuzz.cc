// Fuzz target: the kernel's client list (nfs4rec/clients_info.h): the info
// and states files of /proc/fs/nfsd/clients/<id>/, the seq_quote_mem() name
// decoder, nfsv4leasetime, and the scan over all of them.
//
// Input: parts separated by NUL bytes: nfsv4leasetime, then pairs of info
// and states files for clients 1, 2, ...
// Invariants: a parsed client's name is 1..1024 bytes; a decoded quoted
// name is too; the scan lists every client whose info parses, and no more.
#include <string>
#include <string_view>

#include "nfs4rec/clients_info.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/fake_file_system.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfsrec;
  using namespace nfsrec::fuzz;
  std::string_view text = AsText(data, size);
  Result<std::string> quoted = nfs4rec::DecodeQuotedName(text);
  if (quoted.ok()) NFSREC_FUZZ_CHECK(!quoted->empty() && quoted->size() <= 1024);

  std::vector<std::string_view> parts = SplitAtNul(text);
  FakeFileSystem fs;
  const std::string dir = nfs4rec::kNfsdClientsDir;
  fs.MakeDir(dir);
  fs.SetFile(nfs4rec::kNfsdLeaseTimePath, std::string(parts[0]));
  size_t parsed = 0;
  for (size_t i = 1; i < parts.size(); i += 2) {
    Result<nfs4rec::NfsdClientInfo> info = nfs4rec::ParseClientInfo(parts[i]);
    if (info.ok()) {
      ++parsed;
      NFSREC_FUZZ_CHECK(!info->name.empty() && info->name.size() <= 1024);
      (void)nfs4rec::NfsdClientStatusName(info->status);
    }
    std::string client = dir + "/" + std::to_string(i / 2 + 1);
    fs.SetFile(client + "/info", std::string(parts[i]));
    if (i + 1 < parts.size()) {
      (void)nfs4rec::StatesHoldState(parts[i + 1]);
      fs.SetFile(client + "/states", std::string(parts[i + 1]));
    }
  }
  (void)nfs4rec::ReadLeaseTime(fs);
  Result<nfs4rec::LiveClientScan> scan = nfs4rec::ScanLiveClients(fs);
  NFSREC_FUZZ_CHECK(scan.ok());
  NFSREC_FUZZ_CHECK(scan->clients.size() == parsed);
  return 0;
}
