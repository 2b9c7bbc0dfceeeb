#!/bin/bash
# Knowledge-graph benchmark (docs/graph.md, bench/RESULTS.md "Knowledge graph"):
# a generated fleet of 10,000 devices and 1,000 model versions (100 names x
# 10 versions) ingested as Thing Descriptions and model cards, then
# ontology/queries/fit.rq for one device and needs-update.rq for one model,
# 11 timed runs each after a warm-up.
#   bench/graph_bench.sh [BUILD_DIR] [extra args for mote graph bench]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
exec "$build/mote" graph bench --queries "$root/ontology/queries" "$@"
