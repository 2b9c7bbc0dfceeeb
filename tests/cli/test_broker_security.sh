#!/bin/bash
# Broker security with a real mosquitto (scripts/fleet-pki.sh and
# scripts/broker.sh): passwords, the fleet ACL checked from the receiving
# side (a forbidden publish is silently dropped while the sender sees
# success, so only a subscriber can tell), QoS 1 persistence across a
# broker restart, and TLS with client certificates. The mote binary is not
# used. Run as: bash test_broker_security.sh MOTE SHARED
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKI=$TMP/pki
BG=() # pids of our background subscribers

cleanup() {
    for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
    bash "$ROOT/scripts/broker.sh" stop "$PKI" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

for tool in mosquitto mosquitto_pub mosquitto_sub openssl; do
    command -v $tool >/dev/null || { echo "not ok - $tool missing (scripts/deps.sh)"; exit 1; }
done

# free_port: a TCP port on 127.0.0.1 nobody listens on.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo $p; return 0; fi
    done
    return 1
}

pw() { awk -v u="$1" '$1 == u { print $2 }' "$PKI/passwords.txt"; }

# wait_for FILE PATTERN [SECONDS]: poll until FILE has a line matching it.
wait_for() {
    local i
    for ((i = 0; i < ${3:-30} * 20; i++)); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# pub/sub USER ARGS...: clients on the plaintext listener (password);
# tpub/tsub USER ARGS...: on the TLS listener with USER's certificate.
# Background subscribers run mosquitto_sub directly (not through these
# functions) so that $! is its own pid and cleanup can stop it.
cred() { CRED=(-h 127.0.0.1 -p "$PORT" -u "$1" -P "$(pw "$1")"); }
tls_args() { TLS=(-h 127.0.0.1 -p "$PORT" --cafile "$PKI/ca.crt" --cert "$PKI/clients/$1.crt" --key "$PKI/clients/$1.key"); }
pub() { cred "$1"; shift; mosquitto_pub "${CRED[@]}" "$@"; }
sub() { cred "$1"; shift; mosquitto_sub "${CRED[@]}" "$@"; }
tpub() { tls_args "$1"; shift; mosquitto_pub "${TLS[@]}" "$@"; }

# sub_ready OUT PROBE_TOPIC PUBLISHER USER: publish a probe until the
# subscriber writing OUT has it, so later messages cannot beat its SUBSCRIBE.
sub_ready() {
    local out=$1 topic=$2
    shift 2
    local end=$((SECONDS + 10))
    while [ $SECONDS -lt $end ]; do
        "$@" -q 1 -t "$topic" -m "probe" 2>/dev/null
        wait_for "$out" " probe$" 1 && return 0
    done
    return 1
}

check "fleet-pki.sh makes 3 devices with certificates" \
    bash "$ROOT/scripts/fleet-pki.sh" "$PKI" 3
check "a second CA (foreign to the broker)" bash "$ROOT/scripts/fleet-pki.sh" "$TMP/foreign" 1
check "fleet-pki.sh refuses to overwrite a CA" bash -c "! bash '$ROOT/scripts/fleet-pki.sh' '$PKI' 3 2>/dev/null"
check "secret keys are private" bash -c "[ \$(stat -c %a '$PKI/ca.key') = 600 ] && [ \$(stat -c %a '$PKI/clients/dev-0001.key') = 600 ] && [ \$(stat -c %a '$PKI/passwords.txt') = 600 ]"

PORT=$(free_port)
check "broker starts (plaintext + passwords)" bash "$ROOT/scripts/broker.sh" start "$PKI" "$PORT"
check "broker.sh refuses a second start" bash -c "! bash '$ROOT/scripts/broker.sh' start '$PKI' '$PORT' 2>/dev/null"

# --- authentication ---
run mosquitto_pub -h 127.0.0.1 -p "$PORT" -u dev-0001 -P wrong -t mote/v1/d/dev-0001/evt -m x
if [ "$RC" -ne 0 ] && grep -q "not authorised" "$TMP/err"; then ok "wrong password refused"; else not_ok "wrong password: exit $RC"; fi
run mosquitto_pub -h 127.0.0.1 -p "$PORT" -t mote/v1/d/dev-0001/evt -m x
if [ "$RC" -ne 0 ]; then ok "anonymous client refused"; else not_ok "anonymous client accepted"; fi
run mosquitto_pub -h 127.0.0.1 -p "$PORT" -u dev-9999 -P "$(pw dev-0001)" -t mote/v1/d/dev-9999/evt -m x
if [ "$RC" -ne 0 ]; then ok "unknown user refused"; else not_ok "unknown user accepted"; fi

# --- ACL, writes: moted listens to everything under mote/v1 ---
cred moted
mosquitto_sub "${CRED[@]}" -q 1 -v -t 'mote/v1/#' >"$TMP/moted.out" 2>"$TMP/moted.err" &
BG+=($!)
if sub_ready "$TMP/moted.out" mote/v1/probe pub moted; then ok "moted subscriber ready"; else not_ok "moted subscriber not ready" "$TMP/moted.err"; fi
for t in d/dev-0002/evt d/dev-0002/state d/dev-0002/td d/dev-0002/hb d/dev-0001/cmd d/dev-0001/ota/data fl/global; do
    pub dev-0001 -q 1 -t "mote/v1/$t" -m "forbidden-$t" 2>>"$TMP/pub.err"
done
for t in td evt hb state ota/req fl/up; do
    pub dev-0001 -q 1 -t "mote/v1/d/dev-0001/$t" -m "own-$t" 2>>"$TMP/pub.err"
done
pub dev-0001 -q 1 -t mote/v1/d/dev-0001/evt -m sentinel-1
if wait_for "$TMP/moted.out" "sentinel-1$"; then ok "A's own evt arrives at moted"; else not_ok "A's own evt never arrived" "$TMP/moted.out"; fi
n_own=$(grep -cE "^mote/v1/d/dev-0001/(td|evt|hb|state|ota/req|fl/up) own-" "$TMP/moted.out")
if [ "$n_own" -eq 6 ]; then ok "A writes all 6 of its own topics"; else not_ok "A's own topics: $n_own of 6 arrived" "$TMP/moted.out"; fi
if grep -q forbidden "$TMP/moted.out"; then
    not_ok "a forbidden publish by A arrived" "$TMP/moted.out"
else
    ok "A cannot publish on B's topics, its own cmd/ota/data or fl/global (nothing arrives)"
fi

# --- ACL, reads: A subscribes to its cmd, B's cmd (plain, wildcard, shared) and fl/global ---
cred dev-0001
mosquitto_sub "${CRED[@]}" -q 1 -v -t mote/v1/d/dev-0001/cmd -t mote/v1/d/dev-0002/cmd \
    -t 'mote/v1/d/+/ota/data' -t '$share/g/mote/v1/d/dev-0002/cmd' -t mote/v1/fl/global \
    >"$TMP/a.out" 2>"$TMP/a.err" &
BG+=($!)
if sub_ready "$TMP/a.out" mote/v1/d/dev-0001/cmd pub moted; then ok "A's subscriber ready"; else not_ok "A's subscriber not ready" "$TMP/a.err"; fi
pub moted -q 1 -t mote/v1/d/dev-0002/cmd -m secret-cmd-b
pub moted -q 1 -t mote/v1/d/dev-0002/ota/data -m secret-ota-b
pub moted -q 1 -t mote/v1/fl/global -m global-1
pub moted -q 1 -t mote/v1/d/dev-0001/cmd -m sentinel-2
if wait_for "$TMP/a.out" "sentinel-2$"; then ok "A reads its own cmd"; else not_ok "A's own cmd never arrived" "$TMP/a.out"; fi
if grep -q "global-1$" "$TMP/a.out"; then ok "A reads mote/v1/fl/global"; else not_ok "fl/global did not reach A" "$TMP/a.out"; fi
if grep -q secret "$TMP/a.out"; then
    not_ok "A read B's cmd or chunks" "$TMP/a.out"
else
    ok "A cannot read B's cmd or ota/data (not through a wildcard or a shared subscription either)"
fi

# --- persistence: a QoS 1 message for an offline session survives a restart ---
run sub moted -i moted-persist -c -q 1 -t 'mote/v1/d/+/evt' -E
if [ "$RC" -eq 0 ]; then ok "persistent session created"; else not_ok "persistent session: exit $RC"; fi
pub dev-0002 -q 1 -t mote/v1/d/dev-0002/evt -m persisted-1
check "broker stops" bash "$ROOT/scripts/broker.sh" stop "$PKI"
check "broker.sh status says stopped" bash -c "! bash '$ROOT/scripts/broker.sh' status '$PKI'"
check "broker restarts" bash "$ROOT/scripts/broker.sh" start "$PKI" "$PORT"
run sub moted -i moted-persist -c -q 1 -t 'mote/v1/d/+/evt' -v -C 1 -W 30
if [ "$RC" -eq 0 ] && grep -q "^mote/v1/d/dev-0002/evt persisted-1$" "$TMP/out"; then
    ok "queued QoS 1 message delivered after a broker restart"
else
    not_ok "queued message lost over the restart (exit $RC)" "$TMP/out"
fi
# a burst of 5,000 QoS 1 messages for an offline session: none dropped
# (mosquitto's default max_queued_messages, 1000, would drop 4,000)
sub moted -i moted-burst -c -q 1 -t mote/v1/d/dev-0003/evt -E 2>/dev/null
seq 1 5000 | pub dev-0003 -q 1 -t mote/v1/d/dev-0003/evt -l
run sub moted -i moted-burst -c -q 1 -t mote/v1/d/dev-0003/evt -C 5000 -W 90
n_burst=$(sort -un "$TMP/out" | wc -l)
if [ "$n_burst" -eq 5000 ]; then ok "5000 queued QoS 1 messages all delivered"; else not_ok "burst: $n_burst of 5000 delivered"; fi
for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
BG=()
check "broker stops" bash "$ROOT/scripts/broker.sh" stop "$PKI"

# --- TLS with client certificates ---
PORT=$(free_port)
check "broker starts with --tls" bash "$ROOT/scripts/broker.sh" start "$PKI" "$PORT" --tls
run mosquitto_pub -h 127.0.0.1 -p "$PORT" -u moted -P "$(pw moted)" -t mote/v1/x -m x
if [ "$RC" -ne 0 ]; then ok "plaintext client on the TLS port refused (exit $RC)"; else not_ok "plaintext client accepted on TLS"; fi
run mosquitto_pub -h 127.0.0.1 -p "$PORT" --cafile "$PKI/ca.crt" -u moted -P "$(pw moted)" -t mote/v1/x -m x
if [ "$RC" -ne 0 ]; then ok "client without a certificate refused"; else not_ok "client without a certificate accepted"; fi
run mosquitto_pub -h 127.0.0.1 -p "$PORT" --cafile "$PKI/ca.crt" --cert "$TMP/foreign/clients/dev-0001.crt" \
    --key "$TMP/foreign/clients/dev-0001.key" -t mote/v1/d/dev-0001/evt -m x
if [ "$RC" -ne 0 ]; then ok "certificate from a foreign CA refused"; else not_ok "foreign certificate accepted"; fi
run mosquitto_pub -h 127.0.0.1 -p "$PORT" --cafile "$TMP/foreign/ca.crt" --cert "$PKI/clients/dev-0001.crt" \
    --key "$PKI/clients/dev-0001.key" -t mote/v1/d/dev-0001/evt -m x
if [ "$RC" -ne 0 ]; then ok "client refuses a broker its CA did not sign"; else not_ok "client trusted a foreign broker"; fi

tls_args moted
mosquitto_sub "${TLS[@]}" -q 1 -v -t 'mote/v1/#' >"$TMP/tmoted.out" 2>"$TMP/tmoted.err" &
BG+=($!)
if sub_ready "$TMP/tmoted.out" mote/v1/probe tpub moted; then ok "moted subscriber ready over TLS"; else not_ok "moted TLS subscriber not ready" "$TMP/tmoted.err"; fi
# the certificate's CN is the identity: claiming another username does not help
tpub dev-0001 -u dev-0002 -q 1 -t mote/v1/d/dev-0002/evt -m forbidden-claim 2>>"$TMP/pub.err"
tpub dev-0001 -q 1 -t mote/v1/d/dev-0003/state -m forbidden-tls 2>>"$TMP/pub.err"
tpub dev-0001 -q 1 -t mote/v1/d/dev-0001/evt -m sentinel-3
if wait_for "$TMP/tmoted.out" "sentinel-3$"; then ok "A's own evt arrives over TLS"; else not_ok "A's TLS evt never arrived" "$TMP/tmoted.out"; fi
if grep -q forbidden "$TMP/tmoted.out"; then
    not_ok "over TLS, A published as another device" "$TMP/tmoted.out"
else
    ok "over TLS, A cannot publish as B (not even claiming username dev-0002)"
fi
run mosquitto_pub -h localhost -p "$PORT" --cafile "$PKI/ca.crt" --cert "$PKI/clients/dev-0002.crt" \
    --key "$PKI/clients/dev-0002.key" -q 1 -t mote/v1/d/dev-0002/hb -m hb-localhost
if [ "$RC" -eq 0 ] && wait_for "$TMP/tmoted.out" "hb-localhost$"; then ok "server certificate valid for localhost too"; else not_ok "localhost: exit $RC"; fi

finish
