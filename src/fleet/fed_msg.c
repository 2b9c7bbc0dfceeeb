/* mote fleet: codec of the signed global head broadcast (fed_msg.h). */
#include "fed_msg.h"
#include "mote/le.h"

#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "fed.h"
#include "mote/crc32.h"

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
    mote_le_put32(out + 8, round);
    mote_le_put64(out + 12, version);
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
    if (mote_le_get(buf + 4, 2) != 1)
        return fail(msg, msg_size, MOTE_ERR_VERSION, "format version is not 1");
    if (mote_le_get(buf + 6, 2) != 0)
        return fail(msg, msg_size, MOTE_ERR_CORRUPT, "reserved bytes 6-7 are not 0");
    const uint32_t round = (uint32_t)mote_le_get(buf + 8, 4);
    const uint64_t version = mote_le_get(buf + 12, 8);
    const uint8_t *blob = buf + MOTE_FED_GLOBAL_HDR;
    const size_t n = len - MOTE_FED_GLOBAL_HDR;
    if (mote_fed_global_verify(pk, round, version, blob, n, buf + 20) != MOTE_OK)
        return fail(msg, msg_size, MOTE_ERR_VERIFY, "bad signature (not signed by the fleet key)");
    m->round = round, m->version = version, m->blob = blob, m->blob_len = n;
    if (msg && msg_size)
        msg[0] = '\0';
    return MOTE_OK;
}

/* ---- secure aggregation messages ---- */

#define SEC_TYPES "KSVARFQ"

uint32_t mote_fl_sec_u32(const uint8_t *p)
{
    return (uint32_t)mote_le_get(p, 4);
}

void mote_fl_sec_put32(uint8_t *p, uint32_t v)
{
    mote_le_put32(p, v);
}

char mote_fl_sec_type(const uint8_t *buf, size_t len)
{
    if (!buf || len < 4 || memcmp(buf, "MFL", 3) != 0 || !buf[3] || !strchr(SEC_TYPES, buf[3]))
        return 0;
    return (char)buf[3];
}

size_t mote_fl_sec_entry_len(char type)
{
    switch (type) {
    case 'K': return MOTE_FL_SEC_ENTRY_K;
    case 'S': return MOTE_FL_SEC_ENTRY_S;
    case 'V': return MOTE_FL_SEC_ENTRY_V;
    case 'A': return MOTE_FL_SEC_ENTRY_A;
    case 'R': return MOTE_FL_SEC_ENTRY_R;
    case 'F': return MOTE_FL_SEC_ENTRY_F;
    case 'Q': return MOTE_FL_SEC_ENTRY_Q;
    default: return 0;
    }
}

/* moted's messages are signed; the devices' carry a CRC. */
static int sec_signed(char type)
{
    return type == 'A' || type == 'R' || type == 'F' || type == 'Q';
}

size_t mote_fl_sec_size(char type, uint32_t count)
{
    const size_t e = mote_fl_sec_entry_len(type);
    return e ? MOTE_FL_SEC_HDR + (size_t)count * e + (sec_signed(type) ? 64u : 4u) : 0;
}

/* Header fields in range for the type; NULL when fine, else the field. */
static const char *sec_header_bad(char type, uint32_t round, uint32_t id, uint32_t t, uint32_t count)
{
    const uint32_t max = type == 'F' ? MOTE_FL_SEC_MAX_FWD : type == 'K' ? 1u : MOTE_FL_SEC_MAX_ROSTER;
    if (round < 1)
        return "round is 0";
    if (sec_signed(type) ? id != 0 : (id < 1 || id > MOTE_FL_SEC_MAX_ROSTER))
        return sec_signed(type) ? "sender id of a moted message is not 0" : "sender id not in 1..1024";
    if (count < 1 || count > max)
        return type == 'K' ? "entry count of a keys message is not 1" : "entry count out of range";
    if ((type == 'A' || type == 'R') ? (t < 1 || t > count) : t != 0)
        return (type == 'A' || type == 'R') ? "threshold not in 1..count" : "threshold of this type is not 0";
    return NULL;
}

static int id_ok(const uint8_t *p)
{
    const uint32_t v = mote_fl_sec_u32(p);
    return v >= 1 && v <= MOTE_FL_SEC_MAX_ROSTER;
}

static int name_ok(const uint8_t *p)
{
    size_t n = 0;
    while (n < MOTE_FL_SEC_NAME_LEN && p[n])
        n++;
    for (size_t k = n; k < MOTE_FL_SEC_NAME_LEN; k++)
        if (p[k])
            return 0;
    return n > 0;
}

/* One entry's fields; NULL when fine. */
static const char *sec_entry_bad(char type, const uint8_t *e)
{
    switch (type) {
    case 'S': return id_ok(e) ? NULL : "holder id not in 1..1024";
    case 'V':
        if (!id_ok(e))
            return "owner id not in 1..1024";
        return e[4] == 1 || e[4] == 2 ? NULL : "share kind is not 1 (self seed) or 2 (key)";
    case 'A': return name_ok(e) ? NULL : "device id empty or not NUL-padded";
    case 'R': return id_ok(e) ? NULL : "roster id not in 1..1024";
    case 'F': return id_ok(e) && id_ok(e + 4) ? NULL : "sender or holder id not in 1..1024";
    case 'Q':
        if (!id_ok(e))
            return "device id not in 1..1024";
        return e[4] <= 1 ? NULL : "flag is not 0 or 1";
    default: return NULL;
    }
}

