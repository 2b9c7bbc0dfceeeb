#!/bin/bash
# GET /api/stream (Server-Sent Events, docs/console.md) against REAL
# servers on 127.0.0.1: mosquitto, moted and mote-sim devices that inject
# faults. Checks: roles (anonymous 401, viewer 200, text/event-stream);
# a fault event reaches an open stream within seconds, framed as
# id/event/data lines whose data is the row of GET /api/events; a
# reconnect with Last-Event-ID (and ?since=) gets exactly the events after
# it, in order; ?tail=N; malformed ids are 400; the bound on open streams
# answers 503; moted stops promptly with streams open; /api/events?tail=N
# and the /api/devices health/last_event columns; the same queries on a
# PostgreSQL store when the machine can run one (root, postgres user).
# Skips (exit 0) when moted, mote-sim or mosquitto is missing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/poll.sh"
set +m
BIN=${MOTE_BIN_DIR:-$(dirname "$MOTE")}
MOTED=$BIN/moted
SIM=$BIN/mote-sim
AGENT=$BIN/mote-agent
DATA=$SHARED/data/cwru

skip() {
    echo "SKIP: $1"
    echo "0 passed, 0 failed"
    exit 0
}
for t in mosquitto curl python3; do command -v $t >/dev/null || skip "$t not installed"; done
for b in "$MOTED" "$SIM" "$AGENT"; do [ -x "$b" ] || skip "$(basename "$b") not built in $BIN"; done
[ -d "$DATA" ] || skip "no CWRU data in $DATA"

PIDS=()
PGDIR=
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    if [ -n "$PGDIR" ]; then
        runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
        rm -rf "$PGDIR"
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- broker, keys, a model bundle ----------------------------------------
MQPORT=$(free_port)
mkdir -p "$TMP/mq"
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n' "$MQPORT" >"$TMP/mq/mq.conf"
[ "$(id -u)" -eq 0 ] && echo "user root" >>"$TMP/mq/mq.conf"
mosquitto -c "$TMP/mq/mq.conf" >"$TMP/mq/log" 2>&1 &
PIDS+=("$!")
wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1',$MQPORT),1)" ||
    { echo "cannot start mosquitto"; exit 1; }
"$AGENT" keygen --out "$TMP/fleet" >/dev/null
mkdir -p "$TMP/pkgsrc"
sed "s|\"base_dir\": *\"[^\"]*\"|\"base_dir\": \"$DATA\"|" "$(dirname "$0")/../../examples/cwru/dataset.json" \
    >"$TMP/pkgsrc/dataset.json"
cp "$(dirname "$0")/../../examples/cwru/config.json" "$TMP/pkgsrc/config.json"
run "$MOTE" train "$TMP/pkgsrc/config.json" --out "$TMP/pkg" --quiet
check "mote train makes the cwru4 package" test -s "$TMP/pkg/cwru4.tflite"
"$AGENT" bundle --key "$TMP/fleet.sk" --name cwru4 --version 1 --target cwru-gw --out "$TMP/gw.bundle" \
    "$TMP/pkg/cwru4.tflite" "$TMP/pkg/cwru4.dspcfg" "$TMP/pkg/cwru4.json" >/dev/null

# ---- moted -------------------------------------------------------------------
VIEW=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s viewer vera\n' "$VIEW" >"$TMP/tokens"
mkdir -p "$TMP/state"
"$MOTED" --state "$TMP/state" --fleet-key "$TMP/fleet.sk" --http 127.0.0.1:0 --token-file "$TMP/tokens" \
    --broker "127.0.0.1:$MQPORT" --tick-ms 200 >"$TMP/moted.log" 2>&1 &
MPID=$!
PIDS+=("$MPID")
wait_for 15 test -s "$TMP/state/moted.http" || { echo "moted did not start"; cat "$TMP/moted.log"; exit 1; }
BASE="http://127.0.0.1:$(sed 's/.*://' "$TMP/state/moted.http" | tr -d '\n')"
wait_for 10 curl -sf "$BASE/api/health" || { echo "moted not answering at $BASE"; exit 1; }
A=(-H "Authorization: Bearer $VIEW")

