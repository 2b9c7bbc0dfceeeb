/* libFuzzer target: arbitrary bytes as a message on mote/v1/fl/global
 * (src/fleet/fed_msg.c), from an exact-size copy so ASan sees any read
 * past its end. Contract: a refusal is negative with a message; whatever
 * is accepted carries a valid fleet signature, so it must re-encode to the
 * same bytes (Ed25519 signatures are deterministic). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "fed_msg.h"

static uint8_t pk[32], sk[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!pk[0] && !pk[1]) {
        uint8_t seed[32] = {1};
        if (sodium_init() < 0)
            abort();
        crypto_sign_seed_keypair(pk, sk, seed);
    }
    uint8_t *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    mote_fed_global_msg_t g;
    char msg[128] = "";
    mote_status_t st = mote_fed_global_msg_decode(in, size, pk, &g, msg, sizeof msg);
    if (st != MOTE_OK && (st > 0 || msg[0] == '\0'))
        abort();
    if (st == MOTE_OK) {
        uint8_t *out = malloc(size);
        size_t n = 0;
        if (!out || mote_fed_global_msg_encode(sk, g.round, g.version, g.blob, g.blob_len, out, size, &n) != MOTE_OK ||
            n != size || memcmp(out, in, size) != 0)
            abort();
        free(out);
    }
    free(in);
    return 0;
}
