#!/bin/bash
# `mote fed sim`: help, usage errors (exit 2), bad configs (exit 1, "mote:
# FILE: status: key: ..."), and a real 8-round run of the CWRU example:
# secure aggregation equal to plain bit for bit, 30 % drop-outs recovered
# every round, poisoned updates rejected, the federated head within 1 point
# of the central one, >= 99 % fewer bytes sent than the raw windows, the
# documented files, and a ledger whose hash chain checks out with b2sum.
. "$(dirname "$0")/lib.sh"
EX=$(cd "$(dirname "$0")/../../examples/federated" && pwd)

expect_rc "fed --help" 0 "$MOTE" fed --help
check "fed --help shows its usage" grep -q "^usage: mote fed sim" "$TMP/out"
check "fed is listed in mote --help" sh -c "'$MOTE' --help | grep -q '^  fed '"
expect_rc "fed without an action" 2 "$MOTE" fed
check "usage error points to help" grep -q "mote help fed" "$TMP/err"
expect_rc "fed with an unknown action" 2 "$MOTE" fed train x.json
expect_rc "fed sim without CONFIG" 2 "$MOTE" fed sim
expect_rc "fed sim --rounds 0" 2 "$MOTE" fed sim x.json --rounds 0
expect_rc "fed sim --rounds abc" 2 "$MOTE" fed sim x.json --rounds abc
expect_rc "fed sim with an unknown option" 2 "$MOTE" fed sim x.json --frob
expect_rc "fed sim with two configs" 2 "$MOTE" fed sim a.json b.json

printf '{"features": "%s/features.json", "mu": -1}' "$EX" >"$TMP/bad1.json"
expect_fail "bad value names its key" "$TMP/bad1.json" "invalid argument: mu: must be a number" \
    "$MOTE" fed sim "$TMP/bad1.json" --out "$TMP/o1"
check "bad config: stdout stays empty" test ! -s "$TMP/out"
printf '{"features": "%s/features.json", "roundz": 3}' "$EX" >"$TMP/bad2.json"
expect_fail "unknown key is named" "$TMP/bad2.json" "roundz: unknown key" "$MOTE" fed sim "$TMP/bad2.json"
printf '{"features":\n  }' >"$TMP/bad3.json"
expect_fail "JSON syntax error gives line:column" "$TMP/bad3.json:2:3" "malformed text" \
    "$MOTE" fed sim "$TMP/bad3.json"
printf '{"features": "%s/features.json", "drop": 0.5, "threshold": 15}' "$EX" >"$TMP/bad4.json"
expect_fail "threshold above the survivors" "$TMP/bad4.json" "threshold: 15 is more than the 10" \
    "$MOTE" fed sim "$TMP/bad4.json"
printf '{"features": "missing.json"}' >"$TMP/bad5.json"
expect_fail "missing features config" "$TMP/missing.json" "" "$MOTE" fed sim "$TMP/bad5.json"

O=$TMP/run
expect_rc "8-round CWRU simulation" 0 "$MOTE" fed sim "$EX/cwru20.json" --out "$O" --rounds 8
check "secagg equals plain bit for bit" grep -qE "^secagg == plain bit for bit +yes$" "$TMP/out"
check "poisoned updates rejected by the norm bound and the decoder" sh -c \
    "grep -q 'device 1 rejected: fl/up: update norm above the bound' '$TMP/err' &&
     grep -q 'device 2 rejected: fl/up: step' '$TMP/err'"
check "federated head within 1 point of the central head" awk '
    /^central head/ { c = $5 } /^federated secagg/ { f = $3 }
    END { exit !(c > 90 && f >= c - 1) }' "$TMP/out"
check "local-only heads are far worse (non-IID slices)" awk '
    /^central head/ { c = $5 } /^local-only heads/ { l = $3 } END { exit !(l < c - 20) }' "$TMP/out"
check "plain uploads send >= 99 % less than the raw windows" awk '
    /^sent per device, plain/ { p = $(NF-2) } END { exit !(p + 0 >= 99) }' "$TMP/out"
for f in rounds.csv summary.json accuracy.svg accuracy.png ledger.jsonl global_final.motl global_final.sig; do
    check "writes $f" test -s "$O/$f"
done
check "rounds.csv has the documented header" sh -c "head -n 1 '$O/rounds.csv' | grep -qx \
'variant,round,selected,received,dropped,recovered,rejected,ok,accuracy,bytes_up,bytes_down,epsilon'"
check "every secagg round: 30 % dropped after masking, all recovered, round ok" awk -F, '
    $1 == "secagg" { n++; if ($3 != 20 || $5 != 6 || $6 != 6 || $4 != 14 || $8 != 1) bad++ }
    END { exit !(n == 8 && bad == 0) }' "$O/rounds.csv"
check "dp rounds report a growing epsilon" awk -F, '
    $1 == "dp" { if ($12 + 0 <= last) bad++; last = $12 + 0; n++ } END { exit !(n == 8 && !bad) }' "$O/rounds.csv"
check "global head is a state blob" sh -c "head -c 4 '$O/global_final.motl' | grep -qx MOTL"
check "PNG signature" sh -c "head -c 8 '$O/accuracy.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
check "ledger: one line per round and variant" test "$(wc -l <"$O/ledger.jsonl")" -eq 32
check "ledger: each line names the BLAKE2b-256 of the previous one" bash -c '
    prev=0000000000000000000000000000000000000000000000000000000000000000
    while IFS= read -r line; do
        got=$(printf "%s" "$line" | sed -E "s/.*\"prev\":\"([0-9a-f]{64})\".*/\1/")
        [ "$got" = "$prev" ] || exit 1
        prev=$(printf "%s" "$line" | b2sum -l 256 | cut -d" " -f1)
    done <"$1"' _ "$O/ledger.jsonl"
finish
