#!/bin/bash
# `mote learn`: help, usage errors (exit 2), bad configs (exit 1, "mote:
# FILE: status: JSON.path: ..."), and short real replays of two example
# scenarios that must write the stream log, the charts and the summary.
. "$(dirname "$0")/lib.sh"
EX=$(cd "$(dirname "$0")/../../examples/online" && pwd)

expect_rc "learn --help" 0 "$MOTE" learn --help
check "learn --help shows its usage" grep -q "^usage: mote learn" "$TMP/out"
expect_rc "help learn" 0 "$MOTE" help learn
check "learn is listed in mote --help" sh -c "'$MOTE' --help | grep -q '^  learn '"
expect_rc "learn without CONFIG" 2 "$MOTE" learn
check "usage error points to help" grep -q "mote help learn" "$TMP/err"
expect_rc "learn with an unknown option" 2 "$MOTE" learn x.json --frob
expect_rc "learn --seed abc" 2 "$MOTE" learn x.json --seed abc
expect_rc "learn --limit 0" 2 "$MOTE" learn x.json --limit 0
expect_rc "learn --out without a folder" 2 "$MOTE" learn x.json --out
expect_rc "learn with two configs" 2 "$MOTE" learn a.json b.json

printf '{"classes": ["a"], "head": {"lr": "fast"}, "stream": {}}' >"$TMP/bad1.json"
expect_fail "bad value names its JSON path" "$TMP/bad1.json" "invalid argument: head.lr: must be a number" \
    "$MOTE" learn "$TMP/bad1.json" --out "$TMP/o1"
check "bad config: stdout stays empty" test ! -s "$TMP/out"
printf '{"classes": ["a"], "stream": {"phases": [{"segments": [{"dataset": "x.json"}]}]}, "labelz": 1}' >"$TMP/bad2.json"
expect_fail "unknown key is named" "$TMP/bad2.json" "labelz: unknown key" "$MOTE" learn "$TMP/bad2.json"
printf '{"classes": ["a"],\n  "stream": }' >"$TMP/bad3.json"
expect_fail "JSON syntax error gives line:column" "$TMP/bad3.json:2:13" "malformed text: JSON syntax error" \
    "$MOTE" learn "$TMP/bad3.json"
printf '{"task": "anomaly", "anomaly": {"normal_classes": ["n"], "learn_below": 1.5}, "stream": {}}' >"$TMP/bad5.json"
expect_fail "anomaly.learn_below out of (0, 1] is named" "$TMP/bad5.json" "anomaly.learn_below" \
    "$MOTE" learn "$TMP/bad5.json"
expect_fail "missing config file" "$TMP/none.json" "" "$MOTE" learn "$TMP/none.json"
printf '{"classes": ["a"], "stream": {"phases": [{"segments": [{"dataset": "missing.json"}]}]}}' >"$TMP/bad4.json"
expect_fail "missing dataset spec is named" "$TMP/missing.json" "" "$MOTE" learn "$TMP/bad4.json" --out "$TMP/o4"

# Real replays: the Isolation Forest scenario (fast) and the new-class
# scenario cut to 300 samples per phase.
expect_rc "iforest replay" 0 "$MOTE" learn "$EX/fan_iforest.json" --out "$TMP/if" --quiet
check "summary shows the ROC AUC" grep -qE "ROC AUC +0\.99" "$TMP/out"
expect_rc "new-class replay (--limit 300)" 0 "$MOTE" learn "$EX/cwru_new_class.json" --out "$TMP/nc" --limit 300
check "progress goes to stderr" grep -q "phase 2/2 'outer race appears'" "$TMP/err"
check "summary shows the head accuracy" grep -qE "head accuracy +[0-9.]+ %" "$TMP/out"
check "stream.csv has the documented header" sh -c "head -n 1 '$TMP/nc/stream.csv' | grep -qx 'index,phase,true,predicted,score,threshold,label_arrived,drift,anomaly,class_added,alarm,backbone'"
check "stream.csv has one row per sample" test "$(wc -l <"$TMP/nc/stream.csv")" -eq 601
check "a class was added at run time" sh -c "awk -F, 'NR > 1 && \$10 == 1' '$TMP/nc/stream.csv' | grep -q outer_race"
for f in stream.svg stream.png summary.json head_pretrained.motl head_final.motl backbone/cwru3_backbone.tflite; do
    check "wrote $f" test -s "$TMP/nc/$f"
done
check "the SVG is an SVG" grep -q "<svg" "$TMP/nc/stream.svg"
check "the PNG is a PNG" sh -c "head -c 8 '$TMP/nc/stream.png' | od -An -tx1 | grep -q '89 50 4e 47'"
check "same seed, same stream" sh -c "'$MOTE' learn '$EX/cwru_new_class.json' --out '$TMP/nc2' --limit 300 --quiet >/dev/null && cmp -s '$TMP/nc/stream.csv' '$TMP/nc2/stream.csv'"
check "another seed, another mix" sh -c "'$MOTE' learn '$EX/cwru_new_class.json' --out '$TMP/nc3' --limit 300 --seed 7 --quiet >/dev/null && ! cmp -s '$TMP/nc/stream.csv' '$TMP/nc3/stream.csv'"
finish
