#!/bin/bash
# Model updates over MQTT against a REAL mosquitto on 127.0.0.1: this test
# plays the manager with `mote-agent cmd` (signed commands, published with
# mosquitto_pub) and `mote-agent serve` (answers ota/req with chunks):
#   - deploy v2: download with a dropped chunk request asked again, commit,
#     switch, health check, confirmed; reported in the retained state;
#   - refused: a replayed command, a command for another device, a command
#     signed with another key, a downgrade, a bundle with a broken
#     signature, a bundle for another device class; failed: a truncated
#     download (never committed); rolled back: a model that fails its
#     health check. The device stays on its model through all of them;
#   - the agent killed (SIGKILL) in the middle of a download resumes from
#     the bytes on disk after a restart;
#   - power loss: the agent is killed at many points of an update and must
#     always boot a valid model (the old or the new one), then finish.
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
DATA=$SHARED/data/cwru
for t in mosquitto mosquitto_sub mosquitto_pub python3; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; echo "0 passed, 0 failed"; exit 0; }
done
[ -x "$AGENT" ] || { echo "mote-agent not built in $BIN"; exit 1; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    [ -n "${KEEP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

. "$(dirname "$0")/poll.sh"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$TMP/mq"
cat >"$TMP/mq/mq.conf" <<EOF
listener $PORT 127.0.0.1
allow_anonymous true
max_queued_messages 100000
EOF
[ "$(id -u)" -eq 0 ] && echo "user root" >>"$TMP/mq/mq.conf"
mosquitto -c "$TMP/mq/mq.conf" >"$TMP/mq/log" 2>&1 &
PIDS+=("$!")
wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),1)" ||
    { echo "cannot start mosquitto"; exit 1; }
MQ=(-h 127.0.0.1 -p "$PORT")

