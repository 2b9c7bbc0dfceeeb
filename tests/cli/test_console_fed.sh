#!/bin/bash
# The console's federated page against a REAL round: mosquitto with the
# fleet ACL, moted --fed (plus --web, --users) and mote-sim --fed with 4
# devices training their CWRU slices (docs/federated.md, "Over MQTT").
#   - API as the page uses it (web/js/federated.js): a session + CSRF
#     token queues rounds (POST /api/fed/rounds, 202), a viewer is refused
#     (403), a write without the CSRF token is refused (403), then
#     GET /api/fed/rounds lists each finished round with its accuracy and
#     bytes up/down, and GET /api/fed the coordinator's status.
#   - Browser (tests/browser/run.mjs --scenario fed): log in, open
#     #/federated, start a round from the form, see its finished row with
#     an accuracy; axe-core on the page; screenshots in
#     $MOTE_ARTIFACTS/fed or <build>/browser-artifacts/fed.
# Skips like test_console.sh (the browser part alone when node, chromium
# or tests/browser/node_modules are missing).
. "$(dirname "$0")/lib.sh"
set +m
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$(dirname "$MOTE")" && pwd)
MOTED=$BIN/moted
SIM=$BIN/mote-sim
AGENT=$BIN/mote-agent
ART=${MOTE_ARTIFACTS:-$BIN/browser-artifacts}/fed
CHROMIUM=${MOTE_CHROMIUM:-/usr/bin/chromium}
DEVICES=4

skip() {
    echo "SKIP: $1"
    echo "0 passed, 0 failed"
    exit 0
}
for t in mosquitto curl python3; do command -v $t >/dev/null || skip "$t not installed"; done
for b in "$MOTED" "$SIM" "$AGENT"; do [ -x "$b" ] || skip "$(basename "$b") not built in $BIN"; done
[ -d "$SHARED/data/cwru" ] || skip "no CWRU data in $SHARED/data/cwru"
. "$(dirname "$0")/poll.sh"

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    "$ROOT/scripts/broker.sh" stop "$TMP/pki" >/dev/null 2>&1
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    if [ -n "${MOTE_KEEP_TMP:-}" ]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
py() { /usr/bin/python3 -c "$@"; }
T0=$SECONDS

