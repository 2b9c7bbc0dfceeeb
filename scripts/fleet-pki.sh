#!/bin/bash
# fleet-pki.sh: credentials for a mote fleet's MQTT broker (mosquitto).
#
# usage: scripts/fleet-pki.sh DIR N [--no-certs] [--prefix PFX]
#
# Creates in DIR (made if missing; an existing DIR is refused if it already
# holds ca.key, so a CA is never silently replaced):
#   devices.txt         the N device ids, one a line: PFX0001 ... (PFX
#                       defaults to "dev-"; at least 4 digits)
#   passwords.txt       "ID PASSWORD" for every device and for "moted"
#                       (plaintext, mode 0600: what agents and tests use)
#   passwd              the same, hashed for mosquitto (mosquitto_passwd -U)
#   acl                 mosquitto ACL implementing docs/fleet-protocol.md
#   ca.crt, ca.key      fleet CA (EC P-256, 10 years)
#   server.crt/.key     broker certificate, CN mote-broker,
#                       subjectAltName IP:127.0.0.1, DNS:localhost
#   clients/ID.crt/.key client certificate per device (CN = device id) and
#                       clients/moted.crt/.key for the manager
# With --no-certs (e.g. 10,000 simulated devices on a plaintext listener)
# no certificate is made: only ids, passwords and the ACL.
#
# Every key is EC P-256 and each certificate is one openssl process, run
# in parallel, so 100 devices take about a second. Prints what it wrote on
# stderr; exit 0 on success, 1 on failure, 2 on a usage error.
set -euo pipefail

usage() {
    sed -n '3,4p' "$0" | sed 's/^# //' >&2
    exit 2
}

DIR=${1:-}
N=${2:-}
[ -n "$DIR" ] && [ -n "$N" ] || usage
shift 2
CERTS=1
PREFIX=dev-
while [ $# -gt 0 ]; do
    case $1 in
        --no-certs) CERTS=0 ;;
        --prefix) PREFIX=${2:?--prefix needs a value}; shift ;;
        *) echo "fleet-pki.sh: unknown option '$1'" >&2; usage ;;
    esac
    shift
done
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 999999 ] || {
    echo "fleet-pki.sh: N must be 1..999999, got '$N'" >&2
    exit 2
}
[[ $PREFIX =~ ^[a-z0-9_-]{0,40}$ ]] || {
    echo "fleet-pki.sh: --prefix must be up to 40 of [a-z0-9_-]" >&2
    exit 2
}
for tool in openssl mosquitto_passwd; do
    command -v "$tool" >/dev/null || { echo "fleet-pki.sh: $tool not found (scripts/deps.sh)" >&2; exit 1; }
done
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ -e "$DIR/ca.key" ] || [ -e "$DIR/passwd" ]; then
    echo "fleet-pki.sh: $DIR already holds credentials; use a new folder" >&2
    exit 1
fi

# Device ids, then random passwords: one read of /dev/urandom for all of
# them, since a process per device would dominate for 10,000 devices.
seq -f "${PREFIX}%04.0f" 1 "$N" >"$DIR/devices.txt"
umask 077
{
    od -An -tx1 -v -w16 -N $((16 * (N + 1))) /dev/urandom | tr -d ' ' |
        paste -d ' ' <(cat "$DIR/devices.txt"; echo moted) -
} >"$DIR/passwords.txt"
tr ' ' ':' <"$DIR/passwords.txt" >"$DIR/passwd"
mosquitto_passwd -U "$DIR/passwd"
umask 022

# ACL: %u is the authenticated username (the device id, or the certificate
# CN with use_identity_as_username). Pattern lines apply to every user.
cat >"$DIR/acl" <<'EOF'
# mote fleet ACL (docs/fleet-protocol.md), written by scripts/fleet-pki.sh.
# The manager reads and writes everything under mote/v1.
user moted
topic readwrite mote/v1/#

# Every device: write only its own reports, read only its own commands,
# chunks and the federated global head. Anything else is denied.
pattern write mote/v1/d/%u/td
pattern write mote/v1/d/%u/evt
pattern write mote/v1/d/%u/hb
pattern write mote/v1/d/%u/state
pattern write mote/v1/d/%u/ota/req
pattern write mote/v1/d/%u/fl/up
pattern read mote/v1/d/%u/cmd
pattern read mote/v1/d/%u/ota/data
pattern read mote/v1/fl/global
EOF
chmod 644 "$DIR/acl"

if [ "$CERTS" -eq 1 ]; then
    cat >"$DIR/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF
    # leaf NAME CN EXT: key and certificate signed by the CA, one process.
    LEAF=(openssl req -x509 -new -config "$DIR/openssl.cnf" -newkey ec -pkeyopt ec_paramgen_curve:P-256
          -nodes -days 825 -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key")
    umask 077
    openssl req -x509 -new -config "$DIR/openssl.cnf" -extensions ca \
        -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=mote fleet CA" -keyout "$DIR/ca.key" -out "$DIR/ca.crt" 2>"$DIR/openssl.log"
    "${LEAF[@]}" -extensions server -subj /CN=mote-broker -keyout "$DIR/server.key" \
        -out "$DIR/server.crt" 2>>"$DIR/openssl.log"
    mkdir -p "$DIR/clients"
    # xargs runs openssl directly (no shell per device): ids are [a-z0-9_-]
    { cat "$DIR/devices.txt"; echo moted; } |
        xargs -P "$(nproc)" -I{} "${LEAF[@]}" -extensions client -subj "/CN={}" \
            -keyout "$DIR/clients/{}.key" -out "$DIR/clients/{}.crt" 2>>"$DIR/openssl.log" || {
        tail -n 5 "$DIR/openssl.log" >&2
        echo "fleet-pki.sh: openssl failed" >&2
        exit 1
    }
    chmod 755 "$DIR/clients"
    chmod 644 "$DIR/ca.crt" "$DIR/server.crt" "$DIR"/clients/*.crt
    for id in moted $(head -n 3 "$DIR/devices.txt"); do
        openssl verify -CAfile "$DIR/ca.crt" "$DIR/clients/$id.crt" >/dev/null
    done
    n_crt=$(find "$DIR/clients" -name '*.crt' | wc -l)
    [ "$n_crt" -eq $((N + 1)) ] || { echo "fleet-pki.sh: made $n_crt of $((N + 1)) certificates" >&2; exit 1; }
fi
echo "fleet-pki.sh: $DIR: $N devices + moted: passwords, ACL$([ "$CERTS" -eq 1 ] && echo ", CA, server and client certificates")" >&2
