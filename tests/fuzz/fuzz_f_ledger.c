/* libFuzzer target: arbitrary bytes through the ledger parser and verifier
 * (src/fleet/ledger.c, mote_ledger_scan), from an exact-size copy so ASan
 * sees any read past its end. The seeds in tests/data/f_ledger/ are signed
 * with the fixed key below, so mutations reach the signature check and
 * past it. Contract checked: an accepted ledger was consumed to its last
 * byte; a refusal names a problem, a line and a message, and the prefix it
 * reports as valid verifies on its own to the same head; a scan without
 * the key accepts whatever the keyed scan accepts; entries handed to the
 * callback lie inside the input and come in seq order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ledger.h"

static uint8_t pk[MOTE_KEY_PK_LEN];

static void init_key(void)
{
    static int done;
    if (done)
        return;
    uint8_t seed[crypto_sign_SEEDBYTES] = {1}; /* same as the seeds' signer */
    uint8_t sk[MOTE_KEY_SK_LEN];
    if (sodium_init() < 0 || crypto_sign_seed_keypair(pk, sk, seed) != 0)
        abort();
    done = 1;
}

typedef struct span {
    const uint8_t *lo;
    size_t len;
    uint64_t seen;
} span_t;

static int check_entry(const mote_ledger_entry_t *e, void *ctx)
{
    span_t *s = ctx;
    const uint8_t *body = (const uint8_t *)e->body, *line = (const uint8_t *)e->line;
    if (e->seq != ++s->seen || body < line || body + e->body_len > line + e->line_len || line < s->lo ||
        line + e->line_len >= s->lo + s->len || line[e->line_len] != '\n' || e->body_len < 2 ||
        strlen(e->kind) == 0 || strlen(e->kind) > MOTE_LEDGER_KIND_LEN)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_key();
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    char err[512];
    mote_ledger_result_t res, res2;
    span_t sp = {buf, size, 0};
    mote_status_t st = mote_ledger_scan(buf, size, pk, NULL, check_entry, &sp, &res, err, sizeof err);
    if (st == MOTE_OK) {
        if (res.problem != MOTE_LEDGER_P_OK || res.valid_bytes != size || res.n != sp.seen)
            abort();
        if (mote_ledger_scan(buf, size, NULL, NULL, NULL, NULL, &res2, err, sizeof err) != MOTE_OK ||
            res2.n != res.n || memcmp(res2.head, res.head, sizeof res.head) != 0)
            abort();
        mote_ledger_anchor_t a = {res.n, {0}};
        memcpy(a.hash, res.head, sizeof a.hash);
        if (res.n && mote_ledger_scan(buf, size, pk, &a, NULL, NULL, &res2, err, sizeof err) != MOTE_OK)
            abort();
    } else {
        if (st >= 0 || res.problem == MOTE_LEDGER_P_OK || res.bad_line != res.n + 1 || !err[0] ||
            res.valid_bytes > size)
            abort();
        if (mote_ledger_scan(buf, (size_t)res.valid_bytes, pk, NULL, NULL, NULL, &res2, err, sizeof err) != MOTE_OK ||
            res2.n != res.n || memcmp(res2.head, res.head, sizeof res.head) != 0)
            abort();
    }
    free(buf);
    return 0;
}
