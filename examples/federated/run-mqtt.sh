#!/bin/bash
# run-mqtt.sh: federated rounds over a real MQTT broker (docs/federated.md,
# "Over MQTT"): mosquitto with the fleet ACL, moted coordinating the rounds
# (moted --fed), one mote-sim with N devices each training its own non-IID
# slice of CWRU; references (central head, local-only heads, the same
# rounds in process) from `mote fed sim` on the same slices.
#
# usage: examples/federated/run-mqtt.sh OUT [CONFIG]
#   CONFIG: a `mote fed sim` config (default examples/federated/cwru20.json)
# Environment (defaults in brackets):
#   MOTE_BIN     folder with mote, moted, mote-sim, mote-agent [build]
#   MOTE_SHARED_DIR  test data [../shared beside the project]
#   ROUNDS       rounds [the config's]      DEVICES  devices [the config's]
#   DEADLINE_MS  round deadline [3000]      SILENT   F@R: the last F of the
#                devices go silent in round R [0.3@3]
#   ATTACK       0..2 malicious devices (saturated update, NaN step) [2]
#   KILL_ROUND   SIGKILL moted while this round is open, then restart it [3]
#   TIMEOUT_S    give up after this long [300]
#   MOTED_DB     moted's store, e.g. postgresql://... [SQLite in OUT/moted]
#   SECURE       1: secure aggregation (asked for with POST /api/fed/rounds
#                {"secure": true}; needs KILL_ROUND=0) [0]
# Writes OUT/mqtt/rounds.csv, OUT/moted/ledger.jsonl, OUT/summary.txt,
# OUT/accuracy.svg (and .png), logs in OUT/*.log. Exit 0 when every round
# finished and the ledger verifies, 1 otherwise, 2 on usage.
set -euo pipefail
OUT=${1:?usage: run-mqtt.sh OUT [CONFIG]}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CONFIG=$(realpath "${2:-$HERE/cwru20.json}")
BIN=$(realpath "${MOTE_BIN:-$ROOT/build}")
SHARED=$(realpath "${MOTE_SHARED_DIR:-$ROOT/../shared}")
DEADLINE_MS=${DEADLINE_MS:-3000}
SILENT=${SILENT:-0.3@3}
ATTACK=${ATTACK:-2}
KILL_ROUND=${KILL_ROUND:-3}
TIMEOUT_S=${TIMEOUT_S:-300}
SECURE=${SECURE:-0}
[ "$SECURE" = 1 ] && [ "$KILL_ROUND" != 0 ] &&
    { echo "run-mqtt.sh: SECURE=1 needs KILL_ROUND=0 (secure rounds are not resumed)" >&2; exit 2; }
for b in mote moted mote-sim mote-agent; do
    [ -x "$BIN/$b" ] || { echo "run-mqtt.sh: $BIN/$b not built (set MOTE_BIN)" >&2; exit 2; }
done
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
. "$ROOT/tests/cli/poll.sh"

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    "$ROOT/scripts/broker.sh" stop "$OUT/pki" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# 1. Configs: absolute paths; DEVICES / ROUNDS override the config's.
/usr/bin/python3 - "$CONFIG" "$OUT" "${DEVICES:-}" "${ROUNDS:-}" <<'EOF'
import json, os, sys
src, out, dev, rounds = sys.argv[1:5]
c = json.load(open(src))
base = os.path.dirname(src)
c.pop("description", None)
c["features"] = os.path.join(base, c["features"])
if c.get("backbone"):
    c["backbone"] = os.path.join(base, c["backbone"])
if dev:
    c["devices"] = int(dev)
    c.pop("participants", None)
if rounds:
    c["rounds"] = int(rounds)
json.dump(c, open(os.path.join(out, "fed_train.json"), "w"), indent=1)
EOF
ROUNDS=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("rounds", 20))' "$OUT/fed_train.json")
DEVICES=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("devices", 20))' "$OUT/fed_train.json")

