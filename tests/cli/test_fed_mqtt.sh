# Federated rounds over a real MQTT broker (docs/federated.md, "Over MQTT"):
# examples/federated/run-mqtt.sh with 10 devices and 8 rounds (mosquitto
# with the fleet ACL, moted --fed, mote-sim --fed), then checks what it
# recorded: accuracy against the central head, the malicious updates
# refused and logged, the drop-out round completed, moted killed in that
# round and resumed, the ledger verified; plus bad input and the HTTP API.
. "$(dirname "$0")/lib.sh"
set +m
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$(dirname "$MOTE")" && pwd)
MOTED=$BIN/moted
SIM=$BIN/mote-sim
for t in mosquitto mosquitto_sub curl; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; echo "0 passed, 0 failed"; exit 0; }
done
[ -x "$MOTED" ] && [ -x "$SIM" ] && [ -x "$BIN/mote-agent" ] || { echo "moted / mote-sim not built in $BIN"; exit 1; }
. "$(dirname "$0")/poll.sh"

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    "$ROOT/scripts/broker.sh" stop "$TMP/run/pki" >/dev/null 2>&1
    [ -n "${KEEP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

check() {
    local desc=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}
py() { /usr/bin/python3 -c "$@"; }

ROUNDS=8
OUT=$TMP/run
export MOTE_SHARED_DIR=$SHARED
# 10 devices: 2 malicious, 2 (20 %) silent in round 3, so 6 = the quorum
# arrive; moted is killed while round 3 waits for its deadline.
run env MOTE_BIN="$BIN" DEVICES=10 ROUNDS=$ROUNDS DEADLINE_MS=2000 SILENT=0.2@3 ATTACK=2 KILL_ROUND=3 TIMEOUT_S=50 \
    bash "$ROOT/examples/federated/run-mqtt.sh" "$OUT"
if [ "$RC" -ne 0 ]; then
    not_ok "run-mqtt.sh finishes $ROUNDS rounds (exit $RC)"
    tail -n 20 "$OUT/moted.log" 2>/dev/null | sed 's/^/#   /'
    echo "$PASS passed, $FAIL failed"
    exit 1
fi
ok "run-mqtt.sh: $ROUNDS rounds over mosquitto with 10 devices"
cp "$TMP/out" "$TMP/summary"

CSV=$OUT/mqtt/rounds.csv
check "one row per round in rounds.csv" test "$(tail -n +2 "$CSV" | cut -d, -f1 | sort -un | wc -l)" -eq $ROUNDS
check "every round produced a new global" test "$(tail -n +2 "$CSV" | cut -d, -f7 | grep -c '^1$')" -eq $ROUNDS
ACC=$(tail -n 1 "$CSV" | cut -d, -f8)
CENTRAL=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["central_accuracy"])' "$OUT/sim/summary.json")
LOCAL=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["local_mean"])' "$OUT/sim/summary.json")
echo "# final accuracy $ACC, central $CENTRAL, local-only mean $LOCAL"
check "federated head within 1 point of the central head" py "import sys; sys.exit(not $ACC >= $CENTRAL - 0.01)"
check "federated head far above the local-only heads" py "import sys; sys.exit(not $ACC > $LOCAL + 0.2)"

# Malicious devices: dev-0001 saturated (norm bound), dev-0002 NaN step.
check "saturated update rejected by the norm bound, logged" \
    grep -q "dev-0001: update rejected: round 1: fl/up: update norm above the bound" "$OUT/moted.log"
check "NaN step rejected by the decoder, logged" \
    grep -q "dev-0002: update rejected: round 1: malformed field fl/up: step" "$OUT/moted.log"
check "both rejected in every round (rounds.csv)" test "$(tail -n +2 "$CSV" | cut -d, -f6 | grep -c '^2$')" -eq $ROUNDS
check "the ledger names the rejected devices" py '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if "\"fl_round\"" in l]
sys.exit(not all(sorted(r["body"]["rejected"]) == ["dev-0001", "dev-0002"] for r in rows))' "$OUT/moted/ledger.jsonl"

# Drop-out round 3: 2 silent devices dropped at the deadline, round done.
R3=$(awk -F, '$1 == 3' "$CSV" | tail -n 1)
check "round 3: 6 received, 2 dropped, new global" test "$(echo "$R3" | cut -d, -f4,5,7)" = "6,2,1"
check "the silent devices say so" grep -q "dev-0010: fl round 3: silent" "$OUT/devices.log"

