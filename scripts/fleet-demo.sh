#!/bin/bash
# fleet-demo.sh: the whole mote fleet on this machine, end to end.
#
# usage: scripts/fleet-demo.sh [--devices N] [--keep] [--speed X]
#        scripts/fleet-demo.sh --stop        (stop what --keep left running)
#
#  1. builds mote, moted, mote-agent, mote-sim (Release, in $MOTE_BUILD,
#     default build/) and trains the CWRU 4-class model with the pipeline
#     (reuses build/cwru/cwru4 from scripts/cwru.sh when it is there);
#  2. makes a fleet key (mote key gen) and the broker's PKI
#     (scripts/fleet-pki.sh: CA, broker and client certificates, passwords,
#     ACL) and starts mosquitto with TLS (scripts/broker.sh --tls);
#  3. starts moted (TLS client certificate, HTTP API on 127.0.0.1, the web
#     console) and registers the trained package as cwru4 v1 and v2
#     (bundles signed with the fleet key);
#  4. starts mote-sim: N simulated devices (default 100) replaying the real
#     CWRU recordings at X times real time (default 5), every device on the
#     factory model v1; 10 % of them get a bearing fault (inner race, ball,
#     outer race recordings, or a gain drift) at known windows;
#  5. waits until every device registered and every fault was reported,
#     then deploys v2 as a STAGED campaign (10 %, 50 %, 100 %, stop on any
#     failure);
#  6. prints events with their explanations, a few twins (desired vs
#     reported), the campaign's stages, the ledger (verified under the fleet
#     key) and a summary: devices, faults injected/reported, false alarms,
#     campaign result and time, ledger entries, bytes on the wire vs the raw
#     signal.
# Everything it started is stopped on exit, also on Ctrl-C, unless --keep:
# then moted (with the console), the broker and the devices (at real time)
# keep running, and the URL and a login are printed.
# Work folder: $MOTE_BUILD/fleet-demo (replaced at each run).
#   MOTE_NO_DEPS=1   skip scripts/deps.sh;  MOTE_NO_BUILD=1 use the binaries as they are
# Exit status 0 when every check above holds, 1 otherwise, 2 usage error.
set -euo pipefail
. "$(dirname "$0")/common.sh"

usage() {
    sed -n '4,5p' "$0" | sed 's/^# *//' >&2
    exit 2
}
N=100
KEEP=0
SPEED=5
STOP=0
while [ $# -gt 0 ]; do
    case $1 in
        --devices) N=${2:-}; shift ;;
        --speed) SPEED=${2:-}; shift ;;
        --keep) KEEP=1 ;;
        --stop) STOP=1 ;;
        -h | --help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fleet-demo.sh: unknown option '$1'" >&2; usage ;;
    esac
    shift
done
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 10 ] && [ "$N" -le 5000 ] || { echo "fleet-demo.sh: --devices wants 10..5000" >&2; exit 2; }
[[ $SPEED =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "fleet-demo.sh: --speed wants a number" >&2; exit 2; }

BUILD=${MOTE_BUILD:-$ROOT/build}
OUT=$BUILD/fleet-demo
FLEET_ROOT=$ROOT
FLEET_BIN=$BUILD
FLEET_DIR=$OUT
. "$ROOT/scripts/fleet-lib.sh"

# ---- --stop: end a demo left running by --keep ------------------------
stop_kept() {
    [ -f "$OUT/kept.pids" ] || return 0
    local p
    for p in $(cat "$OUT/kept.pids"); do
        # only our own processes: the pid must still run one of our binaries
        case $(readlink "/proc/$p/exe" 2>/dev/null) in
            "$BUILD"/moted | "$BUILD"/mote-sim) kill -TERM "$p" 2>/dev/null || true ;;
        esac
    done
    sleep 1
    "$ROOT/scripts/broker.sh" stop "$OUT/pki" 2>/dev/null || true
    rm -f "$OUT/kept.pids"
    echo "fleet-demo.sh: stopped the demo in $OUT" >&2
}
if [ "$STOP" = 1 ]; then
    stop_kept
    exit 0
fi

T_START=$SECONDS
step() { printf '\n== %s\n' "$*"; }
die() {
    echo "fleet-demo.sh: $*" >&2
    exit 1
}

