#!/bin/bash
# Install every Debian 12 package that builds, tests, fuzzing, size checks
# and benchmarks need. Idempotent: does nothing (not even apt-get update)
# when all are already installed.
set -euo pipefail

PKGS=(build-essential cmake clang libclang-rt-14-dev llvm libcmocka-dev
      gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm valgrind
      python3 python3-numpy libjansson-dev zlib1g-dev flatbuffers-compiler raptor2-utils libxml2-utils
      libsodium-dev libmosquitto-dev mosquitto mosquitto-clients libsqlite3-dev sqlite3
      libpq-dev postgresql libmicrohttpd-dev librdf0-dev librasqal3-dev rasqal-utils
      python3-rdflib python3-sklearn openssl
      chromium curl) # web console browser tests; they also need Node.js >= 20 (not Debian 12's 18)

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
