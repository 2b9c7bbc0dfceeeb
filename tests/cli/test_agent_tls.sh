#!/bin/bash
# mote-agent over TLS with a client certificate against a REAL mosquitto
# configured from scripts/fleet-pki.sh (fleet CA, server certificate for
# 127.0.0.1, require_certificate + use_identity_as_username, the fleet ACL):
#   - the agent connects with its certificate (CN = device id), publishes its
#     retained Thing Description and state, heartbeats;
#   - a signed `config` command from the manager (moted's certificate) is
#     applied and reported in state; a replay of it is refused;
#   - without a client certificate the same agent is refused (logged).
. "$(dirname "$0")/lib.sh"
set +m
ok() {
    PASS=$((PASS + 1))
    echo "ok - $1 [${SECONDS}s]"
}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
AGENT=$(dirname "$MOTE")/mote-agent
DATA=$SHARED/data/cwru
for t in mosquitto mosquitto_sub mosquitto_pub openssl python3; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; echo "0 passed, 0 failed"; exit 0; }
done
[ -x "$AGENT" ] || { echo "mote-agent not built"; exit 1; }
[ -x "$ROOT/scripts/fleet-pki.sh" ] || { echo "SKIP: no scripts/fleet-pki.sh"; echo "0 passed, 0 failed"; exit 0; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    [ -n "${KEEP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/poll.sh"

run "$ROOT/scripts/fleet-pki.sh" "$TMP/pki" 2
check "fleet-pki.sh made the CA and device certificates" test -s "$TMP/pki/clients/dev-0001.crt"
PKI=$TMP/pki
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$TMP/mq.conf" <<EOF
listener $PORT 127.0.0.1
cafile $PKI/ca.crt
certfile $PKI/server.crt
keyfile $PKI/server.key
require_certificate true
use_identity_as_username true
acl_file $PKI/acl
allow_anonymous false
EOF
[ "$(id -u)" -eq 0 ] && echo "user root" >>"$TMP/mq.conf"
mosquitto -c "$TMP/mq.conf" >"$TMP/mq.log" 2>&1 &
PIDS+=("$!")
wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),1)" ||
    { echo "cannot start mosquitto"; cat "$TMP/mq.log"; exit 1; }
MGR=(-h 127.0.0.1 -p "$PORT" --cafile "$PKI/ca.crt" --cert "$PKI/clients/moted.crt" --key "$PKI/clients/moted.key")

"$AGENT" keygen --out "$TMP/fleet" >/dev/null
mkdir -p "$TMP/dev"
"$AGENT" --id dev-0001 --broker "127.0.0.1:$PORT" --cafile "$PKI/ca.crt" --cert "$PKI/clients/dev-0001.crt" \
    --key "$PKI/clients/dev-0001.key" --fleet-pk "$TMP/fleet.pk" --state "$TMP/dev" \
    --replay "$DATA/normal_0hp_097.f32" --loop --heartbeat 1 2>"$TMP/agent.log" &
PIDS+=("$!")
check "agent connects over TLS with its certificate" wait_for 15 grep -q "connected to" "$TMP/agent.log"
td() { mosquitto_sub "${MGR[@]}" -C 1 -W 3 -t mote/v1/d/dev-0001/td >"$TMP/td.json" 2>"$TMP/sub.err"; }
check "retained Thing Description readable by the manager" wait_for 10 td
check "TD names the device" grep -q '"id":"urn:mote:dev:dev-0001"' "$TMP/td.json"
run mosquitto_sub "${MGR[@]}" -C 1 -W 5 -t mote/v1/d/dev-0001/hb
check "heartbeats pass the ACL" grep -q '"slot_state":"empty"' "$TMP/out"

"$AGENT" cmd --key "$TMP/fleet.sk" --dev dev-0001 --seq 1 config --heartbeat 42 >"$TMP/cmd.bin"
mosquitto_pub "${MGR[@]}" -q 1 -t mote/v1/d/dev-0001/cmd -f "$TMP/cmd.bin"
state_has() {
    mosquitto_sub "${MGR[@]}" -C 1 -W 2 -t mote/v1/d/dev-0001/state >"$TMP/state.json" 2>/dev/null || return 1
    for p in "$@"; do grep -qF "$p" "$TMP/state.json" || return 1; done
}
check "signed config command applied" wait_for 10 state_has '"heartbeat_s":42' '"cmd_seq":1' '"cmd_status":"ok"'
mosquitto_pub "${MGR[@]}" -q 1 -t mote/v1/d/dev-0001/cmd -f "$TMP/cmd.bin"
check "its replay refused" wait_for 10 state_has '"cmd_status":"refused"' 'replayed'

mkdir -p "$TMP/dev2"
"$AGENT" --id dev-0002 --broker "127.0.0.1:$PORT" --cafile "$PKI/ca.crt" --fleet-pk "$TMP/fleet.pk" \
    --state "$TMP/dev2" --replay "$DATA/normal_0hp_097.f32" 2>"$TMP/agent2.log" &
PIDS+=("$!")
check "without a client certificate the connection fails (logged)" \
    wait_for 15 grep -qiE "disconnected|refused|cannot connect" "$TMP/agent2.log"
check "... and never completes" bash -c "! grep -q 'connected to' '$TMP/agent2.log'"
finish
