#!/bin/bash
# `mote key` and `mote ledger`: key files, appending, verification with
# exit codes and messages naming the first bad entry, anchors against a
# cut tail, torn last lines, listing as text and JSON, usage errors.
# Run as: bash test_ledger.sh MOTE SHARED
. "$(dirname "$0")/lib.sh"
DATA=$(cd "$(dirname "$0")/../data/f_ledger" && pwd)
K=$TMP/fleet
L=$TMP/ledger.jsonl

# verify_fails DESC PATTERN FILE [ARGS...]: verify exits 1 naming FILE and
# matching PATTERN on stderr, with nothing on stdout.
verify_fails() {
    local desc=$1 pattern=$2 file=$3
    shift 3
    expect_fail "$desc" "$file" "$pattern" "$MOTE" ledger verify "$file" --pk "$K.pk" "$@"
    if [ -s "$TMP/out" ]; then not_ok "$desc: stdout not empty" "$TMP/out"; fi
}

# --- keys ---
expect_rc "key gen" 0 "$MOTE" key gen --out "$K"
check "key gen prints the public key" grep -qxE '[0-9a-f]{64}' "$TMP/out"
check "secret key is mode 600" test "$(stat -c %a "$K.sk")" = 600
check "public key file holds what was printed" cmp -s "$TMP/out" "$K.pk"
expect_rc "key gen refuses to overwrite" 1 "$MOTE" key gen --out "$K"
check "  and says why" grep -q "File exists" "$TMP/err"
expect_rc "key show on .pk" 0 "$MOTE" key show "$K.pk"
cp "$TMP/out" "$TMP/show_pk"
expect_rc "key show on .sk" 0 "$MOTE" key show "$K.sk"
check "  same key id and public key from both" cmp -s "$TMP/out" "$TMP/show_pk"
expect_rc "key gen --out missing value" 2 "$MOTE" key gen --out
expect_rc "key unknown subcommand" 2 "$MOTE" key frob
printf 'zz\n' >"$TMP/bad.pk"
expect_fail "key show on a non-key" "$TMP/bad.pk" "not a key" "$MOTE" key show "$TMP/bad.pk"
expect_rc "key gen --force" 0 "$MOTE" key gen --out "$TMP/other"
expect_rc "key gen --force replaces" 0 "$MOTE" key gen --out "$TMP/other" --force

# --- append and verify ---
for i in 1 2 3 4; do
    run "$MOTE" ledger append "$L" --sk "$K.sk" deploy "{\"device\":\"dev-000$i\",\"version\":$i}"
    if [ "$RC" -ne 0 ] || [ "$(cat "$TMP/out")" != "$i" ]; then not_ok "append $i: exit $RC, seq '$(cat "$TMP/out")'"; fi
done
ok "append prints seq 1..4"
expect_rc "append a body that is not an object" 1 "$MOTE" ledger append "$L" --sk "$K.sk" deploy '[1]'
check "  message says why" grep -q "not a JSON object" "$TMP/err"
expect_rc "append a bad kind" 1 "$MOTE" ledger append "$L" --sk "$K.sk" 'Deploy!' '{}'
expect_rc "verify a valid ledger" 0 "$MOTE" ledger verify "$L" --pk "$K.pk"
check "  prints the head as SEQ HASH" grep -qxE '4 [0-9a-f]{64}' "$TMP/out"
cp "$TMP/out" "$TMP/anchor4"
check "  the appender's anchor file agrees" cmp -s "$TMP/anchor4" "$L.head"
HEAD4=$(cut -d' ' -f2 "$TMP/anchor4")
expect_rc "verify with --head" 0 "$MOTE" ledger verify "$L" --pk "$K.pk" --head "$HEAD4"
expect_rc "verify with --anchor" 0 "$MOTE" ledger verify "$L" --pk "$K.pk" --anchor "$TMP/anchor4"
verify_fails "another public key" "signed by another key" "$L" --pk "$TMP/other.pk"
verify_fails "missing file" "not found" "$TMP/nope.jsonl"