# ---- packages and bundles --------------------------------------------
sed "s|\"base_dir\": *\"[^\"]*\"|\"base_dir\": \"$DATA\"|" "$ROOT/examples/cwru/dataset.json" >"$TMP/dataset.json"
# fewer epochs than the example: a quick model is enough here
sed 's/"epochs": *[0-9]*/"epochs": 20/' "$ROOT/examples/cwru/config.json" >"$TMP/config.json"
run "$MOTE" train "$TMP/config.json" --out "$TMP/pkg"
check "mote train makes the cwru4 package" test -s "$TMP/pkg/cwru4.tflite"
"$AGENT" keygen --out "$TMP/fleet" >/dev/null
"$AGENT" keygen --out "$TMP/other" >/dev/null
P=("$TMP/pkg/cwru4.tflite" "$TMP/pkg/cwru4.dspcfg" "$TMP/pkg/cwru4.json")
mkb() { # mkb KEY VERSION TARGET OUT [FILES...]
    local key=$1 v=$2 target=$3 out=$4
    shift 4
    [ $# -gt 0 ] || set -- "${P[@]}"
    "$AGENT" bundle --key "$key" --name cwru4 --version "$v" --target "$target" --out "$out" "$@" >/dev/null
}
for v in 1 2 3; do mkb "$TMP/fleet.sk" $v cwru-gw "$TMP/v$v.bundle"; done
mkb "$TMP/other.sk" 3 cwru-gw "$TMP/v3-otherkey.bundle"
mkb "$TMP/fleet.sk" 3 other-gw "$TMP/v3-target.bundle"
cp "$TMP/v3.bundle" "$TMP/v3-badsig.bundle"
printf '\xff' | dd of="$TMP/v3-badsig.bundle" bs=1 seek=500 conv=notrunc 2>/dev/null
head -c 4000 "$TMP/v3.bundle" >"$TMP/v3-trunc.bundle"
head -c 3000 /dev/urandom >"$TMP/junk.tflite"
mkb "$TMP/fleet.sk" 3 cwru-gw "$TMP/v3-junk.bundle" "$TMP/junk.tflite" "$TMP/pkg/cwru4.dspcfg" "$TMP/pkg/cwru4.json"
check "bundles made" test -s "$TMP/v3-junk.bundle" -a -s "$TMP/v3-otherkey.bundle"

SERVE_PID=
serve() { # serve [OPTIONS]: (re)start the chunk server
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null
    "$AGENT" serve --broker "127.0.0.1:$PORT" "$@" --bundle "$TMP/v2.bundle" --bundle "$TMP/v3.bundle" \
        --bundle "$TMP/v3-badsig.bundle" --bundle "$TMP/v3-trunc.bundle" --bundle "$TMP/v3-target.bundle" \
        --bundle "$TMP/v3-otherkey.bundle" --bundle "$TMP/v3-junk.bundle" 2>>"$TMP/serve.log" &
    SERVE_PID=$!
    PIDS+=("$SERVE_PID")
    sleep 0.3
}
SEQ=0
send() { # send KEY DEV SEQ OP ARGS...: a signed command to dev-1's cmd topic
    local key=$1 dev=$2 seq=$3
    shift 3
    "$AGENT" cmd --key "$key" --dev "$dev" --seq "$seq" "$@" >"$TMP/cmd.bin" &&
        mosquitto_pub "${MQ[@]}" -q 1 -t mote/v1/d/dev-1/cmd -f "$TMP/cmd.bin"
}
deploy() { # deploy BUNDLE [ARGS]: next seq, fleet key
    SEQ=$((SEQ + 1))
    send "$TMP/fleet.sk" dev-1 "$SEQ" deploy --bundle "$@"
}
state_has() { # state_has PATTERN...: the retained state matches every pattern
    mosquitto_sub "${MQ[@]}" -C 1 -W 2 -t mote/v1/d/dev-1/state >"$TMP/state.json" 2>/dev/null || return 1
    for p in "$@"; do grep -qF "$p" "$TMP/state.json" || return 1; done
}
on_version() { state_has "\"model\":{\"name\":\"cwru4\",\"version\":$1}" '"slot_state":"confirmed"'; }

AGENT_PID=
start_agent() {
    "$AGENT" --id dev-1 --broker "127.0.0.1:$PORT" --fleet-pk "$TMP/fleet.pk" --state "$TMP/dev1" \
        --replay "$DATA/normal_0hp_097.f32" --loop --retry-ms 400 --install "$TMP/v1.bundle" "$@" \
        2>>"$TMP/agent.log" &
    AGENT_PID=$!
    PIDS+=("$AGENT_PID")
}
mkdir -p "$TMP/dev1"
serve --drop 1
start_agent
check "agent up on version 1" wait_for 15 on_version 1

# ---- a good deploy, with one request dropped ---------------------------
deploy "$TMP/v2.bundle" --chunk 1000
check "deploy v2: confirmed after download, switch and health check" wait_for 20 on_version 2
check "state reports the previous model" state_has '"previous":{"name":"cwru4","version":1}' '"cmd_status":"ok"'
check "a dropped chunk request was asked again" grep -q "asking again" "$TMP/agent.log"
check "every step logged" grep -q "ota: installed" "$TMP/agent.log"
serve

# ---- refusals ----------------------------------------------------------
cp "$TMP/cmd.bin" "$TMP/replay.bin"
mosquitto_pub "${MQ[@]}" -q 1 -t mote/v1/d/dev-1/cmd -f "$TMP/replay.bin"
check "replayed command refused" wait_for 10 state_has '"cmd_status":"refused"' 'replayed command'
send "$TMP/fleet.sk" dev-2 $((SEQ + 1)) deploy --bundle "$TMP/v3.bundle"
check "command for another device refused" wait_for 10 state_has "command for device 'dev-2'"
send "$TMP/other.sk" dev-1 $((SEQ + 1)) deploy --bundle "$TMP/v3.bundle"
check "command signed with another key refused" wait_for 10 state_has '"cmd_status":"refused"' 'signature'
printf 'not a signed command at all' | mosquitto_pub "${MQ[@]}" -q 1 -t mote/v1/d/dev-1/cmd -s
check "unsigned garbage refused" wait_for 10 state_has '"cmd_status":"refused"' 'cmd:'
deploy "$TMP/v1.bundle"
check "downgrade refused" wait_for 10 state_has '"cmd_status":"refused"' 'downgrade'
deploy "$TMP/v3-badsig.bundle"
check "bundle with a broken signature refused" wait_for 10 state_has '"status":"refused"' 'signature'
deploy "$TMP/v3-otherkey.bundle"
check "bundle signed by an unknown key refused" wait_for 10 state_has '"status":"refused"' 'key'
deploy "$TMP/v3-target.bundle"
check "bundle for another device class refused" wait_for 10 state_has '"status":"refused"' 'target'
deploy "$TMP/v3-trunc.bundle"
check "truncated download failed, not committed" wait_for 10 state_has '"status":"failed"' 'truncated'
check "still confirmed on version 2 after all refusals" on_version 2
deploy "$TMP/v3-junk.bundle"
check "a model failing its health check is rolled back" wait_for 15 state_has '"status":"rolled_back"'
check "back on version 2" state_has '"model":{"name":"cwru4","version":2}' '"slot_state":"rolled_back"'
check "refusals are logged with the reason" grep -q "command refused: replayed command" "$TMP/agent.log"

# ---- killed mid-download: resume ---------------------------------------
serve --limit 3000
: >"$TMP/serve.log"
deploy "$TMP/v3.bundle" --chunk 500
check "download under way" wait_for 10 grep -q "bytes at 2500" "$TMP/serve.log"
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
serve
: >"$TMP/serve.log"
start_agent
check "restarted agent resumes the download" wait_for 10 grep -q "resuming the download of version 3" "$TMP/agent.log"
check "v3 confirmed after the resume" wait_for 20 on_version 3
first=$(sed -n 's/.* bytes at \([0-9]*\)$/\1/p' "$TMP/serve.log" | head -n 1)
check "resume started at the bytes on disk (first request at $first, not 0)" test "${first:-0}" -ge 2000

# ---- power loss at many points of an update -----------------------------
bad=0
where=
for v in 4 5 6 7 8 9; do
    mkb "$TMP/fleet.sk" "$v" cwru-gw "$TMP/p$v.bundle"
    serve --bundle "$TMP/p$v.bundle"
    deploy "$TMP/p$v.bundle" --chunk 700
    # from "before the command arrives" to "after the switch"
    delays=(0 0.05 0.3 0.6 0.9 1.3)
    sleep "${delays[v - 4]}"
    kill -9 "$AGENT_PID"
    wait "$AGENT_PID" 2>/dev/null
    : >"$TMP/boot.log"
    "$AGENT" --id dev-1 --broker "127.0.0.1:$PORT" --fleet-pk "$TMP/fleet.pk" --state "$TMP/dev1" \
        --replay "$DATA/normal_0hp_097.f32" --loop --retry-ms 400 2>"$TMP/boot.log" &
    AGENT_PID=$!
    PIDS+=("$AGENT_PID")
    if wait_for 10 grep -qE "model cwru4 v($((v - 1))|$v) loaded" "$TMP/boot.log"; then
        if grep -q "resuming the download" "$TMP/boot.log"; then where+=" download"
        elif grep -q "boot: pending" "$TMP/boot.log"; then where+=" pending"
        elif grep -q "model cwru4 v$v loaded" "$TMP/boot.log"; then where+=" after"
        else where+=" before"; fi
    else
        bad=$((bad + 1))
        sed 's/^/#   /' "$TMP/boot.log" | head -n 5
    fi
    # the manager reconciles: deploy again until the device reports it
    wait_for 2 on_version "$v" || deploy "$TMP/p$v.bundle" --chunk 700
    wait_for 15 on_version "$v" || { bad=$((bad + 1)); echo "# v$v not confirmed"; }
    cat "$TMP/boot.log" >>"$TMP/agent.log"
done
echo "# kills landed: $where (before the command / mid-download / committed, pending / after confirm)"
check "power loss at 6 points of updates: always booted a valid model and finished" test "$bad" -eq 0
kill "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
check "agent exits 0 on SIGTERM" test $? -eq 0
finish
