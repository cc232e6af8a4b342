#!/bin/sh
# Run each unit test binary (TAP); print "unit: N passed, N failed" and record counts.
passed=0; failed=0
for t in "$@"; do
    out=$("$t" 2>&1); rc=$?
    if [ $rc -eq 77 ]; then echo "# skip $t"; continue; fi
    p=$(printf '%s\n' "$out" | grep -c '^ok ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok ')
    if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "# $t exited $rc"; fi
    printf '%s\n' "$out" | grep -E '^(not ok|#)' | sed "s|^|$(basename "$t"): |"
    passed=$((passed + p)); failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ -n "$COUNTS_FILE" ] && echo "$passed $failed" >> "$COUNTS_FILE"
[ "$failed" -eq 0 ]
