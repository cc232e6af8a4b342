#!/bin/sh
# make check: unit tests, integration tests, then the VM test; the last line is the total.
MAKE=${1:-make}
COUNTS_FILE=$(mktemp); export COUNTS_FILE
$MAKE --no-print-directory unit; u=$?
$MAKE --no-print-directory integration; i=$?
$MAKE --no-print-directory vm-test; v=$?
p=0; f=0
while read -r a b; do p=$((p + a)); f=$((f + b)); done < "$COUNTS_FILE"
rm -f "$COUNTS_FILE"
if [ $u -ne 0 ] && [ $f -eq 0 ]; then f=1; fi
if [ $i -ne 0 ] && [ $f -eq 0 ]; then f=1; fi
if [ $v -ne 0 ] && [ $f -eq 0 ]; then f=1; fi
echo "$p passed, $f failed"
[ $f -eq 0 ]
