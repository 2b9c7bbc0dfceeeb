#!/bin/bash
# fleet-bench.sh: traffic and scale of the mote fleet on this machine.
#
# usage: scripts/fleet-bench.sh [--traffic] [--scale N[,N...]] [--events K]
#
# --traffic   bytes on the wire, event-driven reporting vs raw streaming:
#             100 devices replay 3,000 windows each (128 s of 12 kHz signal)
#             as fast as the CPU allows, first with a bearing fault on 10 of
#             them, then fault-free. The bytes the devices sent to the broker
#             (mosquitto's $SYS/broker/bytes/received, on a fresh broker, read
#             after the run) are compared with the same windows streamed raw
#             (int16 samples, 24 KB/s per device: computed). Reports faults
#             injected/reported and the false events of the fault-free run.
# --scale N   N simulated devices (one mote-sim process, one MQTT connection
#             each, plaintext listener with a password per device,
#             fleet-pki.sh --no-certs): time until all registered; a campaign
#             of v2 to all of them (one stage, 100 %), from its start until
#             every device reported `confirmed`; then sustained event
#             throughput: 20 publishers (each logged in as one device, with
#             its password) send K events each (QoS 1) while the N devices
#             stay connected; events/s stored by moted, and how many were lost.
# Default: --traffic --scale 1000,10000 --events 5000.
# Results on stdout and in $MOTE_BUILD/fleet-bench/results.txt; method and
# figures are in bench/RESULTS.md ("Fleet") and docs/fleet.md.
#   MOTE_BUILD (default build/), MOTE_NO_DEPS=1, MOTE_NO_BUILD=1 as in fleet-demo.sh
set -euo pipefail
. "$(dirname "$0")/common.sh"

TRAFFIC=0
SCALE=
K=5000
while [ $# -gt 0 ]; do
    case $1 in
        --traffic) TRAFFIC=1 ;;
        --scale) SCALE=${2:-}; shift ;;
        --events) K=${2:-}; shift ;;
        -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fleet-bench.sh: unknown option '$1'" >&2; sed -n '4p' "$0" >&2; exit 2 ;;
    esac
    shift
done
if [ "$TRAFFIC" = 0 ] && [ -z "$SCALE" ]; then
    TRAFFIC=1
    SCALE=1000,10000