# ---- the federated config and the devices' model (as run-mqtt.sh) -------
# 4 devices, no drop-outs or attackers: this tests the console, not FL.
py 'import json, os, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = json.load(open(src)); base = os.path.dirname(src)
c.pop("description", None)
c["features"] = os.path.join(base, c["features"])
c["backbone"] = os.path.join(base, c["backbone"])
c.update(devices=n, rounds=1, drop=0, malicious=0, local_steps=50)
c.pop("participants", None)
json.dump(c, open(out, "w"), indent=1)' "$ROOT/examples/federated/cwru20.json" "$TMP/fed_train.json" $DEVICES
run "$MOTE" fed sim "$TMP/fed_train.json" --out "$TMP/sim" --quiet
BB=$(ls "$TMP"/sim/backbone/*.tflite 2>/dev/null | head -1)
check "mote fed sim makes the backbone the devices run" test -s "$BB"
[ -s "$BB" ] || { echo "$PASS passed, $FAIL failed"; exit 1; }
py 'import json, sys
c = json.load(open(sys.argv[1])); c["backbone"] = sys.argv[2]
json.dump(c, open(sys.argv[3], "w"), indent=1)' "$TMP/fed_train.json" "$BB" "$TMP/fed.json"

"$ROOT/scripts/fleet-pki.sh" "$TMP/pki" $DEVICES --no-certs 2>/dev/null
PORT=$(free_port)
"$ROOT/scripts/broker.sh" start "$TMP/pki" "$PORT" 2>"$TMP/broker.err" || { cat "$TMP/broker.err"; exit 1; }
MPASS=$(awk '$1 == "moted" {print $2}' "$TMP/pki/passwords.txt")
"$AGENT" keygen --out "$TMP/fleet" >/dev/null
PKG=${BB%.tflite}
"$AGENT" bundle --key "$TMP/fleet.sk" --name "$(basename "$PKG")" --version 1 --target cwru-gw \
    --out "$TMP/v1.bundle" "$PKG.tflite" "$PKG.dspcfg" "$PKG.json" >/dev/null

# ---- users, moted --fed with the console, the devices -------------------
U=$TMP/users.txt
ENG_PW="engineer-pass-1"
VIEW_PW="viewer-pass-22"
printf '%s\n' "$ENG_PW" | "$MOTE" user add erin --role engineer --users "$U" 2>"$TMP/err"
printf '%s\n' "$VIEW_PW" | "$MOTE" user add vic --role viewer --users "$U" 2>>"$TMP/err"
mkdir -p "$TMP/moted"
"$MOTED" --state "$TMP/moted" --fleet-key "$TMP/fleet.sk" --http 127.0.0.1:0 --broker "127.0.0.1:$PORT" \
    --user moted --pass "$MPASS" --tick-ms 100 --users "$U" --web "$ROOT/web" \
    --fed "$TMP/fed.json" --fed-out "$TMP/mqtt" --fed-deadline-ms 5000 --fed-devices $DEVICES \
    2>"$TMP/moted.log" &
PIDS+=("$!")
"$SIM" --broker "127.0.0.1:$PORT" --fleet-pk "$TMP/fleet.pk" --state "$TMP/state" --install "$TMP/v1.bundle" \
    --devices $DEVICES --prefix dev- --first 1 --data "$SHARED/data/cwru" --pass-file "$TMP/pki/passwords.txt" \
    --windows 20 --heartbeat 3600 --speed 0 --fed "$TMP/fed.json" >"$TMP/devices.txt" 2>"$TMP/devices.log" &
PIDS+=("$!")
wait_for 20 test -s "$TMP/moted/moted.http" || { echo "moted did not start"; cat "$TMP/moted.log"; exit 1; }
BASE="http://$(cat "$TMP/moted/moted.http")"
wait_for 10 curl -sf "$BASE/api/health" || { echo "moted not answering at $BASE"; exit 1; }

# ---- the page's API with sessions ---------------------------------------
# login USER PASSWORD JAR: the session cookie into JAR, the CSRF token out.
login() {
    curl -sf -c "$3" -H 'Content-Type: application/json' -d "{\"user\":\"$1\",\"password\":\"$2\"}" \
        "$BASE/api/login" | py 'import json, sys; print(json.load(sys.stdin)["csrf"])'
}
ECSRF=$(login erin "$ENG_PW" "$TMP/eng.jar")
VCSRF=$(login vic "$VIEW_PW" "$TMP/view.jar")
check "engineer and viewer log in" test -n "$ECSRF" -a -n "$VCSRF"
# post_rounds JAR CSRF BODY: status code of POST /api/fed/rounds, body in $TMP/body
post_rounds() {
    curl -s -o "$TMP/body" -w '%{http_code}' -b "$1" ${2:+-H "X-CSRF-Token: $2"} \
        -H 'Content-Type: application/json' -d "$3" "$BASE/api/fed/rounds"
}
check "GET /api/fed/rounds before any round: empty list" \
    bash -c "curl -sf -b '$TMP/view.jar' '$BASE/api/fed/rounds' | grep -qx '{\"rounds\": *\[\]}'"
check "a viewer cannot start rounds (403)" test "$(post_rounds "$TMP/view.jar" "$VCSRF" '{"rounds":1}')" = 403
check "a session write without the CSRF token is refused (403)" test "$(post_rounds "$TMP/eng.jar" "" '{"rounds":1}')" = 403
check "a bad value is refused naming it (400)" \
    bash -c "[ \"\$(curl -s -o '$TMP/bad' -w '%{http_code}' -b '$TMP/eng.jar' -H 'X-CSRF-Token: $ECSRF' -d '{\"min_clients\":0}' '$BASE/api/fed/rounds')\" = 400 ] && grep -q min_clients '$TMP/bad'"
# What the page's form sends when Rounds is 2 and the rest as configured.
CODE=$(post_rounds "$TMP/eng.jar" "$ECSRF" '{"rounds":2}')
check "the engineer's session queues rounds 1-2 (202, round 1, target 2)" py 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not (sys.argv[2] == "202" and d["round"] == 1 and d["target"] == 2))' "$TMP/body" "$CODE"
ROUNDS=$TMP/rounds.json
done_rounds() {
    curl -sf -b "$TMP/view.jar" "$BASE/api/fed/rounds" >"$ROUNDS" &&
        py 'import json, sys
r = [x for x in json.load(open(sys.argv[1]))["rounds"] if x["state"] != "open"]
sys.exit(len(r) < int(sys.argv[2]))' "$ROUNDS" "$1"
}
T1=$SECONDS
wait_for 40 done_rounds 2
check "two rounds finish over MQTT ($((SECONDS - T1)) s)" done_rounds 2
py 'import json, sys
for r in json.load(open(sys.argv[1]))["rounds"]:
    print("# round %s: %s, %s/%s updates, accuracy %s, %s B up, %s B down" % (r["round"], r["state"],
          r.get("reported"), r.get("clients"), r.get("accuracy"), r.get("bytes_up"), r.get("bytes_down")))' "$ROUNDS"
check "each round lists state done, accuracy in (0.25, 1], bytes up and down, start and end" py 'import json, sys
rs = json.load(open(sys.argv[1]))["rounds"]
ok = [r for r in rs if r["state"] == "done" and 0.25 < float(r["accuracy"]) <= 1 and r["bytes_up"] > 0
      and r["bytes_down"] > 0 and r["reported"] == r["clients"] == 4 and r["finished"] >= r["started"] > 0]
sys.exit(len(ok) != 2 or [r["round"] for r in rs] != [1, 2])' "$ROUNDS"
check "GET /api/fed: idle after round 2, global version 2" \
    bash -c "curl -sf -b '$TMP/view.jar' '$BASE/api/fed' | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (d[\"round\"] == 2 and not d[\"open\"] and d[\"version\"] == 2))'"

# ---- the page in a browser ----------------------------------------------
if ! command -v node >/dev/null || [ ! -x "$CHROMIUM" ]; then
    echo "# SKIP browser: node or chromium ($CHROMIUM) missing"
elif [ ! -d "$ROOT/tests/browser/node_modules/playwright-core" ] &&
    ! (cd "$ROOT/tests/browser" && { npm ci --offline --no-audit --no-fund >/dev/null 2>&1 ||
        npm ci --no-audit --no-fund >/dev/null 2>&1; }); then
    echo "# SKIP browser: cannot install tests/browser/node_modules"
else
    node "$ROOT/tests/browser/run.mjs" --scenario fed --base "$BASE" --artifacts "$ART" --user erin \
        --password "$ENG_PW" --chromium "$CHROMIUM" >"$TMP/browser.out" 2>&1
    sed 's/^/  /' "$TMP/browser.out"
    if grep -q '^[0-9]* passed, 0 failed$' "$TMP/browser.out"; then
        ok "browser: the federated page starts a round and shows it finished ($ART)"
    else
        not_ok "browser: the federated page" "$TMP/browser.out"
    fi
fi
check "no sanitizer report from moted or mote-sim" \
    bash -c "! grep -qE 'Sanitizer|runtime error:' '$TMP/moted.log' '$TMP/devices.log'"
echo "# test_console_fed.sh took $((SECONDS - T0)) s"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
