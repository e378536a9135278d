#!/bin/bash
# The tree is formatted with .clang-format (clang-format 14, Debian 12's).
# Fails listing the files that differ; `scripts/format` rewrites them.
set -euo pipefail
if [ "${NFSREC_SANITIZED_PASS:-0}" = 1 ]; then
  echo "SKIP: checks the source tree, the same in both passes; the plain pass runs it"; exit 77
fi
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
if ! command -v clang-format >/dev/null; then
  echo "SKIP: clang-format is not installed (Debian: clang-format)"; exit 77
fi
cd "$top"
if [ ! -e .git ]; then
  echo "SKIP: not a git checkout (the file list comes from git ls-files)"; exit 77
fi
bad=()
while IFS= read -r f; do
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files '*.cc' '*.h')
if [ ${#bad[@]} -ne 0 ]; then
  echo "Not formatted with .clang-format (run scripts/format):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "all $(git ls-files '*.cc' '*.h' | wc -l) C++ files formatted"
