/* libFuzzer target: arbitrary bytes as a secure-aggregation message
 * (src/fleet/fed_msg.c: MFLK/S/V from devices on fl/up, MFLA/R/F/Q from
 * moted on mote/v1/fl/global), from an exact-size copy so ASan sees any
 * read past its end. Contract: a refusal is negative with a message;
 * whatever decodes re-encodes to the same bytes (CRC, or a deterministic
 * Ed25519 signature by the fuzz key), and moted's intake
 * (mote_fl_sec_take, in every phase) and a device's handlers never crash
 * on it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "fed_client.h"
#include "fed_msg.h"
#include "fl_secure.h"

static uint8_t pk[32], sk[64];

static void check_roundtrip(const uint8_t *in, size_t size, const mote_fl_sec_msg_t *m)
{
    uint8_t *out = malloc(size);
    size_t n = 0;
    if (!out || mote_fl_sec_encode(m, sk, out, size, &n) != MOTE_OK || n != size || memcmp(out, in, size) != 0)
        abort();
    free(out);
}

/* moted's intake in each phase: nothing but refusals or acceptances. */
static void server_takes(const uint8_t *in, size_t size)
{
    for (int phase = MOTE_FL_SEC_KEYS; phase <= MOTE_FL_SEC_REVEAL; phase++) {
        mote_fl_sec_t s = {0};
        char msg[160];
        if (mote_fl_sec_begin(&s, 3, 4, 2) != MOTE_OK)
            abort();
        s.phase = (mote_fl_sec_phase_t)phase;
        memset(s.in_r, 1, 4), memset(s.has_shares, 1, 4), memset(s.flag, 1, 2);
        s.n_r = 4;
        for (uint32_t i = 0; i < 4; i++)
            (void)mote_fl_sec_take(&s, i, in, size, msg, sizeof msg);
        mote_fl_sec_free(&s);
    }
}

/* A device's handlers on a decoded moted message. */
static void device_takes(const mote_fl_sec_msg_t *m)
{
    mote_fed_client_t c;
    memset(&c, 0, sizeof c);
    const uint8_t *out = NULL;
    size_t n = 0;
    char msg[160];
    if (m->type == 'A')
        (void)mote_fed_client_announce(&c, m, "dev-0002", &out, &n, msg, sizeof msg);
    else if (m->type == 'R' || m->type == 'F' || m->type == 'Q') {
        c.sec.round = m->round, c.sec.stage = m->type == 'R' ? 1 : m->type == 'F' ? 2 : 3;
        if (m->type == 'R')
            (void)mote_fed_client_roster(&c, m, &out, &n, msg, sizeof msg);
        else if (m->type == 'F')
            (void)mote_fed_client_forward(&c, m, msg, sizeof msg);
        else
            (void)mote_fed_client_reveal(&c, m, &out, &n, msg, sizeof msg);
    }
    mote_fed_client_free(&c);
}

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
    mote_fl_sec_msg_t m;
    char msg[160] = "";
    mote_status_t st = mote_fl_sec_decode(in, size, pk, &m, msg, sizeof msg);
    if (st != MOTE_OK && (st > 0 || msg[0] == '\0'))
        abort();
    if (st == MOTE_OK) {
        check_roundtrip(in, size, &m);
        device_takes(&m);
    }
    server_takes(in, size);
    free(in);
    return 0;
}