# --- tampering, each named with line and reason ---
sed '2s/"version":2/"version":9/' "$L" >"$TMP/edited"
verify_fails "edited entry" "line 2 \(seq 2\): hash mismatch" "$TMP/edited"
sed '3d' "$L" >"$TMP/removed"
verify_fails "removed entry" "line 3 \(seq 3\): seq gap.*found seq 4, expected 3" "$TMP/removed"
awk 'NR == 2 { two = $0; next } { print } NR == 3 { print two }' "$L" >"$TMP/swapped"
verify_fails "swapped entries" "line 2 \(seq 2\): seq gap" "$TMP/swapped"
head -n 3 "$L" >"$TMP/cut"
expect_rc "cut tail without an anchor still verifies" 0 "$MOTE" ledger verify "$TMP/cut" --pk "$K.pk"
verify_fails "cut tail against --anchor" "expected head not in the chain.*ends at seq 3" "$TMP/cut" --anchor "$TMP/anchor4"
verify_fails "cut tail against --head" "expected head not in the chain" "$TMP/cut" --head "$HEAD4"
cp "$L.head" "$TMP/cut.head"
verify_fails "cut tail against the appender's FILE.head, found by itself" "expected head not in the chain" "$TMP/cut"
printf '' >"$TMP/cut.head"
expect_rc "an empty FILE.head (crash) is only a warning" 0 "$MOTE" ledger verify "$TMP/cut" --pk "$K.pk"
check "  naming it" grep -q "cut.head: warning: ignored" "$TMP/err"
head -c -30 "$L" >"$TMP/torn"
verify_fails "torn last line" "line 4 \(seq 4\): torn last line" "$TMP/torn"
cp "$DATA/valid5.jsonl" "$TMP/fixture"
expect_rc "committed fixture verifies with its key" 0 "$MOTE" ledger verify "$TMP/fixture" --pk "$DATA/signer.pk"
expect_fail "committed edited fixture" "$DATA/edited.jsonl" "line 2 \(seq 2\): hash mismatch" \
    "$MOTE" ledger verify "$DATA/edited.jsonl" --pk "$DATA/signer.pk"

# --- append repairs a torn tail (cut, logged) and refuses a broken chain ---
cp "$TMP/torn" "$TMP/repair"
expect_rc "append after a torn tail" 0 "$MOTE" ledger append "$TMP/repair" --sk "$K.sk" rollback '{"reason":"x"}'
check "  logs the cut" grep -q "torn last line is not a whole entry: cut off" "$TMP/err"
check "  new entry takes seq 4" grep -qx 4 "$TMP/out"
expect_rc "  ledger valid again" 0 "$MOTE" ledger verify "$TMP/repair" --pk "$K.pk"
cp "$TMP/edited" "$TMP/edited2"
expect_rc "append refuses a broken chain" 1 "$MOTE" ledger append "$TMP/edited2" --sk "$K.sk" deploy '{}'
check "  and leaves the file as it was" cmp -s "$TMP/edited" "$TMP/edited2"

# --- a second appender (moted holding the lock) is refused ---
if command -v flock >/dev/null; then
    # the holder is one process (sleep, after exec) owning the locked fd
    (exec 9>>"$L" && flock 9 && exec sleep 20) &
    holder=$!
    for _ in $(seq 100); do flock -n "$L" true 2>/dev/null || break; sleep 0.05; done
    expect_rc "append while another process holds the ledger" 1 \
        "$MOTE" ledger append "$L" --sk "$K.sk" deploy '{}'
    check "  says it is locked" grep -q "locked" "$TMP/err"
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
fi

# --- show ---
expect_rc "show" 0 "$MOTE" ledger show "$L"
check "  lists 4 entries" test "$(grep -cE '^ +[0-9]+  20[0-9-]+T' "$TMP/out")" -eq 4
check "  says signatures were not checked" grep -q "signatures not" "$TMP/err"
expect_rc "show --json --pk --from 3" 0 "$MOTE" ledger show "$L" --json --pk "$K.pk" --from 3
if command -v python3 >/dev/null; then
    check "  is JSON with entries 3 and 4" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [e["seq"] for e in d["entries"]] == [3, 4], d
assert d["n"] == 4 and d["valid"] is True and d["signatures"] == "verified"
assert d["entries"][1]["body"] == {"device": "dev-0004", "version": 4}
' "$TMP/out"
fi
expect_rc "show an edited ledger fails" 1 "$MOTE" ledger show "$TMP/edited" --json
check "  after listing the good entry, as valid JSON" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["entries"]) == 1 and d["valid"] is False
' "$TMP/out"

# --- usage ---
expect_rc "no subcommand" 2 "$MOTE" ledger
expect_rc "unknown subcommand" 2 "$MOTE" ledger frob "$L"
expect_rc "verify without --pk" 2 "$MOTE" ledger verify "$L"
expect_rc "verify bad --head" 2 "$MOTE" ledger verify "$L" --pk "$K.pk" --head 12ab
expect_rc "verify --head and --anchor" 2 "$MOTE" ledger verify "$L" --pk "$K.pk" --head "$HEAD4" --anchor "$TMP/anchor4"
expect_rc "show --from not a number" 2 "$MOTE" ledger show "$L" --from x
expect_rc "unknown option" 2 "$MOTE" ledger verify "$L" --pk "$K.pk" --frob
expect_rc "append without --sk" 2 "$MOTE" ledger append "$L" deploy '{}'
expect_rc "--help" 0 "$MOTE" ledger --help
check "  help names the reasons" grep -q "prev-hash mismatch" "$TMP/out"

finish
