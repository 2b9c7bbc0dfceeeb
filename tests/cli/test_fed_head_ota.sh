#!/bin/bash
# The federated head deploys through the signed OTA path (issue 8;
# docs/federated.md "Deploying the federated head"). Real mosquitto, moted
# and mote-sim with 4 devices:
#   - moted --fed runs 3 plain rounds with the devices (backbone v1 installed);
#   - `mote fed package` joins the backbone package and global_final.motl
#     (signature verified with the fleet key, pooled standardization added),
#     refusing a wrong signature, a head of the wrong width, no statistics;
#   - the package is registered as v2 and a campaign brings it to every
#     device: all confirm v2, their class events come from the head
#     (head_version in the event summary) and name the right class for the
#     device streaming an inner-race fault, none for the normal ones;
#   - a head of the wrong shape (v3) is refused by the devices, which roll
#     back with the reason, and the campaign aborts;
#   - `mote ledger verify` passes; the ledger holds every round and the deploys.
. "$(dirname "$0")/lib.sh"
set +m
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "$(dirname "$MOTE")" && pwd)
for t in mosquitto mosquitto_passwd python3; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; echo "0 passed, 0 failed"; exit 0; }
done
for b in moted mote-sim; do [ -x "$BIN/$b" ] || { echo "$b not built in $BIN"; echo "0 passed, 1 failed"; exit 1; }; done
[ -f "$SHARED/data/cwru/normal_0hp_097.f32" ] || { echo "no CWRU data in $SHARED"; echo "0 passed, 1 failed"; exit 1; }
export MOTE_SHARED_DIR=$SHARED

