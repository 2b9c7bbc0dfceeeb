/* mote fleet: codec of the signed global head broadcast (fed_msg.h). */
#include "fed_msg.h"

#include <stdio.h>
#include <string.h>
#include "fed.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

mote_status_t mote_fed_global_msg_encode(const uint8_t sk[64], uint32_t round, uint64_t version,
                                         const uint8_t *blob, size_t len, uint8_t *out, size_t cap,
                                         size_t *written)
{
    if (!sk || !blob || !len || !out)
        return MOTE_ERR_ARG;
    if (cap < MOTE_FED_GLOBAL_HDR || cap - MOTE_FED_GLOBAL_HDR < len)
        return MOTE_ERR_LIMIT;
    memcpy(out, MOTE_FED_GLOBAL_MAGIC, 4);
    out[4] = 1, out[5] = 0, out[6] = 0, out[7] = 0;
    put32(out + 8, round);
    put64(out + 12, version);
    mote_status_t st = mote_fed_global_sign(sk, round, version, blob, len, out + 20);
    if (st)
        return st;
    memcpy(out + MOTE_FED_GLOBAL_HDR, blob, len);
    if (written)
        *written = MOTE_FED_GLOBAL_HDR + len;
    return MOTE_OK;
}

static mote_status_t fail(char *msg, size_t size, mote_status_t st, const char *what)
{
    if (msg && size)
        snprintf(msg, size, "fl/global: %s", what);
    return st;
}

mote_status_t mote_fed_global_msg_decode(const uint8_t *buf, size_t len, const uint8_t pk[32],
                                         mote_fed_global_msg_t *m, char *msg, size_t msg_size)
{
    if (!m || !pk || (!buf && len))
        return fail(msg, msg_size, MOTE_ERR_ARG, "no buffer");
    memset(m, 0, sizeof *m);
    if (len <= MOTE_FED_GLOBAL_HDR)
        return fail(msg, msg_size, MOTE_ERR_TRUNCATED, "shorter than its 84-byte header plus a head");
    if (memcmp(buf, MOTE_FED_GLOBAL_MAGIC, 4) != 0)
        return fail(msg, msg_size, MOTE_ERR_CORRUPT, "magic is not MFLG");
    if (get_le(buf + 4, 2) != 1)
        return fail(msg, msg_size, MOTE_ERR_VERSION, "format version is not 1");
    if (get_le(buf + 6, 2) != 0)
        return fail(msg, msg_size, MOTE_ERR_CORRUPT, "reserved bytes 6-7 are not 0");
    const uint32_t round = (uint32_t)get_le(buf + 8, 4);
    const uint64_t version = get_le(buf + 12, 8);
    const uint8_t *blob = buf + MOTE_FED_GLOBAL_HDR;
    const size_t n = len - MOTE_FED_GLOBAL_HDR;
    if (mote_fed_global_verify(pk, round, version, blob, n, buf + 20) != MOTE_OK)
        return fail(msg, msg_size, MOTE_ERR_VERIFY, "bad signature (not signed by the fleet key)");
    m->round = round, m->version = version, m->blob = blob, m->blob_len = n;
    if (msg && msg_size)
        msg[0] = '\0';
    return MOTE_OK;
}