# code PATH [CURL-ARGS...]: the status of a request that ends by itself.
code() {
    local path=$1
    shift
    curl -s -o "$TMP/body" -w '%{http_code}' --max-time 5 "$@" "$BASE$path"
}
check "the stream needs a login (401 anonymous)" test "$(code /api/stream)" = 401
check "a malformed Last-Event-ID is refused (400)" test "$(code /api/stream "${A[@]}" -H 'Last-Event-ID: 12x')" = 400
check "the 400 names the header" grep -q 'Last-Event-ID' "$TMP/body"
check "a negative ?since= is refused (400)" test "$(code '/api/stream?since=-1' "${A[@]}")" = 400
check "?tail= above 1000 is refused (400)" test "$(code '/api/stream?tail=1001' "${A[@]}")" = 400

# ---- a live stream sees a fault injected after it opened -----------------
curl -sN -D "$TMP/live.h" "${A[@]}" "$BASE/api/stream" >"$TMP/live" 2>/dev/null &
LIVE=$!
PIDS+=("$LIVE")
wait_for 5 grep -q '^retry: ' "$TMP/live"
check "the stream opens as text/event-stream" grep -qi '^content-type: text/event-stream' "$TMP/live.h"
T0=$(date +%s.%N)
"$SIM" --broker "127.0.0.1:$MQPORT" --fleet-pk "$TMP/fleet.pk" --state "$TMP/sim" --install "$TMP/gw.bundle" \
    --devices 4 --windows 200 --speed 0 --fault-rate 1 --seed 11 --prefix st --data "$DATA" --drain-s 20 \
    >"$TMP/sim.log" 2>&1 &
PIDS+=("$!")
fault_seen() { grep -qE '^data: .*"kind":"(anomaly|drift|class)"' "$TMP/live"; }
wait_for 30 fault_seen
check "a fault event arrives on the open stream" fault_seen
echo "# first fault on the stream $(python3 -c "import time; print(round(time.time() - $T0, 2))") s after mote-sim started"

# The stream and /api/events must agree once the devices are done.
settled() {
    local a b
    a=$(curl -sf "${A[@]}" "$BASE/api/events?tail=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
    sleep 1
    b=$(curl -sf "${A[@]}" "$BASE/api/events?tail=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"])')
    [ -n "$a" ] && [ "$a" = "$b" ] && grep -q "^id: $b\$" "$TMP/live"
}
wait_for 40 settled
check "the stream caught up with the store" settled
curl -sf "${A[@]}" "$BASE/api/events?limit=5000" >"$TMP/all.json"
cat >"$TMP/sse.py" <<'EOF'
import json, sys
# sse.py STREAM ALL.json AFTER: the stream's messages must be exactly the
# stored events with id > AFTER, in order, data = the API row.
msgs, cur = [], {}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        if cur: msgs.append(cur)
        cur = {}
    elif not line.startswith(":"):
        k, _, v = line.partition(": ")
        cur[k] = v
rows = [e for e in json.load(open(sys.argv[2]))["events"] if e["id"] > int(sys.argv[3])]
evs = [m for m in msgs if m.get("event") == "event"]
ids = [int(m["id"]) for m in evs]
want = [e["id"] for e in rows]
if ids != want:
    sys.exit(f"ids {ids[:5]}..{ids[-3:]} ({len(ids)}) != {want[:5]}..{want[-3:]} ({len(want)})")
for m, e in zip(evs, rows):
    if json.loads(m["data"]) != e:
        sys.exit(f"event {e['id']}: data differs from GET /api/events")
print(len(ids))
EOF
FIRST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"][0]["id"])' "$TMP/all.json")
check "every stored event came on the stream once, in id order, as the /api/events row" \
    python3 "$TMP/sse.py" "$TMP/live" "$TMP/all.json" $((FIRST - 1))
N=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["events"]))' "$TMP/all.json")
echo "# $N events stored and streamed"

