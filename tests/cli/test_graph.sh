#!/bin/bash
# mote graph: loading Thing Descriptions, model cards and Turtle; shipped
# queries checked against rdflib (tests/graph/oracle.py) on a dump of the
# same graph; fit reasons; malformed input rejected with the field named
# and a persistent graph left unchanged; full-text search.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# Rasqal/Raptor leak inside their parsers (sanitizer builds): tests/graph/lsan.supp
export LSAN_OPTIONS="${LSAN_OPTIONS:-}:suppressions=$ROOT/tests/graph/lsan.supp"
DATA=$ROOT/tests/graph/data
Q=$ROOT/ontology/queries
PY=/usr/bin/python3
ORACLE=$ROOT/tests/graph/oracle.py

# --- shipped queries vs rdflib on a dump of the ingested graph ---
echo 'CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }' >"$TMP/dump.rq"
expect_rc "dump the graph as Turtle" 0 "$MOTE" graph query "$TMP/dump.rq" --data "$DATA" --format json
cp "$TMP/out" "$TMP/graph.ttl"

# query NAME BINDINGS...: bind, run in mote, compare with rdflib
oracle() {
    local name=$1
    shift
    local q=$TMP/$name
    cp "$Q/$name" "$q"
    for b in "$@"; do
        local var=${b%%=*} val=${b#*=}
        sed -i "s|\$$var\\b|$val|g" "$q"
    done
    run "$MOTE" graph query "$q" --data "$DATA" --format json
    if [ "$RC" -ne 0 ]; then
        not_ok "$name: mote exit $RC"
        return
    fi
    cp "$TMP/out" "$TMP/$name.json"
    if "$PY" "$ORACLE" "$TMP/$name.json" "$q" "$TMP/graph.ttl" >"$TMP/oracle.log" 2>&1; then
        ok "$name same rows as rdflib ($(head -n 1 "$TMP/oracle.log"))"
    else
        not_ok "$name differs from rdflib" "$TMP/oracle.log"
    fi
}
oracle fit.rq device='<urn:mote:dev:dev-0001>'
oracle best-model.rq device='<urn:mote:dev:dev-0001>'
oracle needs-update.rq model='"cwru4"'
oracle blast-radius.rq model='"cwru4"' version='"1.0.0"'
oracle blast-radius-groups.rq model='"cwru4"' version='"1.0.0"'

expect_rc "fit.rq with --bind" 0 "$MOTE" graph query "$Q/fit.rq" --data "$DATA" \
    --bind device='<urn:mote:dev:dev-0001>' --format csv
check "fit.rq: cwru4 1.0.0 fits dev-0001, 1.1.0 does not" \
    bash -c "grep -q ',cwru4,1.0.0,544,4080' '$TMP/out' && ! grep -q '1.1.0' '$TMP/out'"
expect_rc "needs-update.rq" 0 "$MOTE" graph query "$Q/needs-update.rq" --data "$DATA" \
    --bind model='"cwru4"' --format csv
check "needs-update: dev-0001 runs 1.0.0, 1.1.0 exists" grep -q 'urn:mote:dev:dev-0001,1.0.0,1001000' "$TMP/out"

# --- fit with reasons ---
expect_rc "graph fit" 0 "$MOTE" graph fit dev-0001 --data "$DATA"
check "fit: cwru4 1.0.0 fits" grep -qE '^cwru4 +1.0.0 +fits' "$TMP/out"
check "fit: arena reason for 1.1.0" grep -q 'needs 41000 B arena, device has 32768 B' "$TMP/out"
check "fit: operator reason for 1.1.0" grep -q 'needs operator CONV_2D' "$TMP/out"
check "fit: sensor reason for fan-ae" grep -q 'needs a sensor of type microphone, device has none' "$TMP/out"
check "fit: summary" grep -q '1 of 3 models fit dev-0001' "$TMP/out"
expect_fail "fit: unknown device" dev-9999 "not in the graph" "$MOTE" graph fit dev-9999 --data "$DATA"

# --- persistent graph: malformed input rejected, graph unchanged ---
DB=$TMP/db
expect_rc "load into a persistent graph" 0 "$MOTE" graph load "$DATA" --db "$DB"
before=$(cat "$TMP/out")
"$MOTE" graph query "$TMP/dump.rq" --db "$DB" --format json >"$TMP/before.ttl" 2>/dev/null
sed 's/"mote:ramBytes": 32768,//' "$DATA/td_dev1.json" >"$TMP/bad_td.json"
expect_fail "TD without mote:ramBytes" "$TMP/bad_td.json" "field 'mote:ramBytes' missing" \
    "$MOTE" graph load "$TMP/bad_td.json" --db "$DB"
sed 's/"sha256": "dece81[0-9a-f]*"/"sha256": "nothex"/' "$DATA/card_cwru4_v1.json" >"$TMP/bad_card.json"
expect_fail "card with a bad sha256" "$TMP/bad_card.json" "files.tflite.sha256" \
    "$MOTE" graph load "$TMP/bad_card.json" --db "$DB"
printf '@prefix x: <x:> .\nx:a x:b x:c .\nx:a x:b ' >"$TMP/bad.ttl"
expect_fail "truncated Turtle" "$TMP/bad.ttl" "turtle" "$MOTE" graph load "$TMP/bad.ttl" --db "$DB"
"$MOTE" graph query "$TMP/dump.rq" --db "$DB" --format json >"$TMP/after.ttl" 2>/dev/null
check "persistent graph unchanged after rejected input" cmp "$TMP/before.ttl" "$TMP/after.ttl"
expect_rc "reopen the persistent graph" 0 "$MOTE" graph load "$DATA/td_dev1.json" --db "$DB"
check "re-ingesting a TD replaces it (same size)" test "$(cat "$TMP/out")" = "$before"

# --- search and errors ---
expect_rc "search" 0 "$MOTE" graph search "fan anomaly" --data "$DATA"
check "search finds the fan card" grep -q 'urn:sha256:2222' "$TMP/out"
echo 'SELECT ?x WHERE { ?x' >"$TMP/bad.rq"
expect_fail "syntax error in a query" "$TMP/bad.rq" "query:" "$MOTE" graph query "$TMP/bad.rq"
expect_rc "usage error" 2 "$MOTE" graph frobnicate
finish
