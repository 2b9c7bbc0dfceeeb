/* libFuzzer target: arbitrary bytes as an event-queue log
 * (src/agent/equeue.c, mote_equeue_scan), from an exact-size copy so ASan
 * sees any read past its end. Contract checked: the valid prefix is never
 * longer than the input, is the whole input exactly when the scan says OK,
 * and every reported record lies inside it with strictly increasing seqs;
 * a refusal carries a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "equeue.h"

typedef struct check {
    size_t len;
    uint64_t last;
} check_t;

static int on_record(void *user, uint64_t seq, uint64_t offset, const uint8_t *payload, uint32_t len)
{
    check_t *c = user;
    (void)payload;
    if (seq <= c->last || offset + len > c->len || len == 0 || len > MOTE_EQUEUE_MAX_RECORD)
        abort();
    c->last = seq;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    check_t c = {size, 0};
    size_t valid = 0;
    char msg[MOTE_EQUEUE_MSG_LEN];
    mote_status_t st = mote_equeue_scan(copy, size, on_record, &c, &valid, msg, sizeof msg);
    if (valid > size || (st == MOTE_OK) != (valid == size || size == 0))
        abort();
    if (st != MOTE_OK && (st >= 0 || msg[0] == '\0'))
        abort();
    free(copy);
    return 0;
}