# ---- resume ----------------------------------------------------------------
MID=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; print(e[len(e)//2]["id"])' "$TMP/all.json")
curl -sN --max-time 3 "${A[@]}" -H "Last-Event-ID: $MID" "$BASE/api/stream" >"$TMP/resume" 2>/dev/null
check "a reconnect with Last-Event-ID: $MID gets exactly the events after it" \
    python3 "$TMP/sse.py" "$TMP/resume" "$TMP/all.json" "$MID"
curl -sN --max-time 3 "${A[@]}" "$BASE/api/stream?since=$MID" >"$TMP/since" 2>/dev/null
check "?since=$MID resumes the same way" python3 "$TMP/sse.py" "$TMP/since" "$TMP/all.json" "$MID"
curl -sN --max-time 3 "${A[@]}" -H "Last-Event-ID: $MID" "$BASE/api/stream?since=0" >"$TMP/both" 2>/dev/null
check "Last-Event-ID wins over ?since=" python3 "$TMP/sse.py" "$TMP/both" "$TMP/all.json" "$MID"
curl -sN --max-time 3 "${A[@]}" "$BASE/api/stream?tail=5" >"$TMP/tail" 2>/dev/null
LAST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"][-1]["id"])' "$TMP/all.json")
TAIL_FROM=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events"][-6]["id"])' "$TMP/all.json")
check "?tail=5 sends the latest 5 events first" python3 "$TMP/sse.py" "$TMP/tail" "$TMP/all.json" "$TAIL_FROM"

# ---- /api/events?tail and /api/devices health/last_event ------------------
curl -sf "${A[@]}" "$BASE/api/events?tail=3" >"$TMP/t3.json"
check "GET /api/events?tail=3: the latest 3 in id order, tail and next echoed" python3 - "$TMP/t3.json" "$TMP/all.json" <<'EOF'
import json, sys
t, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))["events"]
assert t["tail"] == 3 and [e["id"] for e in t["events"]] == [e["id"] for e in a[-3:]], t
assert t["next"] == a[-1]["id"]
EOF
curl -sf "${A[@]}" "$BASE/api/devices?limit=50" >"$TMP/devs.json"
check "device rows carry health and their latest event" python3 - "$TMP/devs.json" "$TMP/all.json" <<'EOF'
import json, sys
d, a = json.load(open(sys.argv[1]))["devices"], json.load(open(sys.argv[2]))["events"]
assert len(d) == 4, len(d)
for r in d:
    mine = [e for e in a if e["device"] == r["id"]]
    assert r["last_event"] == (mine[-1] if mine else None), r["id"]
    want = {"anomaly": "anomaly", "drift": "drift"}.get(mine[-1]["kind"] if mine else "", "online")
    assert r["health"] == want, (r["id"], r["health"], want)
EOF
H=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["devices"][0]["health"])' "$TMP/devs.json")
check "?health=$H keeps only such devices" python3 -c "
import json, subprocess, sys
r = json.loads(subprocess.check_output(['curl', '-sf', '-H', 'Authorization: Bearer $VIEW', '$BASE/api/devices?health=$H']))
assert r['total'] >= 1 and all(d['health'] == '$H' for d in r['devices']), r"
check "?health=broken is refused (400)" test "$(code '/api/devices?health=broken' "${A[@]}")" = 400
check "?group=nosuch matches nothing" bash -c "curl -sf ${A[*]@Q} '$BASE/api/devices?group=nosuch' | grep -q '\"total\":0'"

# ---- the bound on open streams ---------------------------------------------
OPEN=()
mkdir -p "$TMP/open"
for i in $(seq 1 31); do # with the live one: 32, the bound
    curl -sN -D "$TMP/open/$i" "${A[@]}" "$BASE/api/stream" >/dev/null 2>&1 &
    OPEN+=("$!")
    PIDS+=("$!")
done
# All 31 must hold their stream before the probe: a probe that got in
# first would push one of them out.
all_open() { [ "$(cat "$TMP/open/"* 2>/dev/null | grep -c '^HTTP/1.1 200')" = 31 ]; }
wait_for 10 all_open
check "31 more streams open beside the live one" all_open
full() {
    local c
    c=$(curl -s -o "$TMP/body" -w '%{http_code}' --max-time 1 "${A[@]}" "$BASE/api/stream")
    [ "$c" = 503 ]
}
check "stream 33 is refused with 503" full
check "the 503 says why" grep -q 'too many open streams' "$TMP/body"
check "other requests are served while 32 streams are open" test "$(code /api/health)" = 200
for p in "${OPEN[@]}"; do kill "$p" 2>/dev/null; done
freed() { curl -s -o /dev/null -w '%{http_code}' --max-time 1 "${A[@]}" "$BASE/api/stream" | grep -qx 200; }
wait_for 10 freed
check "closed streams free their slots" freed
kill "$LIVE" 2>/dev/null

# ---- moted stops promptly with streams open ---------------------------------
mkdir -p "$TMP/last"
for i in 1 2 3; do
    curl -sN -D "$TMP/last/$i" "${A[@]}" "$BASE/api/stream" >/dev/null 2>&1 &
    PIDS+=("$!")
