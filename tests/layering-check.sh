#!/bin/bash
# The folder graph of the product code (ARCHITECTURE.md), checked on every
# #include of every product file (files named *test* are tests and may
# include tests/support):
#   daemon -> statd, nfs4rec, cluster -> common/{rpc,store} -> common/os -> common/base
# statd and nfs4rec never include each other; only daemon/ sees both.
# cluster (etcd cluster mode) sees neither.
set -euo pipefail
if [ "${NFSREC_SANITIZED_PASS:-0}" = 1 ]; then
  echo "SKIP: checks the source tree, the same in both passes; the plain pass runs it"; exit 77
fi
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
declare -A allowed=(
  [common/base]="common/base"
  [common/os]="common/base common/os"
  [common/store]="common/base common/os common/store"
  [common/rpc]="common/base common/os common/rpc"
  [statd]="common/base common/os common/store common/rpc statd"
  [nfs4rec]="common/base common/os common/store common/rpc nfs4rec"
  [cluster]="common/base common/os common/store cluster"
  [daemon]="common/base common/os common/store common/rpc statd nfs4rec cluster daemon"
)
bad=0
for dir in "${!allowed[@]}"; do
  while IFS= read -r f; do
    while IFS= read -r inc; do
      target=$(dirname "$inc")
      case "$target" in common/*|statd|nfs4rec|cluster|daemon|tests*) ;; *) continue ;; esac
      ok=0
      for a in ${allowed[$dir]}; do [ "$target" = "$a" ] && ok=1; done
      if [ $ok = 0 ]; then echo "$f includes $inc ($dir may include: ${allowed[$dir]})"; bad=1; fi
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
  done < <(find "$dir" -maxdepth 1 \( -name '*.cc' -o -name '*.h' \) ! -name '*test*')
done
[ $bad = 0 ] && echo "folder graph holds"
exit $bad