# moted SIGKILLed in round 3 resumed it from the store.
check "moted was killed in round 3" grep -q "moted killed in round 3" "$OUT/moted.log"
check "the restarted moted resumed round 3" grep -q "fl: resumed round 3" "$OUT/moted.log"
check "it commanded again the devices not heard from" grep -q "fl: round 3: command sent again to" "$OUT/moted.log"
check "a device that already trained round 3 ignores the repeat" \
    grep -q "dev-0010: fl_round 3: already trained; ignored" "$OUT/devices.log"
check "round 3 finished after the resume" py '
import sys
log = open(sys.argv[1]).read()
sys.exit(not log.index("fl: round 3 done") > log.index("fl: resumed round 3"))' "$OUT/moted.log"

check "the store keeps every round (fl_rounds), round 3 with 2 dropped" py '
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT round, state, reported, dropped FROM fl_rounds ORDER BY round").fetchall()
sys.exit(not (len(rows) == int(sys.argv[2]) and rows[2] == (3, "done", 6, 2)))' "$OUT/moted/moted.db" $ROUNDS

# Ledger: one fl_round per round, chain and signatures valid; an edit breaks it.
check "one fl_round ledger entry per round" test "$(grep -c '"kind":"fl_round"' "$OUT/moted/ledger.jsonl")" -eq $ROUNDS
expect_rc "mote ledger verify" 0 "$MOTE" ledger verify "$OUT/moted/ledger.jsonl" --pk "$OUT/fleet.pk"
sed 's/"accuracy":0\.9/"accuracy":0.8/' "$OUT/moted/ledger.jsonl" >"$TMP/edited.jsonl"
expect_rc "an edited accuracy breaks the ledger" 1 "$MOTE" ledger verify "$TMP/edited.jsonl" --pk "$OUT/fleet.pk"

# Traffic and the plot.
check "update bytes per device >= 99 % below the raw windows" py '
import re, sys
m = re.search(r"-> ([0-9.]+) % less", open(sys.argv[1]).read())
sys.exit(not (m and float(m.group(1)) >= 99.0))' "$TMP/summary"
check "accuracy plot written (SVG and PNG)" test -s "$OUT/accuracy.svg" -a -s "$OUT/accuracy.png"
check "final head written" test -s "$OUT/mqtt/global_final.motl" -a -s "$OUT/mqtt/global_final.sig"
check "no sanitizer report from moted or mote-sim" \
    bash -c "! grep -qE 'Sanitizer|runtime error:' '$OUT/moted.log' '$OUT/devices.log'"

# ---- bad input -----------------------------------------------------------
K=(--fleet-key "$OUT/fleet.sk" --http 127.0.0.1:0)
expect_rc "moted --fed with a missing config" 1 "$MOTED" --state "$TMP/s1" "${K[@]}" --fed "$TMP/none.json"
check "the missing config is named" grep -q "none.json" "$TMP/err"
echo '{"features": "x.json", "rounds": "many"}' >"$TMP/bad.json"
expect_rc "moted --fed with a bad config value" 1 "$MOTED" --state "$TMP/s1" "${K[@]}" --fed "$TMP/bad.json"
check "the bad key is named" grep -q "rounds" "$TMP/err"
expect_rc "moted --fed-rounds 0" 2 "$MOTED" --state "$TMP/s1" "${K[@]}" --fed "$OUT/fed.json" --fed-rounds 0
S=(--broker 127.0.0.1:1 --fleet-pk "$OUT/fleet.pk" --state "$TMP/ss" --install "$OUT/v1.bundle" --data "$SHARED/data/cwru")
expect_rc "mote-sim --fed-silent 2@1" 2 "$SIM" "${S[@]}" --fed "$OUT/fed.json" --fed-silent 2@1
expect_rc "mote-sim --fed-attack 3" 2 "$SIM" "${S[@]}" --fed "$OUT/fed.json" --fed-attack 3
expect_rc "mote-sim --fed with more devices than slices" 1 "$SIM" "${S[@]}" --fed "$OUT/fed.json" --devices 11
check "the slice count is named" grep -q "10 slices" "$TMP/err"
expect_rc "mote fed plot without --out" 2 "$MOTE" fed plot "x=$CSV"
expect_rc "mote fed plot of a missing CSV" 1 "$MOTE" fed plot --out "$TMP/p.svg" "x=$TMP/none.csv"

