#!/bin/bash
# On-device learning acceptance (examples/online/README.md):
#
#   scripts/online.sh [scenarios]   build, run every examples/online config
#                                   through `mote learn`, print the key lines
#   scripts/online.sh budgets       RAM and flash of the learning code on the
#                                   Cortex-M4 (-Os), instructions per update
#                                   on x86-64 (callgrind) and on the emulated
#                                   M4 (QEMU mps2-an386, scripts/m4bench.sh)
#   scripts/online.sh all           both
#
# Outputs go to build-online/online/<config>/ (stream.csv, stream.svg/.png,
# summary.json, backbones). About 15 s for the scenarios, 1 min for the
# budgets on 2 cores with an up-to-date build.
set -euo pipefail
. "$(dirname "$0")/common.sh"
BUILD=${MOTE_ONLINE_BUILD:-$ROOT/build-online}
OUT=$BUILD/online
WHAT=${1:-scenarios}

build_host() {
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j "$JOBS" --target mote >/dev/null
}

scenarios() {
    build_host
    mkdir -p "$OUT"
    local configs=(fan_drift fan_drift_frozen fan_anomaly_tune fan_anomaly fan_anomaly_frozen cwru_new_class
                   cwru_load_drift cwru_stationary fan_iforest)
    for c in "${configs[@]}"; do
        echo "== $c"
        "$BUILD/mote" learn "$ROOT/examples/online/$c.json" --out "$OUT/$c" --quiet |
            grep -vE '^(pretrain|wall time)'
    done
}

# ---- budgets ------------------------------------------------------------------

ARM_BUILD=$BUILD-arm
ARM_FLAGS=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)

flash() {
    cmake -S "$ROOT" -B "$ARM_BUILD" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/arm-none-eabi.cmake" \
        -DCMAKE_BUILD_TYPE=MinSizeRel -DMOTE_HOST=OFF -DMOTE_TESTS=OFF >/dev/null
    cmake --build "$ARM_BUILD" -j "$JOBS" --target mote_runtime >/dev/null
    local dir=$ARM_BUILD/CMakeFiles/mote_runtime.dir/src/runtime
    echo "flash: arm-none-eabi-size, Cortex-M4F, -Os (text bytes per object)"
    for mod in learn drift anomaly; do
        local sum=0
        for o in "$dir/$mod"/*.o "$dir/$mod"/*.obj; do
            [ -f "$o" ] || continue
            read -r text _ < <(arm-none-eabi-size "$o" | tail -n 1)
            printf '  %-22s %6d\n' "$mod/$(basename "${o%.*}")" "$text"
            sum=$((sum + text))
        done
        printf '  %-22s %6d\n' "all $mod objects" "$sum"
    done
}

# The per-sample code as firmware links it: the budget app with every
# learning, drift and policy call a device makes, --gc-sections.
m4() {
    local elf=$ARM_BUILD/learn_budget.elf
    arm-none-eabi-gcc -std=c11 "${ARM_FLAGS[@]}" -Os -ffunction-sections -fdata-sections \
        -ffp-contract=off -Wall -Wextra -Werror -DMOTE_FW -I"$ROOT/include" -I"$ROOT/firmware/board" \
        "$ROOT/examples/online/bench/learn_budget.c" "$ROOT"/firmware/board/{startup,semihost,stack,mark}.c \
        "$ARM_BUILD/libmote_runtime.a" -nostartfiles -T"$ROOT/firmware/board/mps2_an386.ld" \
        -Wl,--defsym=__mote_fw_stack_size=32768 -Wl,--gc-sections --specs=nano.specs \
        -Wl,-Map="$ARM_BUILD/learn_budget.map" -o "$elf"
    echo "linked learning code (learn_budget.elf, --gc-sections; text bytes of libmote objects):"
    awk 'function hex(s,  i, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
             for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
             return v }
         /^Linker script and memory map/ { kept = 1 }  # before it: discarded sections
         kept && /^ \.text\./ && NF == 4 && $4 ~ /libmote_runtime\.a/ { split($4, a, "[()]"); s[a[2]] += hex($3) }
         kept && /^ \.text\./ && NF == 1 { name = $1; getline; if ($3 ~ /libmote_runtime\.a/) { split($3, a, "[()]"); s[a[2]] += hex($2) } }
         END { t = 0; for (k in s) { printf "  %-22s %6d\n", k, s[k]; t += s[k] } printf "  %-22s %6d\n", "total", t }' \
        "$ARM_BUILD/learn_budget.map" | sort
    echo "Cortex-M4 (QEMU mps2-an386): RAM and instructions per call"
    "$ROOT/scripts/m4bench.sh" "$elf"
}

callgrind() {
    local exe=$BUILD/learn_budget
    cc -std=c11 -O3 -DNDEBUG -ffp-contract=off -Wall -Wextra -Werror -I"$ROOT/include" \
        "$ROOT/examples/online/bench/learn_budget.c" "$BUILD/libmote_runtime.a" -o "$exe"
    echo "x86-64 (callgrind, -O3): instructions per call"
    "$exe" | grep '^ram_'
    for r in 0 1 2 3 4 5 6; do
        local f=$BUILD/callgrind.learn.$r
        valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$f" "$exe" "$r" 2>/dev/null |
            sed -n 's/^region /  /p' | tr '\n' ' '
        awk '/^totals:/ { print $2 }' "$f"
        rm -f "$f"
    done
}

budgets() {
    build_host
    flash
    m4
    callgrind
}

case $WHAT in
    scenarios) scenarios ;;
    budgets) budgets ;;
    all) scenarios; budgets ;;
    *) echo "usage: $(basename "$0") [scenarios | budgets | all]" >&2; exit 2 ;;
esac