mote_status_t mote_fl_sec_encode(const mote_fl_sec_msg_t *m, const uint8_t *sk, uint8_t *out, size_t cap,
                                 size_t *written)
{
    if (!m || !out || !mote_fl_sec_entry_len(m->type) || (sec_signed(m->type) && !sk) || !m->entries ||
        sec_header_bad(m->type, m->round, m->id, m->t, m->count))
        return MOTE_ERR_ARG;
    const size_t n = mote_fl_sec_size(m->type, m->count), body = n - (sec_signed(m->type) ? 64u : 4u);
    if (cap < n)
        return MOTE_ERR_LIMIT;
    memcpy(out, "MFL", 3);
    out[3] = (uint8_t)m->type, out[4] = 1, out[5] = 0, out[6] = 0, out[7] = 0;
    mote_le_put32(out + 8, m->round), mote_le_put32(out + 12, m->id), mote_le_put32(out + 16, m->t), mote_le_put32(out + 20, m->count);
    memmove(out + MOTE_FL_SEC_HDR, m->entries, body - MOTE_FL_SEC_HDR);
    if (sec_signed(m->type))
        crypto_sign_detached(out + body, NULL, out, body, sk);
    else
        mote_le_put32(out + body, mote_crc32(out, body));
    if (written)
        *written = n;
    return MOTE_OK;
}

static mote_status_t sec_fail(char *msg, size_t size, mote_status_t st, char type, const char *what)
{
    if (msg && size)
        snprintf(msg, size, "fl/MFL%c: %s", type ? type : '?', what);
    return st;
}

/* Every entry's fields; MOTE_OK or the first bad one. */
static mote_status_t sec_entries(const mote_fl_sec_msg_t *m, char *msg, size_t size)
{
    const size_t e = mote_fl_sec_entry_len(m->type);
    for (uint32_t k = 0; k < m->count; k++) {
        const char *why = sec_entry_bad(m->type, m->entries + (size_t)k * e);
        if (why) {
            char line[128];
            snprintf(line, sizeof line, "entry %u: %s", k, why);
            return sec_fail(msg, size, MOTE_ERR_CORRUPT, m->type, line);
        }
    }
    return MOTE_OK;
}

mote_status_t mote_fl_sec_decode(const uint8_t *buf, size_t len, const uint8_t *pk, mote_fl_sec_msg_t *m,
                                 char *msg, size_t msg_size)
{
    if (!m || (!buf && len))
        return sec_fail(msg, msg_size, MOTE_ERR_ARG, 0, "no buffer");
    memset(m, 0, sizeof *m);
    if (len < MOTE_FL_SEC_HDR)
        return sec_fail(msg, msg_size, MOTE_ERR_TRUNCATED, 0, "shorter than its 24-byte header");
    const char type = mote_fl_sec_type(buf, len);
    if (!type)
        return sec_fail(msg, msg_size, MOTE_ERR_CORRUPT, 0, "magic is not MFL + one of K S V A R F Q");
    if (sec_signed(type) && !pk)
        return sec_fail(msg, msg_size, MOTE_ERR_ARG, type, "no fleet key to check the signature");
    if (mote_le_get(buf + 4, 2) != 1)
        return sec_fail(msg, msg_size, MOTE_ERR_VERSION, type, "format version is not 1");
    if (mote_le_get(buf + 6, 2) != 0)
        return sec_fail(msg, msg_size, MOTE_ERR_CORRUPT, type, "reserved bytes 6-7 are not 0");
    m->type = type, m->round = mote_fl_sec_u32(buf + 8), m->id = mote_fl_sec_u32(buf + 12);
    m->t = mote_fl_sec_u32(buf + 16), m->count = mote_fl_sec_u32(buf + 20);
    const char *why = sec_header_bad(type, m->round, m->id, m->t, m->count);
    if (why)
        return sec_fail(msg, msg_size, MOTE_ERR_CORRUPT, type, why);
    const size_t n = mote_fl_sec_size(type, m->count), body = n - (sec_signed(type) ? 64u : 4u);
    if (len != n)
        return sec_fail(msg, msg_size, len < n ? MOTE_ERR_TRUNCATED : MOTE_ERR_CORRUPT, type,
                        "length is not what the entry count implies");
    if (sec_signed(type) ? crypto_sign_verify_detached(buf + body, buf, body, pk) != 0
                         : mote_fl_sec_u32(buf + body) != mote_crc32(buf, body))
        return sec_fail(msg, msg_size, MOTE_ERR_VERIFY, type,
                        sec_signed(type) ? "bad signature (not signed by the fleet key)" : "CRC mismatch");
    m->entries = buf + MOTE_FL_SEC_HDR;
    mote_status_t st = sec_entries(m, msg, msg_size);
    if (st)
        return st;
    if (msg && msg_size)
        msg[0] = '\0';
    return MOTE_OK;
}
