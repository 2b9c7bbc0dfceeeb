/* libFuzzer target: arbitrary bytes through the federated update decoder
 * (src/fleet/fedupdate.c) and the server's intake (fed.c), from an
 * exact-size copy so ASan sees any read past its end. Contract checked: a
 * refusal has a negative status and a message; an accepted update
 * re-encodes to exactly the input bytes (the format has one encoding per
 * value) and, offered to a server whose open round matches its header,
 * is accepted once and refused the second time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "fed.h"

static uint8_t key[MOTE_FEDUP_KEY_LEN];

static void reencode(const mote_fedup_t *u, const uint8_t *in, size_t len)
{
    void *vals = malloc((size_t)u->n_params * 4);
    uint8_t *out = malloc(len);
    if (!vals || !out)
        abort();
    mote_fedup_t c = *u;
    if (u->encoding == MOTE_FEDUP_U32) {
        uint32_t *w = vals;
        for (uint32_t k = 0; k < u->n_params; k++)
            w[k] = mote_fedup_word(u, k);
        c.payload = w;
    }
    size_t n = 0;
    if (mote_fedup_encode(&c, (u->flags & MOTE_FEDUP_F_MAC) ? key : NULL, out, len, &n) !=
            MOTE_OK || n != len || memcmp(out, in, len) != 0)
        abort();
    free(vals), free(out);
}

static void offer(const mote_fedup_t *u, const uint8_t *in, size_t len)
{
    if (u->n_params > 4096)
        return;
    mote_fed_server_t s;
    if (mote_fed_server_init(&s, u->n_params, 2) != MOTE_OK)
        abort();
    mote_secagg_peer_t roster[2] = {{u->device, {1}, {0}}, {u->device + 1, {2}, {0}}};
    mote_fed_round_cfg_t c = {.round = u->round, .base_version = u->base_version,
                              .step = u->step, .masked = !!(u->flags & MOTE_FEDUP_F_MASKED),
                              .quorum = 1};
    char msg[MOTE_FED_MSG_LEN];
    if (mote_fed_round_begin(&s, &c, roster, 2) != MOTE_OK ||
        mote_fed_round_add(&s, in, len, key, msg, sizeof msg) != MOTE_OK ||
        mote_fed_round_add(&s, in, len, key, msg, sizeof msg) != MOTE_ERR_STATE)
        abort();
    mote_fed_round_close(&s);
    float *g = calloc(u->n_params, sizeof *g);
    if (!g || mote_fed_round_finish(&s, g, NULL, g) != (c.masked ? MOTE_ERR_STATE : MOTE_OK))
        abort();
    free(g);
    mote_fed_server_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sodium_init() < 0)
        abort();
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    mote_fedup_t u;
    char msg[MOTE_FEDUP_MSG_LEN] = "";
    mote_status_t st = mote_fedup_decode(buf, size, key, &u, msg, sizeof msg);
    if (st > 0 || (st < 0 && msg[0] == '\0'))
        abort();
    if (st == MOTE_OK) {
        reencode(&u, buf, size);
        offer(&u, buf, size);
    }
    free(buf);
    return 0;
}