# 2. References and the backbone: the in-process run on the same slices.
"$BIN/mote" fed sim "$OUT/fed_train.json" --out "$OUT/sim" --quiet >"$OUT/sim.txt"
BB=$(ls "$OUT"/sim/backbone/*.tflite 2>/dev/null | head -1 || true)
/usr/bin/python3 - "$OUT" "$BB" <<'EOF'
import json, sys
out, bb = sys.argv[1:3]
c = json.load(open(out + "/fed_train.json"))
if bb:
    c["backbone"] = bb
json.dump(c, open(out + "/fed.json", "w"), indent=1)
EOF

# 3. Fleet credentials, broker (plus $SYS for the traffic figures), keys, bundle.
rm -rf "$OUT/pki" "$OUT/moted" "$OUT/mqtt" "$OUT/state"
"$ROOT/scripts/fleet-pki.sh" "$OUT/pki" "$DEVICES" --no-certs 2>/dev/null
printf '\nuser moted\ntopic read $SYS/#\n' >>"$OUT/pki/acl"
PORT=$(free_port)
MOTE_BROKER_SYS_INTERVAL=1 "$ROOT/scripts/broker.sh" start "$OUT/pki" "$PORT" 2>/dev/null
MPASS=$(awk '$1 == "moted" {print $2}' "$OUT/pki/passwords.txt")
rm -f "$OUT/fleet.sk" "$OUT/fleet.pk"
"$BIN/mote-agent" keygen --out "$OUT/fleet" >/dev/null
if [ -n "$BB" ]; then
    PKG=${BB%.tflite}
else
    echo "run-mqtt.sh: the config needs a backbone (the devices run it as their model)" >&2
    exit 2
fi
"$BIN/mote-agent" bundle --key "$OUT/fleet.sk" --name "$(basename "$PKG")" --version 1 --target cwru-gw \
    --out "$OUT/v1.bundle" "$PKG.tflite" "$PKG.dspcfg" "$PKG.json" >/dev/null

# 4. moted coordinating the rounds, then the devices.
mkdir -p "$OUT/moted"
MOTED_ARGS=(--state "$OUT/moted" --fleet-key "$OUT/fleet.sk" --http 127.0.0.1:0 --broker "127.0.0.1:$PORT"
    --user moted --pass "$MPASS" --tick-ms 100 --fed "$OUT/fed.json"
    --fed-out "$OUT/mqtt" --fed-deadline-ms "$DEADLINE_MS" --fed-devices "$DEVICES")
ENG=engineer-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
if [ "$SECURE" = 1 ]; then
    # the rounds are asked for over HTTP, as the console does
    printf '%s engineer run-mqtt\n' "$ENG" >"$OUT/tokens"
    MOTED_ARGS+=(--token-file "$OUT/tokens")
else
    MOTED_ARGS+=(--fed-rounds "$ROUNDS")
fi
[ -n "${MOTED_DB:-}" ] && MOTED_ARGS+=(--db "$MOTED_DB")
"$BIN/moted" "${MOTED_ARGS[@]}" 2>>"$OUT/moted.log" &
MOTED=$!
PIDS+=("$MOTED")
"$BIN/mote-sim" --broker "127.0.0.1:$PORT" --fleet-pk "$OUT/fleet.pk" --state "$OUT/state" \
    --install "$OUT/v1.bundle" --devices "$DEVICES" --prefix dev- --first 1 --data "$SHARED/data/cwru" \
    --pass-file "$OUT/pki/passwords.txt" --windows 20 --heartbeat 3600 --speed 0 \
    --fed "$OUT/fed.json" --fed-silent "$SILENT" --fed-attack "$ATTACK" >"$OUT/devices.txt" 2>"$OUT/devices.log" &
SIM=$!
PIDS+=("$SIM")
START=$SECONDS
if [ "$SECURE" = 1 ]; then
    wait_for 20 test -s "$OUT/moted/moted.http" || { echo "run-mqtt.sh: moted's HTTP never came up" >&2; exit 1; }
    wait_for 10 curl -sf -o /dev/null -X POST "http://$(cat "$OUT/moted/moted.http")/api/fed/rounds" \
        -H "Authorization: Bearer $ENG" -d "{\"rounds\": $ROUNDS, \"secure\": true}" ||
        { echo "run-mqtt.sh: POST /api/fed/rounds refused" >&2; exit 1; }
fi

# 5. A killed moted resumes the open round.
if [ "$KILL_ROUND" -gt 0 ] && [ "$KILL_ROUND" -le "$ROUNDS" ]; then
    wait_for "$TIMEOUT_S" grep -q "fl: round $KILL_ROUND open" "$OUT/moted.log" ||
        { echo "run-mqtt.sh: round $KILL_ROUND never opened (see $OUT/moted.log)" >&2; exit 1; }
    # Kill once some uploads of the round are in the store, not all.
    [ -z "${MOTED_DB:-}" ] && wait_for 20 /usr/bin/python3 -c 'import sqlite3, sys
n = sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM fl_updates WHERE round = ?", (int(sys.argv[2]),)).fetchone()[0]
sys.exit(0 if n >= 1 else 1)' "$OUT/moted/moted.db" "$KILL_ROUND" || true
    kill -9 "$MOTED"
    wait "$MOTED" 2>/dev/null || true
    echo "--- moted killed in round $KILL_ROUND, restarting" >>"$OUT/moted.log"
    "$BIN/moted" "${MOTED_ARGS[@]}" 2>>"$OUT/moted.log" &
    MOTED=$!
    PIDS+=("$MOTED")
fi
wait_for "$TIMEOUT_S" grep -q "fl: all $ROUNDS rounds done" "$OUT/moted.log" ||
    { echo "run-mqtt.sh: rounds did not finish (see $OUT/moted.log)" >&2; exit 1; }
WALL=$((SECONDS - START))

kill -TERM "$SIM" "$MOTED"
wait "$SIM" 2>/dev/null || true
wait "$MOTED" 2>/dev/null || true

# 6. Broker traffic: $SYS totals since the broker started (all clients).
# The retained $SYS values can be older than the end of the run (the
# broker publishes them on its own schedule), so wait for a $SYS update
# that happened after the clients stopped: the uptime must change.
sys_get() {
    mosquitto_sub -h 127.0.0.1 -p "$PORT" -u moted -P "$MPASS" -t "\$SYS/broker/$1" -C 1 -W 5 2>/dev/null || echo 0
}
UP0=$(sys_get uptime)
for _ in $(seq 1 20); do
    sleep 0.5
    [ "$(sys_get uptime)" != "$UP0" ] && break
done
BYTES_RX=$(sys_get bytes/received)
BYTES_TX=$(sys_get bytes/sent)
"$ROOT/scripts/broker.sh" stop "$OUT/pki" >/dev/null 2>&1 || true

# 7. Ledger, figures, plot.
"$BIN/mote" ledger verify "$OUT/moted/ledger.jsonl" --pk "$OUT/fleet.pk" >"$OUT/ledger.head"
/usr/bin/python3 "$HERE/mqtt_report.py" "$OUT" "$DEVICES" "$BYTES_RX" "$BYTES_TX" "$WALL" | tee "$OUT/summary.txt"
REF=$(/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(100 * d["central_accuracy"], 100 * d["local_mean"])' "$OUT/sim/summary.json")
for ext in svg png; do
    "$BIN/mote" fed plot --out "$OUT/accuracy.$ext" --central "${REF% *}" --local "${REF#* }" \
        "over MQTT=$OUT/mqtt/rounds.csv" "in process (plain)=$OUT/sim/rounds.csv@plain"
done
echo "wrote $OUT/accuracy.svg, $OUT/accuracy.png, $OUT/summary.txt"
