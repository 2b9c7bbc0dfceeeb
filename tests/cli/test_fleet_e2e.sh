#!/bin/bash
# The fleet end to end (issue 6 acceptance), small: a REAL mosquitto
# (scripts/fleet-pki.sh + scripts/broker.sh: passwords and the protocol's
# ACL), moted, and mote-sim with 20 devices replaying CWRU recordings with
# faults injected at known windows. Asserts:
#   - every device registered (moted knows all 20 from their TDs);
#   - every injected fault reported as an event (at moted, and by the
#     simulator's own account), none on the fault-free devices;
#   - a staged campaign (10 %, 50 %, 100 %) completes with every device
#     confirmed on v2, and the twins say so;
#   - the ledger verifies under the fleet key and holds the campaign;
#   - event bytes << raw bytes (>= 99.9 % less than the int16 signal);
#   - nothing lost (every event acknowledged), no sanitizer report.
. "$(dirname "$0")/lib.sh"
set +m
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$(dirname "$MOTE")" && pwd)
for t in mosquitto mosquitto_passwd mosquitto_sub openssl python3; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; echo "0 passed, 0 failed"; exit 0; }
done
for b in moted mote-sim; do [ -x "$BIN/$b" ] || { echo "$b not built in $BIN"; echo "0 passed, 1 failed"; exit 1; }; done
[ -f "$SHARED/data/cwru/normal_0hp_097.f32" ] || { echo "no CWRU data in $SHARED"; echo "0 passed, 1 failed"; exit 1; }

