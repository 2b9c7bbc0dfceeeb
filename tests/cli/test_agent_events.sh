#!/bin/bash
# mote-agent and mote-sim against a REAL mosquitto on 127.0.0.1 (password
# file, persistence, a free port), with the cwru4 model trained here by
# `mote train` and installed from a bundle signed with a fresh fleet key:
#   - usage and bad input (exit 2 / 1, messages naming what is wrong);
#   - no event lost: an agent replays a recording alternating normal and
#     fault segments (many class / anomaly events); the broker is stopped
#     and restarted, then the agent is killed with SIGKILL and restarted;
#     a persistent subscriber must see every seq from 1 to the last one the
#     queue acknowledged, none missing;
#   - events carry the protocol fields (kind, model, explain, summary),
#     heartbeats arrive, the Thing Description is retained;
#   - mote-sim: 12 devices in one process, faults injected from a schedule
#     are all reported, no false alarm, every event acknowledged.
. "$(dirname "$0")/lib.sh"
set +m
# elapsed seconds on every line: these tests wait on a real broker
ok() {
    PASS=$((PASS + 1))
    echo "ok - $1 [${SECONDS}s]"
}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(dirname "$MOTE")
AGENT=$BIN/mote-agent
SIM=$BIN/mote-sim
DATA=$SHARED/data/cwru
for t in mosquitto mosquitto_sub mosquitto_passwd python3; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; echo "0 passed, 0 failed"; exit 0; }
done
[ -x "$AGENT" ] && [ -x "$SIM" ] || { echo "mote-agent / mote-sim not built in $BIN"; exit 1; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    [ -n "${KEEP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

. "$(dirname "$0")/poll.sh"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$TMP/mq"
mosquitto_passwd -c -b "$TMP/mq/pw" moted mpw 2>/dev/null
mosquitto_passwd -b "$TMP/mq/pw" dev-1 d1pw 2>/dev/null
for k in $(seq 0 11); do mosquitto_passwd -b "$TMP/mq/pw" "$(printf 'sim-%04d' "$k")" simpw 2>/dev/null; done
cat >"$TMP/mq/mq.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous false
password_file $TMP/mq/pw
persistence true
persistence_location $TMP/mq/
max_queued_messages 100000
EOF
# as root, mosquitto would drop to its own user, which cannot read $TMP
[ "$(id -u)" -eq 0 ] && echo "user root" >>"$TMP/mq/mq.conf"
BROKER_PID=
start_broker() {
    mosquitto -c "$TMP/mq/mq.conf" >>"$TMP/mq/log" 2>&1 &
    BROKER_PID=$!
    PIDS+=("$BROKER_PID")
    wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),1)"
}
start_broker || { echo "cannot start mosquitto"; cat "$TMP/mq/log"; exit 1; }

# ---- model package, fleet key, bundle --------------------------------
sed "s|\"base_dir\": *\"[^\"]*\"|\"base_dir\": \"$DATA\"|" "$ROOT/examples/cwru/dataset.json" >"$TMP/dataset.json"
# fewer epochs than the example: a quick model is enough here
sed 's/"epochs": *[0-9]*/"epochs": 20/' "$ROOT/examples/cwru/config.json" >"$TMP/config.json"
run "$MOTE" train "$TMP/config.json" --out "$TMP/pkg"
check "mote train makes the cwru4 package" test -s "$TMP/pkg/cwru4.tflite"
run "$AGENT" keygen --out "$TMP/fleet"
check "keygen writes a key pair" test -s "$TMP/fleet.sk" -a -s "$TMP/fleet.pk"
run "$AGENT" bundle --key "$TMP/fleet.sk" --name cwru4 --version 1 --target cwru-gw --out "$TMP/v1.bundle" \
    "$TMP/pkg/cwru4.tflite" "$TMP/pkg/cwru4.dspcfg" "$TMP/pkg/cwru4.json"
check "bundle signs the package" test -s "$TMP/v1.bundle"

# ---- usage and bad input ----------------------------------------------
expect_rc "mote-agent --help" 0 "$AGENT" --help
expect_rc "mote-agent without options: usage" 2 "$AGENT"
check "usage names the required options" grep -q -- "--fleet-pk" "$TMP/err"
expect_rc "mote-agent bad broker" 2 "$AGENT" --id dev-1 --broker nohost --fleet-pk "$TMP/fleet.pk" \
    --state "$TMP" --replay x
expect_rc "mote-agent bad key file" 1 "$AGENT" --id dev-1 --broker 127.0.0.1:1 --fleet-pk "$TMP/v1.bundle" \
    --state "$TMP" --replay x
mkdir -p "$TMP/bad"
expect_rc "mote-agent bad device id" 1 "$AGENT" --id BAD/ID --broker 127.0.0.1:1 --fleet-pk "$TMP/fleet.pk" \
    --state "$TMP/bad" --replay x
