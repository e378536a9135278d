#include "statd/legacy_state.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace nfsrec::statd {

int32_t ReadLegacyState(const std::string& state_dir) {
  std::string path = state_dir + "/state";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return 0;
  int32_t state = 0;
  if (::read(fd.get(), &state, sizeof(state)) != static_cast<ssize_t>(sizeof(state))) return 0;
  return state > 0 ? state : 0;
}

}  // namespace nfsrec::statd