# ---- HTTP API: status and more rounds (no broker needed) -----------------
VIEW=viewer-token-0123456789abcdef
ENG=engineer-token-0123456789abcdef
printf '%s viewer vera\n%s engineer erin\n' "$VIEW" "$ENG" >"$TMP/tokens"
"$MOTED" --state "$TMP/api" "${K[@]}" --token-file "$TMP/tokens" --fed "$OUT/fed.json" 2>"$TMP/api.log" &
API_PID=$!
PIDS+=("$API_PID")
if wait_for 20 test -s "$TMP/api/moted.http"; then
    URL="http://$(cat "$TMP/api/moted.http")"
    wait_for 10 curl -sf "$URL/api/fed" -H "Authorization: Bearer $VIEW"
    run curl -s -o "$TMP/body" -w '%{http_code}' "$URL/api/fed" -H "Authorization: Bearer $VIEW"
    check "GET /api/fed: round 0, target 0" py 'import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(not (d["round"] == 0 and d["target"] == 0 and not d["open"]))' "$TMP/body"
    run curl -s -o "$TMP/body" -w '%{http_code}' -X POST "$URL/api/fed/rounds" -H "Authorization: Bearer $VIEW" \
        -d '{"rounds": 2}'
    check "POST /api/fed/rounds as viewer: 403" grep -qx 403 "$TMP/out"
    run curl -s -o "$TMP/body" -w '%{http_code}' -X POST "$URL/api/fed/rounds" -H "Authorization: Bearer $ENG" \
        -d '{"rounds": 0}'
    check "POST /api/fed/rounds with 0 rounds: 400" grep -qx 400 "$TMP/out"
    run curl -s -o "$TMP/body" -w '%{http_code}' -X POST "$URL/api/fed/rounds" -H "Authorization: Bearer $ENG" \
        -d '{"secure": 1}'
    check "POST /api/fed/rounds with a non-boolean secure: 400 naming it" \
        bash -c "grep -qx 400 '$TMP/out' && grep -q 'secure' '$TMP/body'"
    run curl -s -o "$TMP/body" -w '%{http_code}' "$URL/api/fed/rounds" -H "Authorization: Bearer $VIEW"
    check "GET /api/fed/rounds: none yet" py 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != {"rounds": []})' \
        "$TMP/body"
    # the web console's form (web/js/federated.js) sends these fields
    run curl -s -o "$TMP/body" -w '%{http_code}' -X POST "$URL/api/fed/rounds" -H "Authorization: Bearer $ENG" \
        -d '{"model": "cwru0_backbone@1", "steps": 50, "min_clients": 3, "mu": 0.02, "secure": false, "rounds": 2}'
    check "POST /api/fed/rounds as engineer: 202, first round 1, target 2" py 'import json,sys
d = json.load(open(sys.argv[1]))
sys.exit(not (open(sys.argv[2]).read().strip() == "202" and d["round"] == 1 and d["target"] == 2))' \
        "$TMP/body" "$TMP/out"
    expect_rc "mote fed status" 0 "$MOTE" fed status --url "$URL" --token "$VIEW"
    check "status: round 0 of 2, version 0" grep -q "^round 0 of 2, global version 0" "$TMP/out"
    expect_rc "mote fed run --rounds 3" 0 "$MOTE" fed run --rounds 3 --url "$URL" --token "$ENG"
    check "run: rounds 3 to 5 queued" grep -q "^rounds 3 to 5 queued" "$TMP/out"
    expect_rc "mote fed run as viewer: refused" 1 "$MOTE" fed run --url "$URL" --token "$VIEW"
    check "the refusal says 403" grep -q "HTTP 403" "$TMP/err"
    expect_rc "mote fed run --rounds 0: usage" 2 "$MOTE" fed run --rounds 0 --url "$URL" --token "$ENG"
else
    not_ok "moted --fed without a broker starts" "$TMP/api.log"
fi
expect_rc "mote fed status with nobody listening" 1 "$MOTE" fed status --url "http://127.0.0.1:$(free_port)"
kill -TERM "$API_PID" 2>/dev/null
wait "$API_PID" 2>/dev/null
check "moted --fed stops cleanly on SIGTERM, no sanitizer report" \
    bash -c "! grep -qE 'Sanitizer|runtime error:' '$TMP/api.log'"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