FLEET_ROOT=$ROOT
FLEET_BIN=$BIN
FLEET_DIR=$TMP/fleet
. "$ROOT/scripts/fleet-lib.sh"
cleanup() {
    fleet_cleanup
    if [ "$FAIL" -gt 0 ] && [ -n "${MOTE_KEEP_LOGS:-}" ]; then
        mkdir -p "$MOTE_KEEP_LOGS" && cp "$FLEET_DIR"/*.log "$FLEET_DIR"/sim.* "$MOTE_KEEP_LOGS"/ 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
T0=$SECONDS
N=20

# ---- a model from the pipeline (fewer epochs: this is not the accuracy test)
sed "s|\"base_dir\": *\"[^\"]*\"|\"base_dir\": \"$SHARED/data/cwru\"|" "$ROOT/examples/cwru/dataset.json" >"$TMP/dataset.json"
sed 's/"epochs": *[0-9]*/"epochs": 20/' "$ROOT/examples/cwru/config.json" >"$TMP/config.json"
run "$MOTE" train "$TMP/config.json" --out "$TMP/pkg"
check "mote train makes the cwru4 package" test -s "$TMP/pkg/cwru4.tflite"

# ---- PKI, broker, moted, models ------------------------------------------
fleet_sim_mode
check "fleet key and PKI (fleet-pki.sh --no-certs)" fleet_pki "$N" --no-certs
[ "$FLEET_SIM_PKI" = 1 ] || fleet_sim_passwords "$FLEET_SIM_PREFIX" "$N"
check "broker starts (broker.sh, passwords + ACL)" fleet_broker
[ "${FLEET_BROKER_UP:-0}" = 1 ] || { finish; exit 1; }
check "moted starts and connects" fleet_moted --tick-ms 100 --resend-ms 2000
[ -n "${FLEET_URL:-}" ] || { finish; exit 1; }
check "model v1 registered" fleet_register "$TMP/pkg" cwru4 1
check "model v2 registered" fleet_register "$TMP/pkg" cwru4 2

# ---- devices with faults at known windows ----------------------------------
cat >"$TMP/faults" <<'EOF'
# DEVICE WINDOW what
2 300 fault IR007_0hp_105.f32
2 600 normal
7 340 fault B007_0hp_118.f32
7 640 normal
11 380 fault OR007_0hp_130.f32
11 680 normal
16 320 drift 4 40
16 620 normal
EOF
FAULTY="2 7 11 16"
fleet_sim "$N" "$FLEET_DIR/sim" --state "$FLEET_DIR/sim" --install "$FLEET_DIR/moted/bundles/cwru4-1.bundle" \
    --data "$SHARED/data/cwru" --windows 1000000 --speed 8 --heartbeat 5 --faults "$TMP/faults"
is_n() { [ "$(fleet_devices)" = "$N" ]; }
check "all $N devices registered" fleet_wait 40 is_n
# moted's view: index of each device that sent an anomaly or class event
ev_devices() {
    fleet_events_json "$TMP/ev.json"
    python3 - "$TMP/ev.json" "$FLEET_SIM_FIRST" <<'EOF'
import json, sys
got = set()
for e in json.load(open(sys.argv[1])):
    if e["kind"] in ("anomaly", "class"):
        got.add(int(e["device"][-4:]) - int(sys.argv[2]))
print(" ".join(str(k) for k in sorted(got)))
EOF
}
all_reported() { [ "$(ev_devices)" = "$FAULTY" ]; }
check "every injected fault reported as an event, only by faulty devices" fleet_wait 40 all_reported
[ "$(ev_devices)" = "$FAULTY" ] || echo "# devices with events: $(ev_devices), want $FAULTY"

# ---- staged campaign ---------------------------------------------------------
run fleet_cli --json campaign create --model cwru4 --version 2 --group default --stages 10,50,100 \
    --max-fail 0 --timeout 30
CID=$(fleet_json 'j["id"]' <"$TMP/out" 2>/dev/null)
check "staged campaign created" test -n "$CID"
is_done() { [ "$(fleet_campaign_state "$CID")" = "done" ]; }
check "the staged campaign completes" fleet_wait 60 is_done
fleet_cli --json campaign show "$CID" >"$TMP/c.json" 2>/dev/null
check "three stages, every device confirmed" python3 - "$TMP/c.json" "$N" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
st = [d["stage"] for d in c["devices"]]
assert c["stages"] == [10, 50, 100] and sorted(set(st)) == [0, 1, 2], c["stages"]
assert len(c["devices"]) == int(sys.argv[2])
assert all(d["state"] == "confirmed" for d in c["devices"]), [d for d in c["devices"] if d["state"] != "confirmed"]
EOF
twin_v2() {
    local d
    for d in $(fleet_get "/api/devices?limit=1000" | fleet_json '" ".join(x["id"] for x in j["devices"])'); do
        fleet_get "/api/devices/$d/twin" | python3 -c '
import json, sys
t = json.load(sys.stdin)
sys.exit(0 if t["reported"]["version"] == 2 and t["desired"]["version"] == 2 else 1)' || return 1
    done
}
check "every twin: desired v2 = reported v2" fleet_wait 20 twin_v2

# ---- the simulator's account, traffic --------------------------------------
sleep 1
fleet_sim_stop
cat "$FLEET_DIR/sim.out" | grep -E '^(summary|faults|traffic|time):' | sed 's/^/# /'
sim_val() { sed -n "s/.*$1.*/\\1/p" "$FLEET_DIR/sim.out" | head -n 1; }
inj=$(sim_val 'faults: injected \([0-9]*\),')
rep=$(sim_val 'reported \([0-9]*\), mean')
check "mote-sim: 4 faults injected, 4 reported" test "$inj" = 4 -a "$rep" = 4
check "mote-sim: no false alarm" test "$(sim_val 'false alarms \([0-9]*\)')" = 0
check "mote-sim: every event acknowledged" test "$(sim_val 'waiting \([0-9]*\)')" = 0
wins=$(sim_val 'windows \([0-9]*\), events')
bytes=$(python3 -c "import re; s=open('$FLEET_DIR/sim.out').read(); print(int(re.search(r'events (\d+) B', s)[1]) + int(re.search(r'heartbeats (\d+) B', s)[1]))")
raw=$((wins * 512 * 2))
echo "# events + heartbeats $bytes B vs raw int16 signal $raw B"
check "event bytes << raw bytes (>= 99.9 % less)" python3 -c "import sys; sys.exit(0 if $bytes * 1000 <= $raw else 1)"
nev=$(fleet_events_json "$TMP/ev.json"; fleet_json 'len(j)' <"$TMP/ev.json")
check "moted stored every event the devices sent" test "$nev" = "$(sim_val 'events \([0-9]*\) (anomaly')"

# ---- ledger --------------------------------------------------------------------
expect_rc "the ledger verifies under the fleet key" 0 "$MOTE" ledger verify "$FLEET_DIR/moted/ledger.jsonl" \
    --pk "$FLEET_DIR/fleet.pk"
run "$MOTE" ledger show "$FLEET_DIR/moted/ledger.jsonl"
check "the ledger holds the campaign's start, stages and end" \
    bash -c "grep -q campaign.start '$TMP/out' && test \$(grep -c campaign.stage '$TMP/out') -ge 2 && grep -q campaign.done '$TMP/out'"
check "the ledger holds one deploy per device" test "$(grep -c ' deploy ' "$TMP/out")" -eq "$N"

crash=$(cat "$FLEET_DIR/moted.log" "$FLEET_DIR/sim.err" | grep -cE 'Sanitizer|runtime error')
check "no sanitizer report in moted's or mote-sim's log" test "$crash" -eq 0
echo "# $((SECONDS - T0)) s"
finish