check "bad id message" grep -q "device id 'BAD/ID'" "$TMP/err"
head -c 1001 "$DATA/normal_0hp_097.f32" >"$TMP/odd.f32"
expect_rc "replay of a partial float32 file" 1 "$AGENT" --id dev-9 --broker 127.0.0.1:1 \
    --fleet-pk "$TMP/fleet.pk" --state "$TMP/bad" --replay "$TMP/odd.f32" --install "$TMP/v1.bundle"
check "partial file message" grep -q "not a float32 recording" "$TMP/err"
head -c 3000 "$TMP/v1.bundle" >"$TMP/trunc.bundle"
mkdir -p "$TMP/bad2"
expect_rc "install of a truncated bundle" 1 "$AGENT" --id dev-8 --broker 127.0.0.1:1 \
    --fleet-pk "$TMP/fleet.pk" --state "$TMP/bad2" --replay "$DATA/normal_0hp_097.f32" --install "$TMP/trunc.bundle"
check "truncated bundle message" grep -qi "truncated" "$TMP/err"
expect_rc "mote-sim --help" 0 "$SIM" --help
expect_rc "mote-sim without options" 2 "$SIM"
printf '0 10 explode now\n' >"$TMP/badfaults"
expect_rc "mote-sim bad fault schedule" 1 "$SIM" --broker 127.0.0.1:$PORT --fleet-pk "$TMP/fleet.pk" \
    --state "$TMP/bad" --install "$TMP/v1.bundle" --faults "$TMP/badfaults" --data "$DATA"
check "fault schedule error names file and line" grep -q "badfaults:1:" "$TMP/err"

