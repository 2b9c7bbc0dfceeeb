#!/bin/bash
# moted on PostgreSQL: this script runs its own cluster (initdb + pg_ctl as
# the `postgres` user, on 127.0.0.1 and a free port), then
#   - the store tests (test_f_store) and the in-process moted tests
#     (test_f_campaign: registry, events once, twins, reconciliation,
#     campaigns, restarts, and two moted instances sharing the database
#     through MQTT shared subscriptions) with MOTE_TEST_PG set;
#   - the moted binary with --db postgresql://...: it reports the store,
#     registers a model, and a restarted moted finds it again.
# Skipped (0 passed) when PostgreSQL 15 or the postgres user is missing.
. "$(dirname "$0")/lib.sh"
set +m
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$(dirname "$MOTE")" && pwd)
PGBIN=/usr/lib/postgresql/15/bin
if [ ! -x "$PGBIN/initdb" ] || ! id postgres >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ] ||
    ! command -v mosquitto >/dev/null; then
    echo "SKIP: needs PostgreSQL 15, the postgres user, root and mosquitto"
    echo "0 passed, 0 failed"
    exit 0
fi

PGDIR=$(mktemp -d /tmp/mote-pg-XXXXXX)
chmod 755 "$PGDIR"
chown postgres "$PGDIR"
PIDS=()
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$TMP" "$PGDIR"
}
trap cleanup EXIT
. "$(dirname "$0")/poll.sh"

PGPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >"$TMP/initdb.log" 2>&1 ||
    { cat "$TMP/initdb.log"; echo "initdb failed"; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -w -l "$PGDIR/pg.log" \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
    { cat "$PGDIR/pg.log"; echo "cannot start PostgreSQL"; exit 1; }
PG=postgresql://postgres@127.0.0.1:$PGPORT/postgres
ok "PostgreSQL cluster up on 127.0.0.1:$PGPORT"

for t in test_f_store test_f_campaign; do
    exe=$BIN/tests/$t
    if [ ! -x "$exe" ]; then
        not_ok "$t is not built in $BIN/tests"
        continue
    fi
    (cd "$TMP" && MOTE_TEST_PG=$PG "$exe") >"$TMP/$t.log" 2>&1
    RC=$?
    if [ $RC -eq 0 ]; then ok "$t on PostgreSQL"; else
        grep -B2 -A3 -E "ERROR|FAILED|waited" "$TMP/$t.log" >"$TMP/$t.fail"
        not_ok "$t on PostgreSQL (exit $RC)" "$TMP/$t.fail"
    fi
    grep -E '^(campaign of|shared:)' "$TMP/$t.log" | sed 's/^/# /'
done

# ---- the daemon with --db ----------------------------------------------
"$MOTE" key gen --out "$TMP/fleet" >/dev/null 2>&1
printf 'engineer-token-0123456789 engineer erin\n' >"$TMP/tokens"
start_moted() {
    rm -f "$TMP/state/moted.http"
    "$BIN/moted" --state "$TMP/state" --fleet-key "$TMP/fleet.sk" --http 127.0.0.1:0 --db "$PG" \
        --token-file "$TMP/tokens" >>"$TMP/moted.log" 2>&1 &
    MPID=$!
    PIDS+=("$MPID")
    wait_for 10 test -s "$TMP/state/moted.http" && URL="http://$(cat "$TMP/state/moted.http")"
}
start_moted
F=("$MOTE" fleet --url "$URL" --token engineer-token-0123456789)
run "${F[@]}" health
check "moted reports the postgresql store" grep -q "store postgresql" "$TMP/out"
mkdir -p "$TMP/pkg"
cp "$SHARED/models/tflm-examples/hello_world_int8.tflite" "$TMP/pkg/sine.tflite"
expect_rc "register a model into PostgreSQL" 0 "${F[@]}" models register "$TMP/pkg" --name sine --target gw
kill -TERM "$MPID"
wait "$MPID"
check "moted stops cleanly" test $? -eq 0
start_moted
F=("$MOTE" fleet --url "$URL" --token engineer-token-0123456789)
expect_rc "models after a restart" 0 "${F[@]}" models
check "the model is still there" grep -q "^sine" "$TMP/out"
finish