# ---- 1. build and train -------------------------------------------------
[ -f "$SHARED/data/cwru/normal_0hp_097.f32" ] || die "no CWRU data in $SHARED/data/cwru (set MOTE_SHARED_DIR)"
SHARED=$(cd "$SHARED" && pwd)
[ "${MOTE_NO_DEPS:-0}" = 1 ] || "$ROOT/scripts/deps.sh"
stop_kept
step "1/7 build and train (pipeline)"
if [ "${MOTE_NO_BUILD:-0}" != 1 ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMOTE_SHARED_DIR="$SHARED" >/dev/null
    cmake --build "$BUILD" -j "$JOBS" --target mote moted mote-agent mote-sim >"$BUILD/fleet-demo-build.log" 2>&1 ||
        { tail -n 30 "$BUILD/fleet-demo-build.log" >&2; die "build failed"; }
fi
for b in mote moted mote-sim; do [ -x "$BUILD/$b" ] || die "$BUILD/$b not built"; done
rm -rf "$OUT"
mkdir -p "$OUT"
trap 'fleet_cleanup' EXIT
trap 'echo; echo "fleet-demo.sh: interrupted" >&2; exit 130' INT TERM

PKG=$BUILD/cwru/cwru4
if [ ! -s "$PKG/cwru4.tflite" ] || [ "$ROOT/examples/cwru/config.json" -nt "$PKG/cwru4.tflite" ]; then
    cfg=$ROOT/examples/cwru/config.json
    if [ "$SHARED" != "$(cd "$ROOT/.." && pwd)/shared" ]; then
        mkdir -p "$OUT/train"
        sed "s|\"base_dir\": *\"[^\"]*\"|\"base_dir\": \"$SHARED/data/cwru\"|" "$ROOT/examples/cwru/dataset.json" >"$OUT/train/dataset.json"
        cp "$cfg" "$OUT/train/config.json"
        cfg=$OUT/train/config.json
    fi
    mkdir -p "$(dirname "$PKG")"
    "$BUILD/mote" train "$cfg" --out "$PKG" --threads "$JOBS" >"$OUT/train.txt" 2>"$OUT/train.err" ||
        { cat "$OUT/train.err" >&2; die "mote train failed"; }
    head -n 1 "$OUT/train.txt"
else
    echo "reusing $PKG (scripts/cwru.sh's output)"
fi
python3 - "$PKG/metrics.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
s = m["summary"]
rb = m["evaluation"]["report_b"]
n = next(c for c in rb["per_class"] if c["name"] == "normal")
print(f'model cwru4: int8 test accuracy {100*s["int8"]:.2f} %, flash {s["flash_bytes"]} B, arena {s["arena_bytes"]} B; '
      f'normal windows classified as a fault: {n["support"] - round(n["recall"] * n["support"])} of {n["support"]}')
EOF

# ---- 2. key, PKI, broker with TLS ----------------------------------------
step "2/7 fleet key, PKI and broker"
FLEET_TLS=0
fleet_sim_mode
if [ "$FLEET_SIM_PKI" = 1 ] && fleet_sim_has --cafile && fleet_sim_has --cert-dir; then FLEET_TLS=1; fi
if [ "$FLEET_TLS" = 1 ]; then fleet_pki "$N"; else fleet_pki "$N" --no-certs; fi || die "fleet-pki.sh failed"
[ "$FLEET_SIM_PKI" = 1 ] || fleet_sim_passwords "$FLEET_SIM_PREFIX" "$N"
sed -n 's/^mote: //p' "$OUT/key.txt"
if [ "$FLEET_TLS" = 1 ]; then
    fleet_broker --tls || die "broker did not start"
    echo "mosquitto on 127.0.0.1:$FLEET_PORT, TLS with client certificates (fleet CA, CN = device id), ACL per device"
else
    fleet_broker || die "broker did not start"
    echo "mosquitto on 127.0.0.1:$FLEET_PORT, passwords + ACL per device"
    echo "(this mote-sim has no --cafile/--cert-dir: devices use the password listener, not TLS)"
fi

# ---- 3. moted, console, models ---------------------------------------------
step "3/7 moted, console and models"
CONSOLE=()
ADMIN_PW=
if "$BUILD/moted" --help 2>&1 | grep -q -- "--web" && [ -f "$ROOT/web/index.html" ]; then
    ADMIN_PW=$(od -An -tx1 -N9 /dev/urandom | tr -d ' \n')
    printf '%s\n' "$ADMIN_PW" | "$BUILD/mote" user add admin --role admin --users "$OUT/users" >/dev/null 2>&1 &&
        CONSOLE=(--web "$ROOT/web" --users "$OUT/users" --datasets "$ROOT/examples")
fi
GRAPH=()
if "$BUILD/moted" --help 2>&1 | grep -q -- "--graph"; then GRAPH=(--graph "$OUT/graph"); fi
fleet_moted --tick-ms 100 --resend-ms 3000 "${CONSOLE[@]}" "${GRAPH[@]}" || die "moted did not start (log: $OUT/moted.log)"
echo "moted: API $FLEET_URL$([ ${#CONSOLE[@]} -gt 0 ] && echo ", web console $FLEET_URL/")$([ ${#GRAPH[@]} -gt 0 ] && echo ", knowledge graph (TDs, model cards, deployments)")"
fleet_register "$PKG" cwru4 1 || die "registering v1 failed"
fleet_register "$PKG" cwru4 2 || die "registering v2 failed"

# ---- 4. devices ----------------------------------------------------------
step "4/7 $N simulated devices replaying CWRU with injected faults"
recs=(IR007_0hp_105.f32 B007_0hp_118.f32 OR007_0hp_130.f32 IR021_0hp_209.f32 B021_0hp_222.f32 OR021_0hp_234.f32)
: >"$OUT/faults"
nf=0
last_win=0
for ((k = 3; k < N; k += 10)); do
    w=$((300 + (k * 37) % 300))
    if [ $((nf % 5)) -eq 4 ]; then
        echo "$k $w drift 4 40" >>"$OUT/faults"
        what="gain drift x4 over 40 windows"
    else
        r=${recs[$((nf % ${#recs[@]}))]}
        echo "$k $w fault $r" >>"$OUT/faults"
        what="recording ${r%.f32}"
    fi
    echo "$k $((w + 400)) normal" >>"$OUT/faults"
    [ $nf -lt 6 ] && echo "  device #$k from window $w to $((w + 400)): $what"
    nf=$((nf + 1))
    [ $w -gt $last_win ] && last_win=$w
done
echo "  ... $nf faults in all ($OUT/faults)"
# devices that announce too little RAM for the model's arena (the graph's
# compatibility check must leave them out of the campaign)
SMALL=()
NSMALL=0
if fleet_sim_has --small-ram; then
    NSMALL=$((N / 20))
    SMALL=(--small-ram "$NSMALL:256")
    echo "  the last $NSMALL devices announce 256 bytes of RAM for the model arena (cwru4 needs 544)"
fi
# windows enough for ~40 min of wall time; the demo stops the simulator itself
fleet_sim "$N" "$OUT/sim" --state "$OUT/sim" --install "$OUT/moted/bundles/cwru4-1.bundle" \
    --data "$SHARED/data/cwru" --windows 10000000 --speed "$SPEED" --heartbeat 10 --faults "$OUT/faults" "${SMALL[@]}"
is_n() { [ "$(fleet_devices)" = "$N" ]; }
t0=$SECONDS
fleet_wait 120 is_n || die "only $(fleet_devices) of $N devices registered (see $OUT/sim.err)"
echo "all $N devices registered in $((SECONDS - t0)) s (Thing Descriptions: class, RAM, flash, sensors)"

# every fault device must have reported an anomaly or a class change
faulty=$(awk '$3 != "normal" { print $1 }' "$OUT/faults" | sort -un | tr '\n' ' ')
reported() {
    fleet_events_json "$OUT/events.json"
    python3 - "$OUT/events.json" "$FLEET_SIM_FIRST" "$faulty" <<'EOF'
import json, sys
ev = json.load(open(sys.argv[1]))
want = {int(k) for k in sys.argv[3].split()}
got = set()
for e in ev:
    if e["kind"] in ("anomaly", "class"):
        got.add(int(e["device"][-4:]) - int(sys.argv[2]))
sys.exit(0 if want <= got else 1)
EOF
}
wait_s=$(python3 -c "print(int(($last_win + 50) * 512 / 12000 / $SPEED + 60))")
t0=$SECONDS
if fleet_wait "$wait_s" reported; then
    echo "every injected fault reported as an event ($((SECONDS - t0)) s)"
else
    echo "NOT every injected fault was reported within $wait_s s"
fi

# ---- 5. staged campaign ----------------------------------------------------
step "5/7 campaign: cwru4 v2, stages 10 % -> 50 % -> 100 %"
TARGET=(--group default)
NREFUSED=0
# devices that can (not) run cwru4: RAM >= the model's arena, flash >= its flash
Q_FIT='PREFIX mote: <https://w3id.org/mote#> PREFIX schema: <https://schema.org/>
SELECT ?id WHERE { ?m schema:name ?n ; mote:arenaBytes ?arena ; mote:flashBytes ?flash .
  ?d mote:deviceId ?id ; mote:ramBytes ?ram ; mote:flashBytes ?dflash .
  FILTER (str(?n) = "cwru4" && ?arena <= ?ram && ?flash <= ?dflash) } GROUP BY ?id ORDER BY ?id'
Q_UNFIT='PREFIX mote: <https://w3id.org/mote#> PREFIX schema: <https://schema.org/>
SELECT ?id ?ram ?dflash ?arena ?flash WHERE { ?m schema:name ?n ; mote:arenaBytes ?arena ; mote:flashBytes ?flash .
  ?d mote:deviceId ?id ; mote:ramBytes ?ram ; mote:flashBytes ?dflash .
  FILTER (str(?n) = "cwru4" && (?arena > ?ram || ?flash > ?dflash)) } ORDER BY ?id'
fleet_sparql() {
    python3 - "$FLEET_URL/sparql" "$FLEET_TOKEN" "$1" <<'EOF'
import sys, urllib.parse, urllib.request
r = urllib.request.Request(sys.argv[1] + "?" + urllib.parse.urlencode({"query": sys.argv[3], "format": "json"}),
                           headers={"Authorization": "Bearer " + sys.argv[2]})
sys.stdout.write(urllib.request.urlopen(r, timeout=60).read().decode())
EOF
}
if [ ${#GRAPH[@]} -gt 0 ] && [ ${#CONSOLE[@]} -gt 0 ]; then
    card_v=$(fleet_json 'j["version"]' <"$PKG/cwru4.json")
    if fleet_get "/api/compat?model=cwru4@$card_v" >"$OUT/compat.json" 2>"$OUT/compat.err"; then
        python3 - "$OUT/compat.json" >"$OUT/compat.txt" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
ok = [d["id"] for d in c["devices"] if d["compatible"]]
no = [d for d in c["devices"] if not d["compatible"]]
print(",".join(ok))
print(len(no))
print(f'knowledge graph: {len(ok)} of {len(c["devices"])} devices can run {c["model"]}; refused:')
for d in no[:8]:
    print(f'  {d["id"]}: ' + "; ".join(d["reasons"]))
if len(no) > 8:
    print(f'  ... and {len(no) - 8} more')
EOF
        TARGET=(--devices "$(sed -n 1p "$OUT/compat.txt")")
        NREFUSED=$(sed -n 2p "$OUT/compat.txt")
        sed -n '3,$p' "$OUT/compat.txt"
    elif fleet_sparql "$Q_FIT" >"$OUT/fit.json" 2>"$OUT/fit.err" && fleet_sparql "$Q_UNFIT" >"$OUT/unfit.json"; then
        # this moted's console has no compat check: ask the graph directly and
        # target the campaign by the same SPARQL query
        TARGET=(--sparql "$Q_FIT")
        python3 - "$OUT/fit.json" "$OUT/unfit.json" >"$OUT/compat.txt" <<'EOF'
import json, sys
fit = json.load(open(sys.argv[1]))["results"]["bindings"]
no = json.load(open(sys.argv[2]))["results"]["bindings"]
v = lambda b, k: b[k]["value"]
print(len(no))
print(f"knowledge graph (SPARQL over /sparql): {len(fit)} of {len(fit) + len(no)} devices can run cwru4; left out:")
for b in no[:8]:
    print(f'  {v(b, "id")}: needs {v(b, "arena")} B of RAM for its arena and {v(b, "flash")} B of flash; '
          f'the device announces {v(b, "ram")} B and {v(b, "dflash")} B')
if len(no) > 8:
    print(f"  ... and {len(no) - 8} more")
EOF
        NREFUSED=$(sed -n 1p "$OUT/compat.txt")
        sed -n '2,$p' "$OUT/compat.txt"
    else
        echo "(no compatibility check available: $(tail -n 1 "$OUT/compat.err"); targeting the group)"
    fi
fi
fleet_cli --json campaign create --model cwru4 --version 2 "${TARGET[@]}" --stages 10,50,100 --max-fail 0 \
    --timeout 120 >"$OUT/campaign.json" || die "campaign refused"
CID=$(fleet_json 'j["id"]' <"$OUT/campaign.json")
t0=$(date +%s.%N)
not_running() { [ "$(fleet_campaign_state "$CID")" != running ]; }
fleet_wait 400 not_running || true
CSTATE=$(fleet_campaign_state "$CID")
fleet_cli --json campaign show "$CID" >"$OUT/campaign.json"
CSECS=$(python3 -c "import json; c=json.load(open('$OUT/campaign.json')); print('%.1f' % ((c['updated'] - c['created']) / 1000))")
python3 - "$OUT/campaign.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
print(f'campaign {c["id"]}: {c["model"]} v{c["version"]}, state {c["state"]}, gate: max {c["max_fail_pct"]} % failed')
stages = c["stages"]
for i, pct in enumerate(stages):
    ds = [d for d in c["devices"] if d["stage"] == i]
    by = {}
    for d in ds:
        by[d["state"]] = by.get(d["state"], 0) + 1
    t = [d["updated"] for d in ds if d["state"] == "confirmed"]
    span = f', last confirmed {(max(t) - c["created"]) / 1000:.1f} s after start' if t else ''
    print(f'  stage {i + 1}: up to {pct:3d} % -> {len(ds):4d} devices: ' +
          ', '.join(f'{v} {k}' for k, v in sorted(by.items())) + span)
bad = [d for d in c["devices"] if d["state"] != "confirmed"]
for d in bad[:10]:
    print(f'  {d["device"]}: {d["state"]} {d["reason"]}')
if c.get("reason"):
    print("  reason:", c["reason"])
EOF
sleep 2

# ---- 6. what the fleet said ------------------------------------------------
step "6/7 events (with explanations) and twins"
fleet_events_json "$OUT/events.json"
python3 - "$OUT/events.json" <<'EOF'
import json, sys, time
ev = json.load(open(sys.argv[1]))
kinds = {}
for e in ev:
    kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
print(f'{len(ev)} events stored by moted: ' + ', '.join(f'{v} {k}' for k, v in sorted(kinds.items())))
shown = 0
for e in ev:
    if e["kind"] not in ("anomaly", "class") or shown >= 6:
        continue
    b = e["body"]
    t = time.strftime("%H:%M:%S", time.gmtime(e["ts"] / 1000))
    if e["kind"] == "anomaly":
        what = f'anomaly: score {b["score"]:.1f} > threshold {b["threshold"]:.2f}, class {b.get("class", "?")}'
    else:
        what = f'class {b.get("prev_class", "?")} -> {b["class"]}'
    print(f'  {t} {e["device"]} {what} (model {b["model"]["name"]} v{b["model"]["version"]})')
    ex = ", ".join(f'{x["feature"]} {100 * x["share"]:.0f} %' for x in b.get("explain", []))
    if ex:
        print(f'           why: {ex}')
    sm = ", ".join(f'{x["name"]} {x["value"]:.3g}' for x in b.get("summary", []))
    if sm:
        print(f'           window: {sm}')
    shown += 1
EOF
first_fault=$(awk '$3 != "normal" { print $1; exit }' "$OUT/faults")
devs="$(fleet_sim_id 0) $(fleet_sim_id "$first_fault") $(fleet_sim_id $((N - 1)))"
for d in $devs; do
    echo "-- twin $d"
    fleet_cli twin "$d" | sed 's/^/   /'
done

# ---- 7. stop the devices, ledger, summary ------------------------------------
step "7/7 ledger and summary"
read -r B_RX0 B_TX0 < <(fleet_broker_bytes) || true
fleet_sim_stop
LEDGER=$OUT/moted/ledger.jsonl
LEDGER_OK=0
"$BUILD/mote" ledger verify "$LEDGER" --pk "$OUT/fleet.pk" >"$OUT/ledger.verify" 2>&1 && LEDGER_OK=1
cat "$OUT/ledger.verify"
"$BUILD/mote" ledger show "$LEDGER" >"$OUT/ledger.txt" 2>&1 || true
NLEDGER=$(wc -l <"$LEDGER")
echo "ledger: $NLEDGER entries; the last 5:"
tail -n 5 "$OUT/ledger.txt" | cut -c1-150 | sed 's/^/   /'
python3 - "$LEDGER" <<'EOF2'
import json, sys
k = {}
for line in open(sys.argv[1]):
    kind = json.loads(line)["kind"]
    k[kind] = k.get(kind, 0) + 1
print("   kinds: " + ", ".join(f"{v} {n}" for n, v in sorted(k.items())))
EOF2

python3 - "$OUT" "$N" "$nf" "$CSTATE" "$CSECS" "$NLEDGER" "$LEDGER_OK" "${B_RX0:-0}" "${B_TX0:-0}" "$FLEET_TLS" \
    "$NSMALL" "$NREFUSED" <<'EOF' | tee "$OUT/summary.txt"
import json, re, sys
out, n, nf, cstate, csecs, nled, led_ok, brx, btx, tls, nsmall, nref = sys.argv[1:]
sim = open(out + "/sim.out").read()
def grab(rx, cast=int):
    m = re.search(rx, sim)
    return cast(m.group(1)) if m else None
inj = grab(r"faults: injected (\d+)")
rep = grab(r"reported (\d+), mean")
lat = grab(r"mean latency ([\d.]+)", float)
fa = grab(r"false alarms (\d+)")
wins = grab(r"windows (\d+), events")
bev = grab(r"traffic: events (\d+) B")
bhb = grab(r"heartbeats (\d+) B")
nev = grab(r"events (\d+) \(anomaly")
waiting = grab(r"waiting (\d+)")
c = json.load(open(out + "/campaign.json"))
conf = sum(d["state"] == "confirmed" for d in c["devices"])
raw16 = wins * 512 * 2  # the sensor's int16 samples for every window replayed
reduction = 100 * (1 - (bev + bhb) / raw16)
print()
print("== summary")
print(f"devices registered   {n} ({'TLS client certificates' if tls == '1' else 'passwords'}, one MQTT connection each)")
print(f"signal replayed      {wins:,} windows of 512 new samples = {wins * 512 / 12000 / 3600:.1f} h of 12 kHz vibration")
print(f"faults               injected {inj}, reported {rep} (mean latency {lat} windows = {lat * 512 / 12:.0f} ms of signal)")
print(f"false alarms         {fa} (anomaly/class events on devices before any fault)")
print(f"events               {nev} sent, {waiting} still waiting for PUBACK")
print(f"campaign             {cstate}: {conf} of {len(c['devices'])} devices confirmed v{c['version']} in {csecs} s (stages {c['stages']})")
if int(nsmall):
    print(f"compatibility        {nref} devices left out by the knowledge graph ({nsmall} announce too little RAM)")
print(f"ledger               {nled} entries, {'verified' if led_ok == '1' else 'DOES NOT VERIFY'} under the fleet key")
print(f"bytes, devices       events {bev:,} B + heartbeats {bhb:,} B (MQTT payloads)")
print(f"bytes, raw signal    {raw16:,} B as int16 samples (24 KB/s per device)")
print(f"reduction            {reduction:.3f} % (goal >= 99.9 %)")
if int(brx):
    print(f"broker, all traffic  received {int(brx):,} B, sent {int(btx):,} B (incl. TDs, state, OTA chunks; $SYS, 10 s old)")
ok = rep == inj and inj == int(nf) and cstate == "done" and conf == len(c["devices"]) and led_ok == "1" and reduction >= 99.9
ok = ok and int(nref) == int(nsmall) if int(nref) or int(nsmall) else ok
print("result               " + ("OK" if ok else "FAILED"))
sys.exit(0 if ok else 1)
EOF
RC=${PIPESTATUS[0]}
echo "($(( SECONDS - T_START )) s; logs and state in $OUT)"

if [ "$KEEP" = 1 ]; then
    # devices back at real time, so the console shows a live fleet
    fleet_sim "$N" "$OUT/sim-live" --state "$OUT/sim" --install "$OUT/moted/bundles/cwru4-1.bundle" \
        --data "$SHARED/data/cwru" --windows 100000000 --speed 1 --heartbeat 10
    echo "$FLEET_MOTED_PID $FLEET_SIM_PID" >"$OUT/kept.pids"
    FLEET_PIDS=()
    FLEET_BROKER_UP=0
    echo
    echo "kept running: moted (pid $FLEET_MOTED_PID), mote-sim (pid $FLEET_SIM_PID, real time), mosquitto"
    if [ ${#CONSOLE[@]} -gt 0 ]; then
        echo "web console: $FLEET_URL/   login: admin / $ADMIN_PW"
    fi
    echo "API:         $BUILD/mote fleet --url $FLEET_URL --token-file $OUT/tokens devices"
    echo "stop with:   scripts/fleet-demo.sh --stop"
fi
exit "$RC"
