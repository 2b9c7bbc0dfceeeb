# shellcheck shell=bash
# fleet-lib.sh: helpers shared by scripts/fleet-demo.sh, scripts/fleet-bench.sh
# and tests/cli/test_fleet_e2e.sh (sourced, never run). They start REAL
# processes (mosquitto through scripts/broker.sh, moted, mote-sim) on
# 127.0.0.1 and remember their pids in FLEET_PIDS; fleet_cleanup stops
# exactly those (and the broker of FLEET_PKI), never anything by name.
#
# The caller sets:
#   FLEET_BIN   folder holding mote, moted, mote-sim
#   FLEET_DIR   work folder (keys, pki/, moted/, sim/, logs)
#   FLEET_ROOT  project root (for scripts/broker.sh, scripts/fleet-pki.sh)
# and gets FLEET_PORT (broker), FLEET_URL (moted's API), FLEET_TOKEN
# (engineer token), FLEET_TLS (1 when devices and moted use certificates).

FLEET_PIDS=()
FLEET_TLS=${FLEET_TLS:-0}

fleet_log() { printf '%s\n' "$*" >&2; }

# fleet_free_port: an unused TCP port on 127.0.0.1.
fleet_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# fleet_wait SECONDS CMD...: poll (every 0.2 s) until CMD succeeds.
fleet_wait() {
    local end=$((SECONDS + $1))
    shift
    while [ $SECONDS -le $end ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

# fleet_json EXPR: evaluate a Python expression over stdin's JSON as `j`.
fleet_json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# fleet_cli ARGS...: `mote fleet` against our moted with the engineer token.
fleet_cli() { "$FLEET_BIN/mote" fleet --url "$FLEET_URL" --token "$FLEET_TOKEN" "$@"; }

# fleet_get PATH: GET moted's API (JSON on stdout).
fleet_get() {
    python3 - "$FLEET_URL$1" "$FLEET_TOKEN" <<'EOF'
import sys, urllib.request
r = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
sys.stdout.write(urllib.request.urlopen(r, timeout=30).read().decode())
EOF
}

# fleet_sim_has OPTION: does this mote-sim accept OPTION (from its --help)?
fleet_sim_has() { "$FLEET_BIN/mote-sim" --help 2>/dev/null | grep -q -- "$1"; }

# fleet_pki N [--no-certs]: key pair, credentials, ACL (+ read access to
# $SYS for moted, so broker statistics can be read with its credentials).
fleet_pki() {
    local n=$1
    shift
    mkdir -p "$FLEET_DIR"
    "$FLEET_BIN/mote" key gen --out "$FLEET_DIR/fleet" >"$FLEET_DIR/key.txt" 2>&1 || return 1
    "$FLEET_ROOT/scripts/fleet-pki.sh" "$FLEET_DIR/pki" "$n" "$@" 2>"$FLEET_DIR/pki.log" || {
        cat "$FLEET_DIR/pki.log" >&2
        return 1
    }
    sed -i 's|^topic readwrite mote/v1/#$|topic readwrite mote/v1/#\ntopic read $SYS/#|' "$FLEET_DIR/pki/acl"
    FLEET_MOTED_PW=$(awk '$1 == "moted" { print $2 }' "$FLEET_DIR/pki/passwords.txt")
}

# fleet_sim_passwords PREFIX N: for a mote-sim without --pass-file/--first
# (devices PREFIX0000 ...): give those ids one shared password,
# FLEET_SIM_PW, in the broker's password file (before the broker starts).
FLEET_SIM_PW=sim-$RANDOM$RANDOM$RANDOM
fleet_sim_passwords() {
    local prefix=$1 n=$2 i
    {
        for ((i = 0; i < n; i++)); do printf '%s%04d:%s\n' "$prefix" "$i" "$FLEET_SIM_PW"; done
    } >"$FLEET_DIR/pki/passwd.sim"
    mosquitto_passwd -U "$FLEET_DIR/pki/passwd.sim"
    cat "$FLEET_DIR/pki/passwd.sim" >>"$FLEET_DIR/pki/passwd"
}

# fleet_broker [--tls]: start mosquitto (scripts/broker.sh) on a free port.
fleet_broker() {
    FLEET_PORT=$(fleet_free_port)
    "$FLEET_ROOT/scripts/broker.sh" start "$FLEET_DIR/pki" "$FLEET_PORT" "$@" 2>"$FLEET_DIR/broker.log" || {
        cat "$FLEET_DIR/broker.log" >&2
        return 1
    }
    FLEET_BROKER_UP=1
}

# fleet_broker_bytes: "RECEIVED SENT" from the broker's $SYS counters (as of
# its last $SYS publication, every sys_interval = 10 s by default).
fleet_broker_bytes() {
    local auth=(-u moted -P "$FLEET_MOTED_PW")
    if [ "$FLEET_TLS" = 1 ]; then
        auth=(--cafile "$FLEET_DIR/pki/ca.crt" --cert "$FLEET_DIR/pki/clients/moted.crt"
              --key "$FLEET_DIR/pki/clients/moted.key")
    fi
    mosquitto_sub -h 127.0.0.1 -p "$FLEET_PORT" "${auth[@]}" -i "stats-$$-$RANDOM" -C 2 -W 15 -v \
        -t '$SYS/broker/bytes/received' -t '$SYS/broker/bytes/sent' 2>/dev/null |
        awk '/received/ { r = $2 } /sent/ { s = $2 } END { print r + 0, s + 0 }'
}

# fleet_moted [EXTRA ARGS...]: start moted on the broker, API on a free port.
fleet_moted() {
    FLEET_TOKEN=eng-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    printf '%s engineer demo\n' "$FLEET_TOKEN" >"$FLEET_DIR/tokens"
    chmod 600 "$FLEET_DIR/tokens"
    mkdir -p "$FLEET_DIR/moted"
    local mq=(--user moted --pass "$FLEET_MOTED_PW")
    if [ "$FLEET_TLS" = 1 ]; then
        mq=(--cafile "$FLEET_DIR/pki/ca.crt" --cert "$FLEET_DIR/pki/clients/moted.crt"
            --key "$FLEET_DIR/pki/clients/moted.key")
    fi
    rm -f "$FLEET_DIR/moted/moted.http"
    "$FLEET_BIN/moted" --state "$FLEET_DIR/moted" --fleet-key "$FLEET_DIR/fleet.sk" --http 127.0.0.1:0 \
        --token-file "$FLEET_DIR/tokens" --broker "127.0.0.1:$FLEET_PORT" "${mq[@]}" "$@" \
        >>"$FLEET_DIR/moted.log" 2>&1 &
    FLEET_MOTED_PID=$!
    FLEET_PIDS+=("$FLEET_MOTED_PID")
    fleet_wait 15 test -s "$FLEET_DIR/moted/moted.http" || { tail -n 20 "$FLEET_DIR/moted.log" >&2; return 1; }
    FLEET_URL="http://$(cat "$FLEET_DIR/moted/moted.http")"
    fleet_wait 15 "$FLEET_BIN/mote" fleet --url "$FLEET_URL" health || { tail -n 20 "$FLEET_DIR/moted.log" >&2; return 1; }
    fleet_wait 15 grep -q "connected to the broker" "$FLEET_DIR/moted.log" || {
        tail -n 20 "$FLEET_DIR/moted.log" >&2
        return 1
    }
}

# fleet_register PKG NAME VERSION: register a `mote train` package.
fleet_register() {
    fleet_cli models register "$1" --name "$2" --target cwru-gw --version "$3"
}

# fleet_sim_mode: decide how mote-sim logs in. With --pass-file and --first
# it uses fleet-pki's ids (dev-0001 ...) and passwords (FLEET_SIM_PKI=1,
# FLEET_SIM_PREFIX=dev-, FLEET_SIM_FIRST=1); an older mote-sim gets ids
# sim-0000 ... with one shared password (fleet_sim_passwords).
fleet_sim_mode() {
    if fleet_sim_has --pass-file && fleet_sim_has --first; then
        FLEET_SIM_PKI=1 FLEET_SIM_PREFIX=dev- FLEET_SIM_FIRST=1
    else
        FLEET_SIM_PKI=0 FLEET_SIM_PREFIX=sim- FLEET_SIM_FIRST=0
    fi
}

# fleet_sim_id K: the id of the simulator's device K (0-based).
fleet_sim_id() { printf '%s%04d\n' "$FLEET_SIM_PREFIX" $((FLEET_SIM_FIRST + $1)); }

# fleet_sim N LOG ARGS...: start mote-sim with N devices (TLS certificates
# when FLEET_TLS=1, else passwords); summary on LOG.out, messages on
# LOG.err. Sets FLEET_SIM_PID. FLEET_SIM_FIRST picks the first number.
fleet_sim() {
    local n=$1 log=$2
    shift 2
    local cred=(--prefix "$FLEET_SIM_PREFIX")
    fleet_sim_has --first && cred+=(--first "$FLEET_SIM_FIRST")
    if [ "$FLEET_TLS" = 1 ]; then
        cred+=(--cafile "$FLEET_DIR/pki/ca.crt" --cert-dir "$FLEET_DIR/pki/clients")
    elif [ "$FLEET_SIM_PKI" = 1 ]; then
        cred+=(--pass-file "$FLEET_DIR/pki/passwords.txt")
    else
        cred+=(--pass "$FLEET_SIM_PW")
    fi
    "$FLEET_BIN/mote-sim" --broker "127.0.0.1:$FLEET_PORT" --fleet-pk "$FLEET_DIR/fleet.pk" \
        --devices "$n" "${cred[@]}" "$@" >"$log.out" 2>"$log.err" &
    FLEET_SIM_PID=$!
    FLEET_PIDS+=("$FLEET_SIM_PID")
}

# fleet_sim_stop: SIGTERM mote-sim (it prints its summary) and wait for it.
fleet_sim_stop() {
    [ -n "${FLEET_SIM_PID:-}" ] || return 0
    kill -TERM "$FLEET_SIM_PID" 2>/dev/null || true
    local i
    for i in $(seq 300); do
        kill -0 "$FLEET_SIM_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$FLEET_SIM_PID" 2>/dev/null || true
    wait "$FLEET_SIM_PID" 2>/dev/null || true
    FLEET_SIM_PID=
}

# fleet_devices: number of devices moted knows.
fleet_devices() { fleet_get "/api/devices?limit=1" | fleet_json 'j["total"]'; }

# fleet_campaign_state ID: running | done | failed | aborted ...
fleet_campaign_state() { fleet_cli --json campaign show "$1" | fleet_json 'j["state"]'; }

# fleet_events_json FILE: every event moted stored, as one JSON array.
fleet_events_json() {
    local out=$1
    python3 - "$FLEET_URL" "$FLEET_TOKEN" >"$out" <<'EOF'
import json, sys, urllib.request
url, tok = sys.argv[1], sys.argv[2]
since, evs = 0, []
while True:
    r = urllib.request.Request(f"{url}/api/events?since={since}&limit=5000",
                               headers={"Authorization": "Bearer " + tok})
    j = json.load(urllib.request.urlopen(r, timeout=60))
    evs += j["events"]
    if not j["events"]:
        break
    since = j["next"]
json.dump(evs, sys.stdout)
EOF
}

# fleet_cleanup: stop what we started (reverse order), then the broker.
fleet_cleanup() {
    local i p
    for ((i = ${#FLEET_PIDS[@]} - 1; i >= 0; i--)); do
        p=${FLEET_PIDS[$i]}
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${FLEET_PIDS[@]}"; do
        for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    FLEET_PIDS=()
    if [ "${FLEET_BROKER_UP:-0}" = 1 ]; then
        "$FLEET_ROOT/scripts/broker.sh" stop "$FLEET_DIR/pki" 2>/dev/null || true
        FLEET_BROKER_UP=0
    fi
}
