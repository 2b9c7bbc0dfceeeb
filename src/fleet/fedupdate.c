/* mote fleet: federated update wire format (see fedupdate.h). */
#include "fedupdate.h"
#include "mote/le.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include "mote/crc32.h"


static float f32_of(uint32_t w)
{
    float f;
    memcpy(&f, &w, 4);
    return f;
}
static uint32_t bits_of(float f)
{
    uint32_t w;
    memcpy(&w, &f, 4);
    return w;
}

size_t mote_fedup_size(uint8_t encoding, uint8_t flags, uint32_t n_params)
{
    if (n_params == 0 || n_params > MOTE_FEDUP_MAX_PARAMS)
        return 0;
    size_t width = encoding == MOTE_FEDUP_I8 ? 1 : encoding == MOTE_FEDUP_U32 ? 4 : 0;
    if (width == 0)
        return 0;
    return MOTE_FEDUP_HEADER + width * n_params + ((flags & MOTE_FEDUP_F_MAC) ? 16u : 0u) + 4u;
}

/* Field checks shared by encoder and decoder; NULL when all is well. */
static const char *bad_field(const mote_fedup_t *u)
{
    if (u->encoding != MOTE_FEDUP_I8 && u->encoding != MOTE_FEDUP_U32)
        return "encoding";
    if (u->flags & ~(MOTE_FEDUP_F_MASKED | MOTE_FEDUP_F_MAC))
        return "flags";
    if ((u->flags & MOTE_FEDUP_F_MASKED) && u->encoding != MOTE_FEDUP_U32)
        return "flags (masked needs encoding 2)";
    if (u->round == 0)
        return "round";
    if (u->samples == 0 || u->samples > MOTE_FEDUP_MAX_SAMPLES)
        return "samples";
    if (u->n_params == 0 || u->n_params > MOTE_FEDUP_MAX_PARAMS)
        return "n_params";
    if (!isfinite(u->step) || !(u->step > 0.0f))
        return "step";
    return NULL;
}

static void write_header(const mote_fedup_t *u, uint8_t *o)
{
    memcpy(o, MOTE_FEDUP_MAGIC, 4);
    mote_le_put16(o + 4, MOTE_FEDUP_VERSION);
    o[6] = u->encoding, o[7] = u->flags;
    mote_le_put32(o + 8, u->round), mote_le_put32(o + 12, u->device), mote_le_put32(o + 16, u->samples);
    mote_le_put32(o + 20, u->n_params), mote_le_put32(o + 24, bits_of(u->step)), mote_le_put32(o + 28, 0);
    mote_le_put32(o + 32, (uint32_t)u->base_version), mote_le_put32(o + 36, (uint32_t)(u->base_version >> 32));
}

static void mac(const uint8_t *key, const uint8_t *p, size_t n, uint8_t out[16])
{
    crypto_generichash(out, MOTE_FEDUP_MAC_LEN, p, n, key, MOTE_FEDUP_KEY_LEN);
}

mote_status_t mote_fedup_encode(const mote_fedup_t *u, const uint8_t *key, uint8_t *out,
                                size_t cap, size_t *written)
{
    if (!u || !out || !u->payload || bad_field(u) || !key != !(u->flags & MOTE_FEDUP_F_MAC))
        return MOTE_ERR_ARG;
    const size_t total = mote_fedup_size(u->encoding, u->flags, u->n_params);
    if (cap < total)
        return MOTE_ERR_LIMIT;
    write_header(u, out);
    uint8_t *p = out + MOTE_FEDUP_HEADER;
    if (u->encoding == MOTE_FEDUP_I8) {
        const int8_t *q = u->payload;
        for (uint32_t k = 0; k < u->n_params; k++)
            if (q[k] == INT8_MIN)
                return MOTE_ERR_ARG;
        memcpy(p, q, u->n_params);
        p += u->n_params;
    } else {
        const uint32_t *w = u->payload;
        for (uint32_t k = 0; k < u->n_params; k++, p += 4)
            mote_le_put32(p, w[k]);
    }
    if (key) {
        mac(key, out, (size_t)(p - out), p);
        p += MOTE_FEDUP_MAC_LEN;
    }
    mote_le_put32(p, mote_crc32(out, (size_t)(p - out)));
    if (written)
        *written = total;
    return MOTE_OK;
}

