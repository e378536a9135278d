#!/bin/bash
# docs/BAD_INPUT.md promises that every row is backed by a test: check that
# every GoogleTest name (`Suite.Test`) and every test script it cites exists,
# and that every row cites at least one.
set -u
if [ "${NFSREC_SANITIZED_PASS:-0}" = 1 ]; then
  echo "SKIP: checks the source tree, the same in both passes; the plain pass runs it"; exit 77
fi
top=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
doc=$top/docs/BAD_INPUT.md
status=0
rows=0
while IFS= read -r line; do
  case $line in
    '| input'* | '|---'*) continue ;;
    '|'*) ;;
    *) continue ;;
  esac
  rows=$((rows + 1))
  tests_col=${line%|}
  tests_col=${tests_col##*|}
  found=0
  while IFS= read -r name; do
    [ -z "$name" ] && continue
    suite=${name%%.*}
    test=${name#*.}
    if grep -rqE "TEST(_F|_P)?\\( *$suite, *$test *\\)" "$top"/common "$top"/statd "$top"/nfs4rec \
      "$top"/daemon "$top"/tests 2>/dev/null; then
      found=$((found + 1))
    else
      echo "BAD_INPUT.md: no test $name" >&2
      status=1
    fi
  done < <(grep -oE '\b[A-Z][A-Za-z0-9]*(Test|Codec|Dir|Tree|Hex)?\.[A-Z][A-Za-z0-9]+\b' <<<"$tests_col")
  while IFS= read -r script; do
    [ -z "$script" ] && continue
    if [ -e "$top/tests/system/$script" ] || [ -e "$top/$script" ]; then
      found=$((found + 1))
    else
      echo "BAD_INPUT.md: no script $script" >&2
      status=1
    fi
  done < <(grep -oE '[0-9]{3}-[a-z0-9-]+\.sh' <<<"$tests_col")
  if [ "$found" = 0 ]; then
    echo "BAD_INPUT.md: row without a test: $line" >&2
    status=1
  fi
done <"$doc"
[ "$rows" -gt 0 ] || { echo "BAD_INPUT.md: no rows" >&2; status=1; }
[ "$status" = 0 ] && echo "BAD_INPUT.md: $rows rows, every cited test exists"
exit $status
