#!/bin/sh
# Run the bats suites (TAP); print "integration: N passed, N failed" and record counts.
BUILD=${BUILD:-build}
export BUILD
files=${BATS_FILES:-$(ls tests/integration/*.bats 2>/dev/null)}
[ -n "$files" ] || { echo "integration: 0 passed, 0 failed"; exit 0; }
out=$(mktemp)
bats --tap $files | tee "$out"
p=$(grep -c '^ok ' "$out"); f=$(grep -c '^not ok ' "$out")
rm -f "$out"
echo "integration: $p passed, $f failed"
[ -n "$COUNTS_FILE" ] && echo "$p $f" >> "$COUNTS_FILE"
[ "$f" -eq 0 ]
