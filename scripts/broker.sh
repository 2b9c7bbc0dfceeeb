#!/bin/bash
# broker.sh: run a mosquitto broker for a mote fleet, in the background.
#
# usage: scripts/broker.sh start DIR PORT [--tls]
#        scripts/broker.sh stop DIR
#        scripts/broker.sh status DIR
#
# DIR is a folder made by scripts/fleet-pki.sh (passwd, acl, and for --tls
# ca.crt, server.crt, server.key). start writes DIR/mosquitto.conf:
#   - one listener on 127.0.0.1:PORT; allow_anonymous false; the ACL in
#     DIR/acl (docs/fleet-protocol.md);
#   - plaintext: username + password from DIR/passwd;
#   - --tls: TLS with the fleet CA and require_certificate true; the client
#     certificate's CN is the MQTT username (use_identity_as_username), so a
#     device cannot claim another id;
#   - max_queued_messages 100000 (the default 1000 drops QoS 1 bursts);
#   - persistence in DIR/data: QoS 1 messages queued for offline persistent
#     sessions (and retained messages) survive a restart. The store is
#     written on a clean stop and every 5 s (autosave_interval): a SIGKILL
#     or power loss can lose the last seconds;
#   - DIR/mosquitto.pid, DIR/mosquitto.log.
# Then it starts mosquitto and waits (up to 10 s) until PORT accepts
# connections. stop sends SIGTERM (the store is saved), waits up to 10 s,
# then SIGKILL. status exits 0 if the broker of DIR is running.
# Exit 0 on success, 1 on failure (log tail on stderr), 2 on usage error.
set -euo pipefail

usage() {
    sed -n '4,6p' "$0" | sed 's/^# *//' >&2
    exit 2
}

# pid of DIR's running broker, or nothing.
running_pid() {
    local pid
    pid=$(cat "$1/mosquitto.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# wait_port PORT SECONDS: until a TCP connect to 127.0.0.1:PORT succeeds.
wait_port() {
    local end=$((SECONDS + $2))
    while [ $SECONDS -lt $end ]; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    return 1
}

write_conf() {
    local dir=$1 port=$2 tls=$3
    mkdir -p "$dir/data"
    {
        echo "# written by scripts/broker.sh; do not edit (rewritten on start)"
        echo "pid_file $dir/mosquitto.pid"
        echo "user $(id -un)"
        echo "log_dest file $dir/mosquitto.log"
        echo "log_type error"
        echo "log_type warning"
        echo "log_type notice"
        echo "log_type information"
        echo "connection_messages true"
        echo "persistence true"
        echo "persistence_location $dir/data/"
        echo "autosave_interval 5"
        echo "max_queued_messages 100000"
        # $SYS statistics period (traffic figures of examples/federated/run-mqtt.sh)
        echo "sys_interval ${MOTE_BROKER_SYS_INTERVAL:-10}"
        echo "max_inflight_messages 100"
        echo "allow_anonymous false"
        echo "acl_file $dir/acl"
        echo "listener $port 127.0.0.1"
        if [ "$tls" -eq 1 ]; then
            echo "cafile $dir/ca.crt"
            echo "certfile $dir/server.crt"
            echo "keyfile $dir/server.key"
            echo "require_certificate true"
            echo "use_identity_as_username true"
        else
            echo "password_file $dir/passwd"
        fi
    } >"$dir/mosquitto.conf"
}

start() {
    local dir=$1 port=$2 tls=$3
    [ -f "$dir/acl" ] && [ -f "$dir/passwd" ] || {
        echo "broker.sh: $dir has no acl/passwd: run scripts/fleet-pki.sh first" >&2
        exit 1
    }
    if [ "$tls" -eq 1 ] && [ ! -f "$dir/server.crt" ]; then
        echo "broker.sh: $dir has no certificates (made with --no-certs?)" >&2
        exit 1
    fi
    if pid=$(running_pid "$dir"); then
        echo "broker.sh: a broker for $dir is already running (pid $pid)" >&2
        exit 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "broker.sh: port $port is already in use" >&2
        exit 1
    fi
    write_conf "$dir" "$port" "$tls"
    rm -f "$dir/mosquitto.pid"
    if ! mosquitto -c "$dir/mosquitto.conf" -d; then
        echo "broker.sh: mosquitto failed to start" >&2
        tail -n 20 "$dir/mosquitto.log" >&2 2>/dev/null || true
        exit 1
    fi
    if ! wait_port "$port" 10; then
        echo "broker.sh: mosquitto did not listen on 127.0.0.1:$port within 10 s" >&2
        tail -n 20 "$dir/mosquitto.log" >&2 2>/dev/null || true
        stop "$dir" 2>/dev/null || true
        exit 1
    fi
    echo "broker.sh: mosquitto pid $(cat "$dir/mosquitto.pid") on 127.0.0.1:$port$([ "$tls" -eq 1 ] && echo ' (TLS, client certificates)')" >&2
}

stop() {
    local dir=$1 pid
    pid=$(running_pid "$dir") || { rm -f "$dir/mosquitto.pid"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$dir/mosquitto.pid"; return 0; }
        sleep 0.05
    done
    echo "broker.sh: pid $pid ignored SIGTERM for 10 s: killing" >&2
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/mosquitto.pid"
}

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
[ -d "$dir" ] || { echo "broker.sh: no folder '$dir'" >&2; exit 1; }
dir=$(cd "$dir" && pwd)
# mosquitto.conf values end at whitespace
[[ $dir =~ [[:space:]] ]] && { echo "broker.sh: '$dir': a path with spaces is not supported" >&2; exit 1; }
command -v mosquitto >/dev/null || { echo "broker.sh: mosquitto not found (scripts/deps.sh)" >&2; exit 1; }
case $cmd in
    start)
        [ $# -ge 3 ] && [[ $3 =~ ^[0-9]+$ ]] && [ "$3" -ge 1 ] && [ "$3" -le 65535 ] || usage
        tls=0
        [ $# -ge 4 ] && { [ "$4" = --tls ] || usage; tls=1; }
        [ $# -le 4 ] || usage
        start "$dir" "$3" "$tls"
        ;;
    stop) [ $# -eq 2 ] || usage; stop "$dir" ;;
    status) [ $# -eq 2 ] || usage; running_pid "$dir" >/dev/null ;;
    *) usage ;;
esac
