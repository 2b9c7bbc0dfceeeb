#!/bin/bash
# The console's fleet map with 10,000 devices, against a REAL moted (API
# only, no broker): the devices are written into moted's own SQLite store
# (registering 10,000 devices over MQTT would test the broker, not the
# console), then headless Chromium opens the fleet map, pages to the end
# and searches (tests/browser/run.mjs --scenario scale), with axe-core on
# the 50-row page. Prints the timings. Skips like test_console.sh.
. "$(dirname "$0")/lib.sh"
set +m
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${MOTE_BIN_DIR:-$(dirname "$MOTE")}
MOTED=$BIN/moted
AGENT=$BIN/mote-agent
ART=${MOTE_ARTIFACTS:-$BIN/browser-artifacts}/scale
CHROMIUM=${MOTE_CHROMIUM:-/usr/bin/chromium}
N=${MOTE_SCALE_DEVICES:-10000}

skip() {
    echo "SKIP: $1"
    echo "0 passed, 0 failed"
    exit 0
}
for t in curl python3 node; do command -v $t >/dev/null || skip "$t not installed"; done
for b in "$MOTED" "$AGENT"; do [ -x "$b" ] || skip "$(basename "$b") not built in $BIN"; done
[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM (apt-get install chromium)"
if [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ]; then
    (cd "$ROOT/tests/browser" && { npm ci --offline --no-audit --no-fund >/dev/null 2>&1 ||
        npm ci --no-audit --no-fund >/dev/null 2>&1; }) ||
        skip "cannot install tests/browser/node_modules (npm ci failed: no cache and no registry?)"
fi

MPID=
cleanup() {
    [ -n "$MPID" ] && kill "$MPID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

wait_for() {
    local end=$((SECONDS + $1))
    shift
    while [ $SECONDS -le $end ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}

start_moted() {
    rm -f "$TMP/state/moted.http"
    "$MOTED" --state "$TMP/state" --fleet-key "$TMP/fleet.sk" --http 127.0.0.1:0 --users "$TMP/users" \
        --web "$ROOT/web" >>"$TMP/moted.log" 2>&1 &
    MPID=$!
    wait_for 15 test -s "$TMP/state/moted.http" || { echo "moted did not start"; cat "$TMP/moted.log"; exit 1; }
    BASE="http://127.0.0.1:$(sed 's/.*://' "$TMP/state/moted.http" | tr -d '\n')"
    wait_for 10 curl -sf "$BASE/api/health"
}

"$AGENT" keygen --out "$TMP/fleet" >/dev/null
printf 'scale-pass-123\n' | "$MOTE" user add ana --role viewer --users "$TMP/users" 2>/dev/null
mkdir -p "$TMP/state"
start_moted
kill "$MPID"
wait "$MPID" 2>/dev/null
MPID=
python3 - "$TMP/state/moted.db" "$N" <<'EOF'
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
now = int(time.time() * 1000)
c = sqlite3.connect(db)
c.executemany("INSERT INTO devices (id, class, grp, ram, flash, runtime, first_seen, last_seen) VALUES (?,?,?,?,?,?,?,?)",
              [(f"dev-{i:05d}", "cwru-gw" if i % 10 else "fan-gw", f"plant-{i // 1000}/line-{i % 7}", 65536, 262144,
                "0.1.0", now - 3600_000, now if i % 50 == 0 else now - (i % 600) * 1000) for i in range(n)])
c.executemany("INSERT INTO twin (device, model, version, desired_model, desired_version) VALUES (?,?,?,?,?)",
              [(f"dev-{i:05d}", "cwru4", 1 + (i % 3 == 0), "cwru4", 2 if i % 3 == 0 else 1) for i in range(n)])
# Two events a device (every 50th device's latest an anomaly), so each row
# has a latest event and the health filter has something to find.
ev = []
for i in range(n):
    ev.append((f"dev-{i:05d}", 1, now - 60_000, "class", '{"class":"normal","prev_class":"normal"}', now - 60_000))
    kind = "anomaly" if i % 50 == 0 else "class"
    body = '{"score":0.9,"threshold":0.5}' if kind == "anomaly" else '{"class":"normal","prev_class":"normal"}'
    ev.append((f"dev-{i:05d}", 2, now - 1_000, kind, body, now - 1_000))
c.executemany("INSERT INTO events (device, seq, ts, kind, body, received) VALUES (?,?,?,?,?,?)", ev)
c.commit()
EOF
start_moted
check "moted counts $N devices" bash -c "curl -sf '$BASE/api/health' | grep -q '\"devices\":$N'"

# API timings for the pages the console asks for (curl, login cookie).
curl -s -c "$TMP/jar" -o /dev/null -H 'Content-Type: application/json' \
    -d '{"user":"ana","password":"scale-pass-123"}' "$BASE/api/login"
t() { curl -s -b "$TMP/jar" -o "$TMP/page.json" -w '%{time_total}' "$BASE$1"; }
T1=$(t "/api/devices?offset=0&limit=50")
check "page 1 holds 50 of $N devices" grep -q "\"total\":$N" "$TMP/page.json"
T2=$(t "/api/devices?offset=$((N - 50))&limit=50")
check "the last page holds the last device" grep -q "dev-$(printf '%05d' $((N - 1)))" "$TMP/page.json"
T3=$(t "/api/devices?offset=0&limit=50&q=line-3")
T4=$(t "/api/devices?offset=0&limit=50&health=anomaly")
check "health=anomaly finds the $((N / 50)) devices whose latest event is an anomaly" \
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['total'] == $((N / 50)) and all(r['health'] == 'anomaly' and r['last_event']['kind'] == 'anomaly' for r in d['devices']), d['total']" "$TMP/page.json"
T5=$(t "/api/devices?offset=0&limit=50&group=plant-3")
check "group=plant-3 takes its subgroups (plant-3/line-*), $((N / 10)) devices" grep -q "\"total\":$((N / 10))," "$TMP/page.json"
T6=$(t "/api/devices?offset=$((N - 50))&limit=50&health=offline")
T7=$(t "/api/events?tail=20")
check "events?tail=20: the latest 20 of $((2 * N))" \
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['tail'] == 20 and [e['id'] for e in d['events']] == list(range($((2 * N - 19)), $((2 * N + 1)))) and d['next'] == $((2 * N)), d['next']" "$TMP/page.json"
T8=$(curl -sN -b "$TMP/jar" -o "$TMP/stream" --max-time 1 -w '%{time_starttransfer}' "$BASE/api/stream?tail=20")
check "the stream opens on $((2 * N)) stored events with the latest 20" bash -c "[ \$(grep -c '^event: event' '$TMP/stream') = 20 ] && grep -q '^id: $((2 * N))\$' '$TMP/stream'"
echo "# API: first page ${T1}s, last page ${T2}s, search 'line-3' ${T3}s, health=anomaly ${T4}s," \
    "group=plant-3 ${T5}s, last page of health=offline ${T6}s, events?tail=20 ${T7}s," \
    "stream?tail=20 first bytes ${T8}s (curl time_total / time_starttransfer)"

mkdir -p "$ART"
node "$ROOT/tests/browser/run.mjs" --scenario scale --devices "$N" --base "$BASE" --artifacts "$ART" \
    --chromium "$CHROMIUM" --user ana --password scale-pass-123 >"$TMP/browser.log" 2>&1
BRC=$?
cat "$TMP/browser.log"
PASS=$((PASS + $(grep -c '^ok - ' "$TMP/browser.log")))
FAIL=$((FAIL + $(grep -c '^not ok - ' "$TMP/browser.log")))
[ $BRC -eq 0 ] || [ "$(grep -c '^not ok - ' "$TMP/browser.log")" -gt 0 ] || not_ok "browser runner exited $BRC" "$TMP/browser.log"
check "moted logged no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error:' '$TMP/moted.log'"
finish