fi
[[ -z $SCALE || $SCALE =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "fleet-bench.sh: --scale wants N[,N...]" >&2; exit 2; }
[[ $K =~ ^[0-9]+$ ]] || { echo "fleet-bench.sh: --events wants a number" >&2; exit 2; }

BUILD=${MOTE_BUILD:-$ROOT/build}
OUT=$BUILD/fleet-bench
FLEET_ROOT=$ROOT
FLEET_BIN=$BUILD
. "$ROOT/scripts/fleet-lib.sh"
[ -f "$SHARED/data/cwru/normal_0hp_097.f32" ] || { echo "fleet-bench.sh: no CWRU data in $SHARED/data/cwru" >&2; exit 1; }
SHARED=$(cd "$SHARED" && pwd)
[ "${MOTE_NO_DEPS:-0}" = 1 ] || "$ROOT/scripts/deps.sh"
if [ "${MOTE_NO_BUILD:-0}" != 1 ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DMOTE_SHARED_DIR="$SHARED" >/dev/null
    cmake --build "$BUILD" -j "$JOBS" --target mote moted mote-agent mote-sim >/dev/null
fi
rm -rf "$OUT"
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
trap 'fleet_cleanup' EXIT
trap 'echo "fleet-bench.sh: interrupted" >&2; exit 130' INT TERM
say() { echo "$*" | tee -a "$RESULTS"; }
say "# fleet-bench $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), open files $(ulimit -n)"

# the model: scripts/cwru.sh's package, or trained here
PKG=$BUILD/cwru/cwru4
if [ ! -s "$PKG/cwru4.tflite" ]; then
    mkdir -p "$BUILD/cwru"
    "$BUILD/mote" train "$ROOT/examples/cwru/config.json" --out "$PKG" --threads "$JOBS" >/dev/null
fi

# setup NAME N: fresh PKI, broker, moted, models v1 and v2 in $OUT/NAME.
# mote-sim needs 4 file descriptors per device and the hard limit here is
# $(ulimit -Hn): N devices are split over CHUNKS processes of <= 4,000.
setup() {
    FLEET_DIR=$OUT/$1
    FLEET_TLS=0
    local n=$2 c
    CHUNKS=$(((n + 3999) / 4000))
    CHUNK=$(((n + CHUNKS - 1) / CHUNKS))
    fleet_sim_mode
    fleet_pki "$((CHUNKS * CHUNK))" --no-certs
    if [ "$FLEET_SIM_PKI" = 0 ]; then
        for ((c = 0; c < CHUNKS; c++)); do fleet_sim_passwords "$(prefix $c)" "$CHUNK"; done
    fi
    fleet_broker
    fleet_moted --tick-ms 200 "${@:3}"
    fleet_register "$PKG" cwru4 1 >/dev/null
    fleet_register "$PKG" cwru4 2 >/dev/null
}
# prefix C: mote-sim process C's device prefix (fleet-pki's dev- when
# mote-sim takes --first; else one prefix per process, shared password)
prefix() { if [ "$CHUNKS" -gt 1 ] && [ "$FLEET_SIM_PKI" = 0 ]; then echo "s$1-"; else echo "$FLEET_SIM_PREFIX"; fi; }
teardown() {
    fleet_cleanup
    FLEET_SIM_PID=
    case ${SIM_STATE:-} in /dev/shm/mote-bench.*) rm -rf "$SIM_STATE" ;; esac
    SIM_STATE=
}
sim_field() { sed -n "s/.*$2.*/\\1/p" "$1" | head -n 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
health() { "$BUILD/mote" fleet --url "$FLEET_URL" --json health; }
moted_events() { health | fleet_json 'j["stats"]["events"]'; }

# ---- traffic ---------------------------------------------------------------
traffic_run() { # NAME FAULTS-ARGS...: one 100-device replay, prints bytes into the broker
    local name=$1
    shift
    local rx0 rx1
    read -r rx0 _ < <(fleet_broker_bytes)
    fleet_sim 100 "$OUT/traffic/$name" --state "$OUT/traffic/$name.state" \
        --install "$FLEET_DIR/moted/bundles/cwru4-1.bundle" --data "$SHARED/data/cwru" --windows 3000 --speed 0 \
        --heartbeat 60 --drain-s 30 "$@"
    wait "$FLEET_SIM_PID" || true
    FLEET_SIM_PID=
    sleep 11 # one $SYS interval (10 s) after the last byte
    read -r rx1 _ < <(fleet_broker_bytes)
    local f=$OUT/traffic/$name.out
    local wins bev bhb inj rep fa nev
    wins=$(sim_field "$f" 'windows \([0-9]*\), events')
    bev=$(sim_field "$f" 'traffic: events \([0-9]*\) B')
    bhb=$(sim_field "$f" 'heartbeats \([0-9]*\) B')
    nev=$(sim_field "$f" 'events \([0-9]*\) (anomaly')
    inj=$(sim_field "$f" 'faults: injected \([0-9]*\),')
    rep=$(sim_field "$f" 'reported \([0-9]*\), mean')
    fa=$(sim_field "$f" 'false alarms \([0-9]*\)')
    python3 - "$name" "$wins" "$bev" "$bhb" "$nev" "$inj" "$rep" "$fa" "$rx0" "$rx1" <<'EOF' | tee -a "$RESULTS"
import sys
name, wins, bev, bhb, nev, inj, rep, fa, rx0, rx1 = sys.argv[1], *map(int, sys.argv[2:])
raw16 = wins * 512 * 2
wire = rx1 - rx0
print(f"traffic {name}: 100 devices, {wins:,} windows = {wins * 512 / 12000:,.0f} device-seconds of signal; "
      f"faults injected {inj}, reported {rep}; false events {fa}; events {nev}")
print(f"  into the broker (all MQTT bytes: CONNECT, TD, state, events, heartbeats, acks): {wire:,} B")
print(f"  MQTT payloads: events {bev:,} B + heartbeats {bhb:,} B")
print(f"  raw int16 stream of the same windows: {raw16:,} B; float32: {2 * raw16:,} B")
print(f"  reduction vs raw int16: {100 * (1 - wire / raw16):.3f} % (wire), {100 * (1 - (bev + bhb) / raw16):.4f} % (payloads)")
EOF
}
if [ "$TRAFFIC" = 1 ]; then
    say ""
    say "## traffic: event-driven reporting vs raw streaming"
    setup traffic 100
    mkdir -p "$OUT/traffic"
    : >"$OUT/traffic/faults"
    recs=(IR007_0hp_105.f32 B007_0hp_118.f32 OR007_0hp_130.f32 IR021_0hp_209.f32 B021_0hp_222.f32)
    for ((k = 5, i = 0; k < 100; k += 10, i++)); do
        echo "$k $((400 + 50 * i)) fault ${recs[$((i % 5))]}" >>"$OUT/traffic/faults"
        echo "$k $((1400 + 50 * i)) normal" >>"$OUT/traffic/faults"
    done
    traffic_run faults --faults "$OUT/traffic/faults"
    traffic_run fault-free
    teardown
fi

# ---- scale -------------------------------------------------------------------
make_events() { # K ID-INDEX > lines: K valid event messages (seq 1..K)
    python3 - "$1" <<'EOF'
import json, sys, time
ts = int(time.time() * 1000)
for s in range(1, int(sys.argv[1]) + 1):
    print(json.dumps({"seq": 1000000 + s, "ts": ts + s, "kind": "anomaly", "model": {"name": "cwru4", "version": 2},
        "score": 134.934, "threshold": 2.347, "class": "normal",
        "explain": [{"feature": "band 2000-2125 Hz", "share": 0.186}, {"feature": "band 1000-1125 Hz", "share": 0.092},
                    {"feature": "band 3250-3375 Hz", "share": 0.077}, {"feature": "band 3500-3625 Hz", "share": 0.064}],
        "summary": [{"name": "rms", "value": 0.1393}, {"name": "peak", "value": 0.4818}, {"name": "crest", "value": 3.459},
                    {"name": "kurtosis", "value": 3.078}, {"name": "confidence", "value": 0.9961}]},
        separators=(",", ":")))
EOF
}
scale_run() {
    local n=$1
    say ""
    say "## scale: $n devices"
    setup "scale-$n" "$n"
    # The simulated devices' own storage (slots, queues, state files) goes
    # to tmpfs when there is one: on the one shared disk, 10,000 devices'
    # renames and opens (1-2 ms each here) would serialize in mote-sim and
    # measure the simulator instead of moted. moted's store and ledger stay
    # on disk. MOTE_SIM_STATE overrides.
    SIM_STATE=${MOTE_SIM_STATE:-}
    if [ -z "$SIM_STATE" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
        SIM_STATE=$(mktemp -d /dev/shm/mote-bench.XXXXXX)
    fi
    SIM_STATE=${SIM_STATE:-$FLEET_DIR}
    say "  simulated devices' storage: $SIM_STATE ($(df --output=fstype "$SIM_STATE" | tail -n 1 | tr -d ' ')); moted's store and ledger: $FLEET_DIR"
    local t0 t_reg
    t0=$(now)
    local c sims=() outs=() pfx=$FLEET_SIM_PREFIX first=$FLEET_SIM_FIRST
    for ((c = 0; c < CHUNKS; c++)); do
        FLEET_SIM_PREFIX=$(prefix $c)
        [ "$FLEET_SIM_PKI" = 1 ] && FLEET_SIM_FIRST=$((1 + c * CHUNK))
        fleet_sim "$CHUNK" "$FLEET_DIR/sim$c" --state "$SIM_STATE/sim$c" \
            --install "$FLEET_DIR/moted/bundles/cwru4-1.bundle" --data "$SHARED/data/cwru" --windows 100000000 \
            --speed "$(python3 -c "print(min(0.02, 20 / $n))")" --heartbeat 60
        sims+=("$FLEET_SIM_PID")
        outs+=("$FLEET_DIR/sim$c")
    done
    FLEET_SIM_PREFIX=$pfx FLEET_SIM_FIRST=$first
    n=$((CHUNKS * CHUNK))
    ready() { local o; for o in "${outs[@]}"; do grep -q "devices ready" "$o.err" || return 1; done; }
    fleet_wait 1200 ready || true
    local t_ready
    t_ready=$(elapsed "$t0")
    is_n() { [ "$(fleet_devices)" = "$n" ]; }
    if ! fleet_wait 600 is_n; then
        say "  only $(fleet_devices) of $n devices registered after 600 s (sim: $(tail -n 2 "${outs[0]}.err" | tr '\n' ' '))"
        for FLEET_SIM_PID in "${sims[@]}"; do fleet_sim_stop; done
        teardown
        return 1
    fi
    t_reg=$(elapsed "$t0")
    local fds=0 p
    for p in "${sims[@]}"; do fds=$((fds + $(ls "/proc/$p/fd" 2>/dev/null | wc -l))); done
    say "  $CHUNKS mote-sim process(es): devices provisioned and ready after $t_ready s; all $n registered at moted after $t_reg s (mote-sim holds $fds file descriptors)"

    # campaign to every device, one stage
    fleet_cli --json campaign create --model cwru4 --version 2 --group default --stages 100 --max-fail 0 \
        --timeout 300 >"$FLEET_DIR/campaign.json"
    local cid
    cid=$(fleet_json 'j["id"]' <"$FLEET_DIR/campaign.json")
    t0=$(now)
    not_running() { [ "$(fleet_campaign_state "$cid")" != running ]; }
    fleet_wait 600 not_running || true
    local wall
    wall=$(elapsed "$t0")
    fleet_cli --json campaign show "$cid" >"$FLEET_DIR/campaign.json"
    python3 - "$FLEET_DIR/campaign.json" "$n" "$wall" <<'EOF' | tee -a "$RESULTS"
import json, sys
c = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
conf = [d["updated"] for d in c["devices"] if d["state"] == "confirmed"]
by = {}
for d in c["devices"]:
    by[d["state"]] = by.get(d["state"], 0) + 1
t = (max(conf) - c["created"]) / 1000 if conf else float("nan")
half = sorted(conf)[len(conf) // 2 - 1] if conf else c["created"]
print(f"  campaign v2 to {n} devices (1 stage): state {c['state']}, " + ", ".join(f"{v} {k}" for k, v in by.items()) +
      f"; last device confirmed {t:.1f} s after the start (half of them by {(half - c['created']) / 1000:.1f} s; "
      f"polled {sys.argv[3]} s){'  < 60 s: yes' if len(conf) == n and t < 60 else '  < 60 s: NO'}")
EOF

    # sustained event throughput: 20 publishers, K events each, QoS 1
    local pubs=20 e0 e1 d0 total=$((20 * K))
    mkdir -p "$FLEET_DIR/evt"
    make_events "$K" >"$FLEET_DIR/evt/lines"
    e0=$(moted_events)
    d0=$(health | fleet_json 'j["stats"]["duplicates"]')
    t0=$(now)
    local ids pids=()
    ids=$(head -n $pubs "$FLEET_DIR/pki/devices.txt")
    # publishers log in as the first devices (their own topics, their own
    # passwords); with fleet-pki ids those are simulated devices too, so
    # their events carry seq numbers far above the simulator's (no clash)
    for id in $ids; do
        pw=$(awk -v id="$id" '$1 == id { print $2 }' "$FLEET_DIR/pki/passwords.txt")
        mosquitto_pub -h 127.0.0.1 -p "$FLEET_PORT" -u "$id" -P "$pw" -i "bench-$id" -q 1 \
            -t "mote/v1/d/$id/evt" -l <"$FLEET_DIR/evt/lines" 2>>"$FLEET_DIR/evt/pub.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    local t_pub
    t_pub=$(elapsed "$t0")
    all_in() { [ $(($(moted_events) - e0)) -ge "$total" ]; }
    fleet_wait 300 all_in || true
    local t_all
    t_all=$(elapsed "$t0")
    sleep 2
    e1=$(moted_events)
    local got=$((e1 - e0)) stored
    stored=$(python3 - "$FLEET_DIR/moted/moted.db" $ids <<'EOF'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
q = "SELECT count(*) FROM events WHERE seq > 1000000 AND device IN (%s)" % ",".join("?" * len(sys.argv[2:]))
print(db.execute(q, sys.argv[2:]).fetchone()[0])
EOF
)
    python3 - "$total" "$got" "$stored" "$t_pub" "$t_all" "$n" "$K" <<'EOF' | tee -a "$RESULTS"
import sys
total, got, stored = map(int, sys.argv[1:4])
tp, ta = float(sys.argv[4]), float(sys.argv[5])
print(f"  events: 20 publishers x {sys.argv[7]} = {total:,} (QoS 1, 516 B each) while {sys.argv[6]} devices stay connected: "
      f"published in {tp:.1f} s, all stored by moted after {ta:.1f} s -> {total / ta:,.0f} events/s sustained; "
      f"stored {got:,} (rows {stored:,}), lost {total - min(got, total):,}")
EOF
    say "  moted: $(health | fleet_json 'j["stats"]') (duplicates during the burst: $(($(health | fleet_json 'j["stats"]["duplicates"]') - d0)))"
    for FLEET_SIM_PID in "${sims[@]}"; do fleet_sim_stop; done
    for o in "${outs[@]}"; do say "  mote-sim: $(grep -E '^time:' "$o.out" || true)"; done
    teardown
}
if [ -n "$SCALE" ]; then
    for n in ${SCALE//,/ }; do scale_run "$n" || true; done
fi
echo "results in $RESULTS"