# ---- no event lost: broker restart, agent SIGKILL ----------------------
# 8 s of normal running (baseline), then 1.5 s segments: fault, normal, ...
python3 - "$DATA" "$TMP/alt.f32" <<'EOF'
import sys
d, out = sys.argv[1], sys.argv[2]
normal = open(d + "/normal_0hp_097.f32", "rb").read()
faults = ["IR014_0hp_169.f32", "OR007_0hp_130.f32", "B021_0hp_222.f32", "IR007_0hp_105.f32"]
fb = [open(d + "/" + f, "rb").read() for f in faults]
seg = 18000 * 4
o = bytearray(normal[:96000 * 4])
for i in range(20):
    o += fb[i % 4][(i // 4) * seg:(i // 4 + 1) * seg]
    start = 96000 * 4 + (i % 6) * seg
    o += normal[start:start + seg]
open(out, "wb").write(o)
EOF
SUB=$TMP/sub.log
mosquitto_sub -h 127.0.0.1 -p "$PORT" -u moted -P mpw -i evsub -c -q 1 -v \
    -t 'mote/v1/d/dev-1/evt' -t 'mote/v1/d/dev-1/hb' >"$SUB" 2>"$TMP/sub.err" &
PIDS+=("$!")
wait_for 5 grep -q "" /dev/null
sleep 0.3 # let the subscription register before events flow
mkdir -p "$TMP/dev1"
AG=(--id dev-1 --broker "127.0.0.1:$PORT" --user dev-1 --pass d1pw --fleet-pk "$TMP/fleet.pk"
    --state "$TMP/dev1" --replay "$TMP/alt.f32" --speed 12 --heartbeat 1 --nosync)
"$AGENT" "${AG[@]}" --install "$TMP/v1.bundle" 2>"$TMP/agent1.log" &
APID=$!
PIDS+=("$APID")
nevt() { grep -c '/evt ' "$SUB"; }
nevt_gt() { [ "$(nevt)" -gt "$1" ]; }
connects_ge() { [ "$(grep -c 'connected to' "$TMP/agent1.log")" -ge "$1" ]; }
check "agent connects" wait_for 20 grep -q "connected to" "$TMP/agent1.log"
check "events arrive" wait_for 30 nevt_gt 3
kill -TERM "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
before=$(nevt)
check "agent notices the broker is gone" wait_for 10 grep -q "disconnected" "$TMP/agent1.log"
sleep 1.5 # events keep being queued on disk while the broker is down
start_broker
check "agent reconnects after the broker restart" wait_for 30 connects_ge 2
check "events queued during the outage arrive" wait_for 30 nevt_gt "$before"
kill -9 "$APID"
wait "$APID" 2>/dev/null
"$AGENT" "${AG[@]}" --exit-when-drained 2>"$TMP/agent2.log" &
APID=$!
PIDS+=("$APID")
if wait_for 50 bash -c "! kill -0 $APID"; then
    wait "$APID"
    RC=$?
    check "restarted agent drains its queue and exits 0" test "$RC" -eq 0
else
    not_ok "restarted agent did not drain within 50 s" "$TMP/agent2.log"
fi
acked=$(od -An -tu8 -N8 "$TMP/dev1/queue/cursor" | tr -d ' ')
sleep 0.5
python3 - "$SUB" "$acked" >"$TMP/seqs.txt" <<'EOF'
import json, sys
seqs = set()
for line in open(sys.argv[1]):
    topic, _, payload = line.partition(" ")
    if topic.endswith("/evt"):
        seqs.add(json.loads(payload)["seq"])
last = int(sys.argv[2])
missing = [s for s in range(1, last + 1) if s not in seqs]
print(f"acked {last} seen {len(seqs)} max {max(seqs) if seqs else 0} missing {missing[:20]}")
sys.exit(1 if missing or last < 10 else 0)
EOF
check "every acknowledged seq reached the subscriber, none missing ($(cat "$TMP/seqs.txt"))" \
    grep -q "missing \[\]" "$TMP/seqs.txt"
check "at least 10 events over the run" test "${acked:-0}" -ge 10
check "events of kind class and anomaly" grep -q '"kind":"class"' "$SUB"
check "anomaly events carry score, threshold, explanation and summary" \
    grep -qE '"kind":"anomaly".*"score".*"threshold".*"explain":\[\{"feature":"band [0-9]+-[0-9]+ Hz"' "$SUB"
check "class events name the previous class" grep -qE '"class":"[a-z_]+","prev_class":"[a-z_]+"' "$SUB"
check "heartbeats arrive with the histogram" grep -qE '/hb \{.*"hist":\[' "$SUB"
run mosquitto_sub -h 127.0.0.1 -p "$PORT" -u moted -P mpw -C 1 -W 5 -t 'mote/v1/d/dev-1/td'
check "Thing Description is retained" grep -q '"mote:deviceClass":"cwru-gw"' "$TMP/out"
run mosquitto_sub -h 127.0.0.1 -p "$PORT" -u moted -P mpw -C 1 -W 5 -t 'mote/v1/d/dev-1/state'
check "state is retained with the confirmed model" grep -q '"slot_state":"confirmed"' "$TMP/out"
run2=$(sed -n 's/.*windows, \([0-9]*\) events.*/\1/p' "$TMP/agent2.log")
check "the restarted agent continued the seqs (its $run2 events, $acked acknowledged in all)" \
    test "${run2:-0}" -gt 0 -a "${acked:-0}" -gt "${run2:-0}"

# ---- stdin as the sensor stream -------------------------------------------
mkdir -p "$TMP/dev3"
cat "$DATA/normal_0hp_097.f32" "$DATA/IR014_0hp_169.f32" |
    timeout 30 "$AGENT" --id dev-1 --broker "127.0.0.1:$PORT" --user dev-1 --pass d1pw \
        --fleet-pk "$TMP/fleet.pk" --state "$TMP/dev3" --replay - --install "$TMP/v1.bundle" \
        --exit-when-drained 2>"$TMP/agent4.log"
RC=$?
check "stdin replay: normal then inner-race fault, drained, exit 0" test "$RC" -eq 0
check "stdin replay: the fault is reported (anomaly and class change)" \
    grep -qE "713 windows, [0-9]+ events \([1-9][0-9]* anomaly, [1-9][0-9]* class" "$TMP/agent4.log"

# ---- wrong password: refused, logged -----------------------------------
mkdir -p "$TMP/dev2"
timeout 20 "$AGENT" --id dev-1 --broker "127.0.0.1:$PORT" --pass wrong --fleet-pk "$TMP/fleet.pk" \
    --state "$TMP/dev2" --replay "$DATA/normal_0hp_097.f32" --install "$TMP/v1.bundle" 2>"$TMP/agent3.log" &
APID=$!
PIDS+=("$APID")
check "a wrong password is refused and logged" wait_for 15 grep -qi "refused the connection" "$TMP/agent3.log"
kill "$APID" 2>/dev/null

# ---- mote-sim: 12 devices, scheduled faults -----------------------------
cat >"$TMP/faults" <<'EOF'
# device window kind arg
1 200 fault IR014_0hp_169.f32
4 260 fault OR021_1hp_235.f32
7 220 fault B014_2hp_187.f32
9 280 fault IR021_2hp_211.f32
11 240 drift 4.0 20
EOF
run "$SIM" --broker "127.0.0.1:$PORT" --pass simpw --fleet-pk "$TMP/fleet.pk" --state "$TMP/sim" \
    --install "$TMP/v1.bundle" --devices 12 --windows 360 --speed 0 --faults "$TMP/faults" --data "$DATA"
cp "$TMP/out" "$TMP/sim.out"
check "mote-sim exits 0 (every event acknowledged)" test "$RC" -eq 0
check "mote-sim: all 5 injected faults reported, no false alarm" \
    grep -q "faults: injected 5, reported 5, .* false alarms 0" "$TMP/sim.out"
check "mote-sim: summary with traffic and cpu" grep -qE "^traffic: .*reduction 99\.[0-9]+%" "$TMP/sim.out"
check "mote-sim: devices without faults sent no events" \
    test "$(awk '$1 ~ /^sim-/ && $9 == -1 && $3 != 0' "$TMP/sim.out" | wc -l)" -eq 0
sed 's/^/# /' "$TMP/sim.out" | tail -n 4
finish