static mote_status_t fail(char *msg, size_t size, mote_status_t s, const char *what)
{
    if (msg && size)
        snprintf(msg, size, "fl/up: %s", what);
    return s;
}

static void read_header(const uint8_t *b, mote_fedup_t *u)
{
    u->encoding = b[6], u->flags = b[7];
    u->round = mote_le_get32(b + 8), u->device = mote_le_get32(b + 12), u->samples = mote_le_get32(b + 16);
    u->n_params = mote_le_get32(b + 20), u->step = f32_of(mote_le_get32(b + 24));
    u->base_version = (uint64_t)mote_le_get32(b + 32) | (uint64_t)mote_le_get32(b + 36) << 32;
    u->payload = b + MOTE_FEDUP_HEADER;
}

/* Integrity of a buffer whose length already matches the header. */
static mote_status_t check_trailer(const uint8_t *buf, size_t len, const uint8_t *key,
                                   uint8_t flags, char *msg, size_t size)
{
    if (mote_le_get32(buf + len - 4) != mote_crc32(buf, len - 4))
        return fail(msg, size, MOTE_ERR_VERIFY, "CRC mismatch");
    if (!(flags & MOTE_FEDUP_F_MAC))
        return MOTE_OK;
    if (!key)
        return fail(msg, size, MOTE_ERR_VERIFY, "MAC present but no device key");
    uint8_t want[MOTE_FEDUP_MAC_LEN];
    const size_t at = len - 4 - MOTE_FEDUP_MAC_LEN;
    mac(key, buf, at, want);
    if (sodium_memcmp(want, buf + at, MOTE_FEDUP_MAC_LEN) != 0)
        return fail(msg, size, MOTE_ERR_VERIFY, "MAC mismatch");
    return MOTE_OK;
}

mote_status_t mote_fedup_decode(const uint8_t *buf, size_t len, const uint8_t *key,
                                mote_fedup_t *u, char *msg, size_t msg_size)
{
    if (!buf || !u)
        return fail(msg, msg_size, MOTE_ERR_ARG, "NULL argument");
    if (len < MOTE_FEDUP_HEADER + 4)
        return fail(msg, msg_size, MOTE_ERR_TRUNCATED, "shorter than the header");
    if (memcmp(buf, MOTE_FEDUP_MAGIC, 4) != 0)
        return fail(msg, msg_size, MOTE_ERR_CORRUPT, "bad magic");
    if ((uint32_t)buf[4] + ((uint32_t)buf[5] << 8) != MOTE_FEDUP_VERSION)
        return fail(msg, msg_size, MOTE_ERR_VERSION, "unknown format version");
    mote_fedup_t t;
    read_header(buf, &t);
    const char *bad = bad_field(&t);
    if (!bad && mote_le_get32(buf + 28) != 0)
        bad = "reserved";
    if (bad)
        return fail(msg, msg_size, MOTE_ERR_CORRUPT, bad);
    const size_t want = mote_fedup_size(t.encoding, t.flags, t.n_params);
    if (len < want)
        return fail(msg, msg_size, MOTE_ERR_TRUNCATED, "shorter than its parameter count");
    if (len > want)
        return fail(msg, msg_size, MOTE_ERR_CORRUPT, "trailing bytes");
    mote_status_t s = check_trailer(buf, len, key, t.flags, msg, msg_size);
    if (s != MOTE_OK)
        return s;
    if (t.encoding == MOTE_FEDUP_I8)
        for (uint32_t k = 0; k < t.n_params; k++)
            if (buf[MOTE_FEDUP_HEADER + k] == 0x80u)
                return fail(msg, msg_size, MOTE_ERR_CORRUPT, "int8 value -128");
    *u = t;
    return MOTE_OK;
}

uint32_t mote_fedup_word(const mote_fedup_t *u, uint32_t k)
{
    return mote_le_get32((const uint8_t *)u->payload + 4u * (size_t)k);
}