done
three_open() { [ "$(cat "$TMP/last/"* 2>/dev/null | grep -c '^HTTP/1.1 200')" = 3 ]; }
wait_for 10 three_open
check "3 streams open before the stop" three_open
T0=$(date +%s%N)
kill -TERM "$MPID"
gone() { ! kill -0 "$MPID" 2>/dev/null; }
wait_for 10 gone
MS=$((($(date +%s%N) - T0) / 1000000))
check "moted stops within 3 s with 3 streams open (took ${MS} ms)" test "$MS" -lt 3000
wait "$MPID"
check "moted exits 0 on SIGTERM" test $? -eq 0
check "moted logged no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error:' '$TMP/moted.log'"

# ---- the same queries on PostgreSQL (when this machine can run it) -------
PGBIN=/usr/lib/postgresql/15/bin
if [ -x "$PGBIN/initdb" ] && id postgres >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    PGDIR=$(mktemp -d /tmp/mote-pgs-XXXXXX)
    chmod 755 "$PGDIR"
    chown postgres "$PGDIR"
    as_pg() { runuser -u postgres -- "$@"; }
    PGPORT=$(free_port)
    as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null 2>&1
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -w -l "$PGDIR/pg.log" \
        -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    PG=postgresql://postgres@127.0.0.1:$PGPORT/postgres
    mkdir -p "$TMP/pgstate"
    "$MOTED" --state "$TMP/pgstate" --fleet-key "$TMP/fleet.sk" --http 127.0.0.1:0 --db "$PG" \
        --token-file "$TMP/tokens" >"$TMP/pgmoted.log" 2>&1 &
    PGM=$!
    PIDS+=("$PGM")
    wait_for 15 test -s "$TMP/pgstate/moted.http"
    BASE="http://127.0.0.1:$(sed 's/.*://' "$TMP/pgstate/moted.http" | tr -d '\n')"
    wait_for 10 curl -sf "$BASE/api/health"
    NOW=$(($(date +%s) * 1000))
    as_pg psql -h 127.0.0.1 -p "$PGPORT" -q -c "INSERT INTO devices (id, class, grp, first_seen, last_seen)
        SELECT 'd' || i, 'gw', 'plant-' || (i % 3) || '/l', 0, $NOW FROM generate_series(1, 30) i;
        INSERT INTO events (device, seq, ts, kind, body, received) SELECT 'd' || (i % 30 + 1), i, i,
        CASE WHEN i % 7 = 0 THEN 'anomaly' ELSE 'class' END, '{\"n\":' || i || '}', i FROM generate_series(1, 100) i;"
    check "PostgreSQL: health=anomaly&group=plant-1 (latest event per device, subgroup match)" python3 -c "
import json, subprocess
r = json.loads(subprocess.check_output(['curl', '-sf', '-H', 'Authorization: Bearer $VIEW', '$BASE/api/devices?health=anomaly&group=plant-1']))
last = {}
for i in range(1, 101): last['d%d' % (i % 30 + 1)] = i
want = sorted(d for d, i in last.items() if i % 7 == 0 and int(d[1:]) % 3 == 1)
assert sorted(x['id'] for x in r['devices']) == want and r['total'] == len(want), (r, want)
assert all(x['last_event']['id'] == last[x['id']] for x in r['devices'])"
    check "PostgreSQL: events?tail=2" bash -c "curl -sf ${A[*]@Q} '$BASE/api/events?tail=2' | grep -q '\"tail\":2,\"next\":100'"
    curl -sN --max-time 2 "${A[@]}" -H 'Last-Event-ID: 97' "$BASE/api/stream" >"$TMP/pgstream" 2>/dev/null
    check "PostgreSQL: the stream resumes after Last-Event-ID: 97 (98, 99, 100)" \
        bash -c "[ \"\$(grep '^id: ' '$TMP/pgstream' | tr -d '\n')\" = 'id: 98id: 99id: 100' ]"
    kill "$PGM"
    wait "$PGM" 2>/dev/null
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$PGDIR"
    PGDIR=
else
    echo "# SKIP PostgreSQL checks: need PostgreSQL 15, the postgres user and root"
fi
[ "$FAIL" -gt 0 ] && tail -n 20 "$TMP/moted.log" | sed 's/^/#   /'
finish
