# Secure aggregation over a real MQTT broker (docs/federated.md, "Over
# MQTT", secure rounds): examples/federated/run-mqtt.sh twice on the same
# slices and seeds, plain and then secure (asked for with POST
# /api/fed/rounds {"secure": true}), 10 devices, 4 rounds, the last 2
# devices silent after masking in round 2. The final global heads must be
# byte-identical, round 2 must recover the 2 drop-outs' pair masks from t
# survivors' shares, and the traffic of both runs is taken from the
# broker's $SYS counters.
. "$(dirname "$0")/lib.sh"
set +m
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$(dirname "$MOTE")" && pwd)
for t in mosquitto mosquitto_sub curl; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; echo "0 passed, 0 failed"; exit 0; }
done
[ -x "$BIN/moted" ] && [ -x "$BIN/mote-sim" ] && [ -x "$BIN/mote-agent" ] || { echo "moted / mote-sim not built in $BIN"; exit 1; }
. "$(dirname "$0")/poll.sh"

cleanup() { [ -n "${KEEP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"; }
trap cleanup EXIT
check() {
    local desc=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}
py() { /usr/bin/python3 -c "$@"; }

ROUNDS=4
export MOTE_SHARED_DIR=$SHARED
for mode in plain secure; do
    run env MOTE_BIN="$BIN" DEVICES=10 ROUNDS=$ROUNDS DEADLINE_MS=1500 SILENT=0.2@2 ATTACK=0 KILL_ROUND=0 \
        SECURE=$([ $mode = secure ] && echo 1 || echo 0) TIMEOUT_S=25 \
        bash "$ROOT/examples/federated/run-mqtt.sh" "$TMP/$mode"
    if [ "$RC" -ne 0 ]; then
        not_ok "run-mqtt.sh $mode finishes $ROUNDS rounds (exit $RC)"
        tail -n 20 "$TMP/$mode/moted.log" 2>/dev/null | sed 's/^/#   /'
        echo "$PASS passed, $FAIL failed"
        exit 1
    fi
    ok "run-mqtt.sh $mode: $ROUNDS rounds over mosquitto with 10 devices"
done
P=$TMP/plain
S=$TMP/secure

check "secure and plain final heads are byte-identical" cmp "$P/mqtt/global_final.motl" "$S/mqtt/global_final.motl"
check "so is every round's accuracy, received and dropped count" \
    py 'import sys; a, b = (open(f).read().replace(",", " ").split("\n") for f in sys.argv[1:3])
sys.exit(not [l.split()[:8] for l in a] == [l.split()[:8] for l in b])' "$P/mqtt/rounds.csv" "$S/mqtt/rounds.csv"
check "the ledgers record the same heads" py '
import json, sys
h = [[json.loads(l)["body"]["head"] for l in open(f) if "\"fl_round\"" in l] for f in sys.argv[1:3]]
sys.exit(not (len(h[0]) == int(sys.argv[3]) and h[0] == h[1]))' "$P/moted/ledger.jsonl" "$S/moted/ledger.jsonl" $ROUNDS
check "the secure run was secure (every round)" test "$(grep -c 'fl: round [0-9] open (secure)' "$S/moted.log")" -eq $ROUNDS
check "the plain run was plain" bash -c "! grep -q '(secure)' '$P/moted.log'"
check "masked uploads: 4 B per parameter (rounds.csv bytes_in 4x + header)" py '
import sys
r = [l.split(",") for l in open(sys.argv[1]).read().split()[1:]]
p = [l.split(",") for l in open(sys.argv[2]).read().split()[1:]]
sys.exit(not all(int(a[8]) > 3 * int(b[8]) for a, b in zip(r, p)))' "$S/mqtt/rounds.csv" "$P/mqtt/rounds.csv"

# Round 2: dev-0009 and dev-0010 masked, then went silent.
check "round 2: 8 uploads, 2 dropped after masking" grep -q "fl: round 2 (secure): 8 uploads, 2 dropped after masking" "$S/moted.log"
check "round 2: their pair masks recovered from t = 6 shares" \
    grep -q "fl: round 2 (secure): 8 self masks removed, 2 dropped devices recovered from 6 shares each" "$S/moted.log"
check "round 2 finished with a new global" test "$(awk -F, '$1 == 2 {print $4","$5","$7}' "$S/mqtt/rounds.csv")" = "8,2,1"
check "the silent devices masked but never uploaded" grep -q "dev-0010: fl round 2: silent" "$S/devices.log"
check "no secure message refused by moted or a device" \
    bash -c "! grep -qE 'secure message refused|fl/global refused|cannot publish' '$S/moted.log' '$S/devices.log'"
check "the ledger says secure, and round 2 recovered 2" py '
import json, sys
b = [json.loads(l)["body"] for l in open(sys.argv[1]) if "\"fl_round\"" in l]
sys.exit(not (all(x["secure"] for x in b) and [x["recovered"] for x in b] == [0, 2, 0, 0]))' "$S/moted/ledger.jsonl"
check "ledger of the secure run verifies" "$MOTE" ledger verify "$S/moted/ledger.jsonl" --pk "$S/fleet.pk"
check "no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error:' '$S/moted.log' '$S/devices.log' '$P/moted.log' '$P/devices.log'"

# Traffic per device from the broker's $SYS counters (all clients).
per_dev() { sed -n "s/^broker bytes $1, all *\([0-9]*\).*/\1/p" "$2/summary.txt"; }
for d in received sent; do
    a=$(per_dev $d "$P")
    b=$(per_dev $d "$S")
    echo "# broker bytes $d per device, $ROUNDS rounds: plain $((a / 10)), secure $((b / 10))"
    check "broker $d bytes counted for both runs" test "${a:-0}" -gt 0 -a "${b:-0}" -gt "${a:-0}"
done

# ---- bad input: moted refuses a secure request it cannot parse ------------
VIEW=viewer-token-0123456789abcdef
ENG=engineer-token-0123456789abcdef
printf '%s viewer vera\n%s engineer erin\n' "$VIEW" "$ENG" >"$TMP/tokens"
"$BIN/moted" --state "$TMP/api" --fleet-key "$S/fleet.sk" --http 127.0.0.1:0 --token-file "$TMP/tokens" \
    --fed "$S/fed.json" 2>"$TMP/api.log" &
API_PID=$!
if wait_for 20 test -s "$TMP/api/moted.http"; then
    URL="http://$(cat "$TMP/api/moted.http")"
    wait_for 10 curl -sf "$URL/api/fed" -H "Authorization: Bearer $VIEW"
    run curl -s -o "$TMP/body" -w '%{http_code}' -X POST "$URL/api/fed/rounds" -H "Authorization: Bearer $ENG" \
        -d '{"secure": "yes"}'
    check "POST secure: \"yes\": 400 naming secure" bash -c "grep -qx 400 '$TMP/out' && grep -q 'secure' '$TMP/body'"
    run curl -s -o "$TMP/body" -w '%{http_code}' -X POST "$URL/api/fed/rounds" -H "Authorization: Bearer $ENG" \
        -d '{"secure": true, "rounds": 1}'
    check "POST secure: true: 202, status says secure" py 'import json,sys
d = json.load(open(sys.argv[1]))
sys.exit(not (open(sys.argv[2]).read().strip() == "202" and d["secure"] is True))' "$TMP/body" "$TMP/out"
else
    not_ok "moted --fed without a broker starts" "$TMP/api.log"
fi
kill -TERM "$API_PID" 2>/dev/null
wait "$API_PID" 2>/dev/null

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