FLEET_ROOT=$ROOT
FLEET_BIN=$BIN
FLEET_DIR=$TMP/fleet
. "$ROOT/scripts/fleet-lib.sh"
cleanup() {
    fleet_cleanup
    [ -n "${KEEP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
check() {
    local desc=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}
finish() {
    echo "# $((SECONDS - T0)) s"
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}
T0=$SECONDS
N=4
ROUNDS=3
BB=cwru0_backbone

# ---- the backbone package and the federated config ------------------------
run "$MOTE" train "$ROOT/examples/online/$BB.json" --out "$TMP/bb"
check "mote train makes the backbone package" test -s "$TMP/bb/$BB.tflite" -a -s "$TMP/bb/$BB.json"
python3 - "$ROOT/examples/federated/cwru20.json" "$TMP" "$N" <<'EOF'
import json, os, sys
src, tmp, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = json.load(open(src))
c.pop("description", None), c.pop("dp", None), c.pop("participants", None)
c["features"] = os.path.join(os.path.dirname(src), c["features"])
c["backbone"] = os.path.join(tmp, "bb", "cwru0_backbone.tflite")
c.update(devices=n, rounds=3, malicious=0)
json.dump(c, open(os.path.join(tmp, "fed.json"), "w"), indent=1)
EOF

# ---- fleet: PKI, broker, moted --fed, backbone v1, devices -----------------
fleet_sim_mode
check "fleet key and PKI" fleet_pki "$N" --no-certs
[ "$FLEET_SIM_PKI" = 1 ] || fleet_sim_passwords "$FLEET_SIM_PREFIX" "$N"
check "broker starts" fleet_broker
[ "${FLEET_BROKER_UP:-0}" = 1 ] || { finish; exit 1; }
check "moted --fed starts" fleet_moted --tick-ms 100 --resend-ms 2000 --fed "$TMP/fed.json" --fed-rounds $ROUNDS \
    --fed-out "$TMP/mqtt" --fed-deadline-ms 4000 --fed-devices $N
[ -n "${FLEET_URL:-}" ] || { finish; exit 1; }
check "backbone registered as v1" fleet_register "$TMP/bb" $BB 1
# device 1 streams an inner-race fault from the start; the others run normally
echo "1 0 fault IR007_0hp_105.f32" >"$TMP/faults"
fleet_sim $N "$FLEET_DIR/sim" --state "$FLEET_DIR/sim" --install "$FLEET_DIR/moted/bundles/$BB-1.bundle" \
    --data "$SHARED/data/cwru" --windows 1000000 --speed 10 --heartbeat 2 --faults "$TMP/faults" \
    --fed "$TMP/fed.json"
check "$ROUNDS federated rounds over MQTT finish" fleet_wait 45 grep -q "fl: all $ROUNDS rounds done" "$FLEET_DIR/moted.log"
check "the final head is written" test -s "$TMP/mqtt/global_final.motl" -a -s "$TMP/mqtt/global_final.sig"
# round and version the final head's signature covers: the last fl_round entry
read -r FROUND FVER FHASH FACC < <(python3 - "$FLEET_DIR/moted/ledger.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"fl_round"' in l]
b = rows[-1]["body"] if rows else {"round": 0, "version": 0, "head": "-", "accuracy": 0}
print(b["round"], b["version"], b["head"], b["accuracy"])
EOF
)
echo "# final head: round $FROUND, version $FVER, accuracy at moted $FACC"

# ---- mote fed package ------------------------------------------------------
P=(package "$TMP/bb" "$TMP/mqtt/global_final.motl" --pk "$FLEET_DIR/fleet.pk" --round "$FROUND")
expect_rc "package: a signature that does not match (wrong version) is refused" 1 \
    "$MOTE" fed "${P[@]}" --version $((FVER + 7)) --fed "$TMP/fed.json" --out "$TMP/nope"
check "  ... naming the signature" grep -q "signature does not match" "$TMP/err"
expect_rc "package: a signed head without --pk is refused" 1 \
    "$MOTE" fed package "$TMP/bb" "$TMP/mqtt/global_final.motl" --version "$FVER" --out "$TMP/nope"
expect_rc "package: a head without statistics and no --fed is refused" 1 \
    "$MOTE" fed "${P[@]}" --version "$FVER" --out "$TMP/nope"
check "  ... saying what is missing" grep -q "no standardizer" "$TMP/err"
expect_rc "package: the head of the backbone" 0 \
    "$MOTE" fed "${P[@]}" --version "$FVER" --fed "$TMP/fed.json" --out "$TMP/pkg2"
cat "$TMP/out"
PACC=$(sed -n 's/^accuracy on the test split.*: //p' "$TMP/out")
check "the packaged head (raw features + its statistics) scores moted's accuracy ($PACC vs $FACC)" \
    python3 -c "import sys; sys.exit(not (abs(float('$PACC') - float('$FACC')) <= 0.002 and float('$PACC') > 0.9))"
check "the package has the backbone, the head and a card" \
    test -s "$TMP/pkg2/$BB.tflite" -a -s "$TMP/pkg2/$BB.dspcfg" -a -s "$TMP/pkg2/$BB.head.motl" -a -s "$TMP/pkg2/$BB.json"
check "the card notes the head: round, version, BLAKE2b as in the ledger, verified, 32 -> 4" python3 - \
    "$TMP/pkg2/$BB.json" "$FROUND" "$FVER" "$FHASH" <<'EOF'
import json, sys
h = json.load(open(sys.argv[1]))["head"]
ok = (h["round"] == int(sys.argv[2]) and h["version"] == int(sys.argv[3]) and h["blake2b"] == sys.argv[4]
      and h["signature"] == "verified" and h["features"] == 32 and h["classes"] == ["normal", "ball", "inner_race", "outer_race"]
      and h["file"] == "cwru0_backbone.head.motl" and bytes.fromhex(h["state"]) == open(sys.argv[1].replace(".json", ".head.motl"), "rb").read())
sys.exit(not ok)
EOF
# a head of the wrong width: the real head's header with 16 features, no statistics
python3 - "$TMP/pkg2/$BB.head.motl" "$TMP/bad.motl" <<'EOF'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
hdr = bytearray(b[:64])
nc = struct.unpack_from("<H", hdr, 20)[0]
nf = 16
body = struct.pack("<%df" % (nc * nf + nc), *([0.01] * (nc * nf) + [0.0] * nc))
struct.pack_into("<I", hdr, 8, 64 + len(body) + 4)
hdr[14] = 0                                   # no standardizer section
struct.pack_into("<H", hdr, 16, nf)
struct.pack_into("<H", hdr, 18, nc)
struct.pack_into("<II", hdr, 52, 0, 0)
blob = bytes(hdr) + body
open(sys.argv[2], "wb").write(blob + struct.pack("<I", zlib.crc32(blob)))
EOF
expect_rc "package: a head of the wrong width is refused" 1 "$MOTE" fed package "$TMP/bb" "$TMP/bad.motl" --out "$TMP/nope"
check "  ... naming both widths" grep -q "the head takes 16 features, the backbone's tap (tensor [0-9]*, input of its last FULLY_CONNECTED) gives 32" "$TMP/err"

# ---- campaign: v2 (the head) to every device -------------------------------
check "the head package registered as v2" fleet_register "$TMP/pkg2" $BB 2
run fleet_cli --json campaign create --model $BB --version 2 --class cwru-gw --stages 100
CID=$(fleet_json 'j.get("id", "")' <"$TMP/out" 2>/dev/null)
check "campaign v2 created" test -n "$CID"
is_done() { [ "$(fleet_campaign_state "$CID")" = "done" ]; }
check "campaign v2 completes" fleet_wait 30 is_done
on_v() {
    [ "$(fleet_get "/api/devices?limit=100" | fleet_json "sum(1 for d in j['devices'] if d['version'] == $1 and d['slot_state'] == 'confirmed')")" = "$2" ]
}
check "all $N devices confirmed v2" fleet_wait 10 on_v 2 $N
# events decided by the head carry its version in the summary
head_events() {
    fleet_events_json "$TMP/ev.json"
    python3 - "$TMP/ev.json" "$FVER" "$(fleet_sim_id 1)" <<'EOF'
import json, sys
ver, faulty = float(sys.argv[2]), sys.argv[3]
ev = [e for e in json.load(open(sys.argv[1])) if e.get("kind") == "class"]
def hv(e):
    return next((s["value"] for s in e["body"].get("summary", []) if s["name"] == "head_version"), 0)
mine = [e for e in ev if hv(e) == ver]
print(" ".join(sorted("%s=%s" % (e["device"], e["body"].get("class")) for e in mine)))
EOF
}
want="$(fleet_sim_id 1)=inner_race"
has_head_event() { head_events | grep -q "$want"; }
check "the faulty device's class event comes from the head: $want" fleet_wait 20 has_head_event
echo "# class events decided by the head: $(head_events)"
others=$(head_events | tr ' ' '\n' | grep -v "^$(fleet_sim_id 1)=" | grep -v '=normal$' | tr '\n' ' ')
check "no fault class from the head on the normal devices" test -z "$others"

# ---- a head of the wrong shape is refused on the device --------------------
cp -r "$TMP/pkg2" "$TMP/pkg3"
python3 - "$TMP/pkg3/$BB.json" "$TMP/bad.motl" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["head"]["state"] = open(sys.argv[2], "rb").read().hex()
json.dump(c, open(sys.argv[1], "w"))
EOF
check "a wrong-shape head registered as v3" fleet_register "$TMP/pkg3" $BB 3
run fleet_cli --json campaign create --model $BB --version 3 --class cwru-gw --stages 100 --max-fail 10
CID3=$(fleet_json 'j.get("id", "")' <"$TMP/out" 2>/dev/null)
check "campaign v3 created" test -n "$CID3"
is_aborted() { [ "$(fleet_campaign_state "$CID3")" = "aborted" ]; }
check "campaign v3 aborts" fleet_wait 30 is_aborted
rolled() {
    [ "$(fleet_get "/api/devices?limit=100" | fleet_json "sum(1 for d in j['devices'] if d['version'] == 2 and d['ota_status'] in ('rolled_back', 'failed'))")" -ge 1 ]
}
check "devices that tried v3 rolled back to v2" fleet_wait 15 rolled
check "the device says why: the head does not fit the tap" \
    grep -q "head: takes 16 features, the model's tap (tensor [0-9]*, input of its last FULLY_CONNECTED) gives 32" "$FLEET_DIR/sim.err"
check "the rollback reason names the signal path" grep -q "rolling back: model does not load in the signal path" "$FLEET_DIR/sim.err"

# ---- ledger ----------------------------------------------------------------
expect_rc "mote ledger verify" 0 "$MOTE" ledger verify "$FLEET_DIR/moted/ledger.jsonl" --pk "$FLEET_DIR/fleet.pk"
check "the ledger holds every round ($ROUNDS fl_round)" test "$(grep -c '"kind":"fl_round"' "$FLEET_DIR/moted/ledger.jsonl")" -eq $ROUNDS
check "the ledger holds the v2 registration and a deploy per device" python3 - "$FLEET_DIR/moted/ledger.jsonl" "$N" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
reg = [r for r in rows if r["kind"] == "model.register" and r["body"]["version"] == 2]
dep = {r["body"].get("device") for r in rows if r["kind"] == "deploy" and r["body"].get("version") == 2}
sys.exit(not (reg and len(dep) == int(sys.argv[2])))
EOF
check "no sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error:' '$FLEET_DIR/moted.log' '$FLEET_DIR/sim.err'"
finish
