/* Signed model bundles: building, and streaming verification (bundle.h). */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "bundle.h"
#include "mote/le.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Domain separation: a signature over a bundle digest can never be
 * mistaken for a signature over some other 32-byte message of the fleet. */
static const char SIG_CONTEXT[] = "mote-bundle-v1";

#define OFF_VERSION 8
#define OFF_COUNT 10
#define OFF_RESERVED 12
#define OFF_MODEL_VERSION 16
#define OFF_CREATED 24
#define OFF_NAME 32
#define OFF_TARGET 96
#define ENT_LEN_OFF 56
#define ENT_SHA_OFF 64
#define ENT_RES_OFF 96

static int is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void fmt_msg(char *msg, size_t size, const char *fmt, va_list ap)
{
    if (msg && size)
        vsnprintf(msg, size, fmt, ap);
}

static mote_status_t reason_status(mote_bundle_reason_t r)
{
    switch (r) {
    case MOTE_BUNDLE_OK: return MOTE_OK;
    case MOTE_BUNDLE_E_ARG: return MOTE_ERR_ARG;
    case MOTE_BUNDLE_E_FORMAT: return MOTE_ERR_VERSION;
    case MOTE_BUNDLE_E_TRUNCATED: return MOTE_ERR_TRUNCATED;
    case MOTE_BUNDLE_E_UNKNOWN_KEY: return MOTE_ERR_NOT_FOUND;
    case MOTE_BUNDLE_E_SIGNATURE: return MOTE_ERR_VERIFY;
    case MOTE_BUNDLE_E_HASH: return MOTE_ERR_VERIFY;
    case MOTE_BUNDLE_E_DOWNGRADE: return MOTE_ERR_VERSION;
    case MOTE_BUNDLE_E_TARGET: return MOTE_ERR_UNSUPPORTED;
    case MOTE_BUNDLE_E_NOMEM: return MOTE_ERR_NOMEM;
    default: return MOTE_ERR_CORRUPT;
    }
}

const char *mote_bundle_reason_str(mote_bundle_reason_t r)
{
    static const char *const names[] = {
        "ok", "bad argument", "bad magic", "unknown format version", "invalid field",
        "truncated", "trailing bytes", "unknown key", "bad signature",
        "payload hash mismatch", "downgrade or replay", "wrong target", "out of memory",
    };
    if ((unsigned)r < sizeof names / sizeof names[0])
        return names[r];
    return "unknown reason";
}

/* Record the verifier's first error; later errors are consequences. */
static mote_status_t fail(mote_bundle_verifier_t *v, mote_bundle_reason_t r, const char *fmt, ...)
{
    if (v->status == MOTE_OK) {
        va_list ap;
        va_start(ap, fmt);
        fmt_msg(v->msg, sizeof v->msg, fmt, ap);
        va_end(ap);
        v->reason = r;
        v->status = reason_status(r);
    }
    return v->status;
}

static mote_status_t fail_msg(char *msg, size_t size, mote_status_t st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_msg(msg, size, fmt, ap);
    va_end(ap);
    return st;
}

/* ---- names ---- */

/* A file name safe to create inside a slot folder: no '/', no leading '.'
 * (so neither "..", nor hidden files), only [A-Za-z0-9_.-]. */
static int safe_name(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n == 0 || n >= max || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

static int printable_name(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    if (n == 0 || n >= max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0;
    return 1;
}

/* A fixed-size NUL-padded field: copies it out as a C string and checks
 * that it is terminated and that the padding is all zero (one canonical
 * encoding per value). */
static int read_field(const uint8_t *p, size_t size, char *out)
{
    size_t n = strnlen((const char *)p, size);
    if (n >= size || !is_zero(p + n, size - n))
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

void mote_bundle_key_id(const uint8_t pk[crypto_sign_PUBLICKEYBYTES], uint8_t id[MOTE_BUNDLE_KEYID_LEN])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, pk, crypto_sign_PUBLICKEYBYTES);
    memcpy(id, h, MOTE_BUNDLE_KEYID_LEN);
}

static void signed_digest(const uint8_t *prefix, size_t signed_len, uint8_t digest[32])
{
    crypto_hash_sha256_state s;
    crypto_hash_sha256_init(&s);
    crypto_hash_sha256_update(&s, (const uint8_t *)SIG_CONTEXT, sizeof SIG_CONTEXT - 1);
    crypto_hash_sha256_update(&s, prefix, signed_len);
    crypto_hash_sha256_final(&s, digest);
}

/* ---- build ---- */

static mote_status_t check_build_args(const mote_bundle_info_t *hdr, const mote_bundle_input_t *in,
                                      size_t n_in, char *msg, size_t size)
{
    if (!safe_name(hdr->name, MOTE_BUNDLE_NAME_LEN))
        return fail_msg(msg, size, MOTE_ERR_ARG, "model name must be 1..63 of [A-Za-z0-9_.-], not starting with '.'");
    if (!printable_name(hdr->target, MOTE_BUNDLE_NAME_LEN))
        return fail_msg(msg, size, MOTE_ERR_ARG, "target must be 1..63 printable ASCII characters");
    if (hdr->version == 0)
        return fail_msg(msg, size, MOTE_ERR_ARG, "model version must be > 0");
    if (n_in == 0 || n_in > MOTE_BUNDLE_MAX_PAYLOADS)
        return fail_msg(msg, size, MOTE_ERR_LIMIT, "%zu payloads; 1..%d allowed", n_in, MOTE_BUNDLE_MAX_PAYLOADS);
    for (size_t i = 0; i < n_in; i++) {
        if (!in[i].name || !safe_name(in[i].name, MOTE_BUNDLE_PNAME_LEN))
            return fail_msg(msg, size, MOTE_ERR_ARG, "payload %zu: name must be 1..55 of [A-Za-z0-9_.-], not starting with '.'", i);
        if (in[i].len == 0 || in[i].len > MOTE_BUNDLE_MAX_PAYLOAD_LEN || !in[i].data)
            return fail_msg(msg, size, MOTE_ERR_LIMIT, "payload '%s': %zu bytes; 1..%u allowed", in[i].name, in[i].len, MOTE_BUNDLE_MAX_PAYLOAD_LEN);
        for (size_t j = 0; j < i; j++)
            if (strcmp(in[i].name, in[j].name) == 0)
                return fail_msg(msg, size, MOTE_ERR_ARG, "payload name '%s' appears twice", in[i].name);
    }
    return MOTE_OK;
}

static void write_header(uint8_t *b, const mote_bundle_info_t *hdr, size_t n_in)
{
    memcpy(b, MOTE_BUNDLE_MAGIC, 8);
    mote_le_put(b + OFF_VERSION, MOTE_BUNDLE_FORMAT, 2);
    mote_le_put(b + OFF_COUNT, n_in, 2);
    mote_le_put(b + OFF_MODEL_VERSION, hdr->version, 8);
    mote_le_put(b + OFF_CREATED, hdr->created, 8);
    memcpy(b + OFF_NAME, hdr->name, strlen(hdr->name));
    memcpy(b + OFF_TARGET, hdr->target, strlen(hdr->target));
}

static void write_entry(uint8_t *e, const mote_bundle_input_t *in)
{
    memcpy(e, in->name, strlen(in->name));
    mote_le_put(e + ENT_LEN_OFF, in->len, 8);
    crypto_hash_sha256(e + ENT_SHA_OFF, in->data, in->len);
}

mote_status_t mote_bundle_build(const mote_bundle_info_t *hdr, const mote_bundle_input_t *in,
                                size_t n_in, const uint8_t sk[crypto_sign_SECRETKEYBYTES],
                                uint8_t **out, size_t *out_len, char *msg, size_t msg_size)
{
    if (!hdr || !sk || !out || !out_len || (n_in && !in))
        return fail_msg(msg, msg_size, MOTE_ERR_ARG, "NULL argument");
    *out = NULL;
    *out_len = 0;
    mote_status_t st = check_build_args(hdr, in, n_in, msg, msg_size);
    if (st != MOTE_OK)
        return st;
    if (sodium_init() < 0)
        return fail_msg(msg, msg_size, MOTE_ERR_STATE, "libsodium failed to initialize");
    size_t p = MOTE_BUNDLE_HEADER_LEN + n_in * MOTE_BUNDLE_ENTRY_LEN;
    size_t total = p + MOTE_BUNDLE_KEYID_LEN + MOTE_BUNDLE_SIG_LEN;
    for (size_t i = 0; i < n_in; i++)
        total += in[i].len; /* cannot overflow: at most 8 x 256 MiB */
    uint8_t *b = calloc(1, total);
    if (!b)
        return fail_msg(msg, msg_size, MOTE_ERR_NOMEM, "cannot allocate %zu bytes for the bundle", total);
    write_header(b, hdr, n_in);
    size_t at = p + MOTE_BUNDLE_KEYID_LEN + MOTE_BUNDLE_SIG_LEN;
    for (size_t i = 0; i < n_in; i++) {
        write_entry(b + MOTE_BUNDLE_HEADER_LEN + i * MOTE_BUNDLE_ENTRY_LEN, &in[i]);
        memcpy(b + at, in[i].data, in[i].len);
        at += in[i].len;
    }
    /* libsodium's secret key holds the public key in its second half. */
    mote_bundle_key_id(sk + 32, b + p);
    uint8_t digest[32];
    signed_digest(b, p + MOTE_BUNDLE_KEYID_LEN, digest);
    crypto_sign_detached(b + p + MOTE_BUNDLE_KEYID_LEN, NULL, digest, sizeof digest, sk);
    *out = b;
    *out_len = total;
    return MOTE_OK;
}

/* ---- verification ---- */

mote_status_t mote_bundle_verify_init(mote_bundle_verifier_t *v, const mote_bundle_policy_t *policy)
{
    if (!v)
        return MOTE_ERR_ARG;
    memset(v, 0, sizeof *v);
    if (!policy || (policy->n_keys && !policy->keys))
        return fail(v, MOTE_BUNDLE_E_ARG, "NULL policy or key list");
    if (sodium_init() < 0)
        return fail(v, MOTE_BUNDLE_E_ARG, "libsodium failed to initialize");
    v->policy = *policy;
    return MOTE_OK;
}

/* Fixed header: everything that decides how many bytes are signed. */
static mote_status_t parse_header(mote_bundle_verifier_t *v)
{
    const uint8_t *h = v->prefix;
    mote_bundle_info_t *inf = &v->info;
    if (memcmp(h, MOTE_BUNDLE_MAGIC, 8) != 0)
        return fail(v, MOTE_BUNDLE_E_MAGIC, "bad magic at offset 0: not a mote bundle");
    unsigned fmt = (unsigned)mote_le_get(h + OFF_VERSION, 2);
    if (fmt != MOTE_BUNDLE_FORMAT)
        return fail(v, MOTE_BUNDLE_E_FORMAT, "format version %u at offset %d; this reader knows %d", fmt, OFF_VERSION, MOTE_BUNDLE_FORMAT);
    inf->n_payloads = (uint32_t)mote_le_get(h + OFF_COUNT, 2);
    if (inf->n_payloads == 0 || inf->n_payloads > MOTE_BUNDLE_MAX_PAYLOADS)
        return fail(v, MOTE_BUNDLE_E_FIELD, "payload count %u at offset %d out of range 1..%d", inf->n_payloads, OFF_COUNT, MOTE_BUNDLE_MAX_PAYLOADS);
    if (!is_zero(h + OFF_RESERVED, 4))
        return fail(v, MOTE_BUNDLE_E_FIELD, "reserved bytes at offset %d are not zero", OFF_RESERVED);
    inf->version = mote_le_get(h + OFF_MODEL_VERSION, 8);
    inf->created = mote_le_get(h + OFF_CREATED, 8);
    if (inf->version == 0)
        return fail(v, MOTE_BUNDLE_E_FIELD, "model version 0 at offset %d (must be > 0)", OFF_MODEL_VERSION);
    if (!read_field(h + OFF_NAME, MOTE_BUNDLE_NAME_LEN, inf->name) || !safe_name(inf->name, MOTE_BUNDLE_NAME_LEN))
        return fail(v, MOTE_BUNDLE_E_FIELD, "model name at offset %d is not 1..63 of [A-Za-z0-9_.-] NUL-padded", OFF_NAME);
    if (!read_field(h + OFF_TARGET, MOTE_BUNDLE_NAME_LEN, inf->target) || !printable_name(inf->target, MOTE_BUNDLE_NAME_LEN))
        return fail(v, MOTE_BUNDLE_E_FIELD, "target at offset %d is not 1..63 printable characters NUL-padded", OFF_TARGET);
    v->prefix_need = MOTE_BUNDLE_HEADER_LEN + inf->n_payloads * MOTE_BUNDLE_ENTRY_LEN + MOTE_BUNDLE_KEYID_LEN + MOTE_BUNDLE_SIG_LEN;
    return MOTE_OK;
}

static mote_status_t parse_entry(mote_bundle_verifier_t *v, uint32_t i, uint64_t *at)
{
    const uint32_t off = MOTE_BUNDLE_HEADER_LEN + i * MOTE_BUNDLE_ENTRY_LEN;
    const uint8_t *e = v->prefix + off;
    mote_bundle_entry_t *pe = &v->info.payload[i];
    if (!read_field(e, MOTE_BUNDLE_PNAME_LEN, pe->name) || !safe_name(pe->name, MOTE_BUNDLE_PNAME_LEN))
        return fail(v, MOTE_BUNDLE_E_FIELD, "payload %u name at offset %u is not a safe file name", i, off);
    for (uint32_t j = 0; j < i; j++)
        if (strcmp(pe->name, v->info.payload[j].name) == 0)
            return fail(v, MOTE_BUNDLE_E_FIELD, "payload %u name '%s' at offset %u repeats payload %u", i, pe->name, off, j);
    pe->len = mote_le_get(e + ENT_LEN_OFF, 8);
    if (pe->len == 0 || pe->len > MOTE_BUNDLE_MAX_PAYLOAD_LEN)
        return fail(v, MOTE_BUNDLE_E_FIELD, "payload '%s' length %llu at offset %u out of range 1..%u", pe->name,
                    (unsigned long long)pe->len, off + ENT_LEN_OFF, MOTE_BUNDLE_MAX_PAYLOAD_LEN);
    if (!is_zero(e + ENT_RES_OFF, MOTE_BUNDLE_ENTRY_LEN - ENT_RES_OFF))
        return fail(v, MOTE_BUNDLE_E_FIELD, "payload %u reserved bytes at offset %u are not zero", i, off + ENT_RES_OFF);
    memcpy(pe->sha256, e + ENT_SHA_OFF, 32);
    pe->offset = *at;
    *at += pe->len;
    return MOTE_OK;
}

static const mote_bundle_key_t *find_key(const mote_bundle_verifier_t *v, const uint8_t id[8])
{
    for (size_t i = 0; i < v->policy.n_keys; i++) {
        uint8_t kid[MOTE_BUNDLE_KEYID_LEN];
        mote_bundle_key_id(v->policy.keys[i].pk, kid);
        if (memcmp(kid, id, sizeof kid) == 0)
            return &v->policy.keys[i];
    }
    return NULL;
}

/* Authenticity first, then policy: an unsigned bundle is reported as
 * unsigned, never as "too old" or "wrong target". */
static mote_status_t check_signature(mote_bundle_verifier_t *v)
{
    const uint32_t p = MOTE_BUNDLE_HEADER_LEN + v->info.n_payloads * MOTE_BUNDLE_ENTRY_LEN;
    memcpy(v->info.key_id, v->prefix + p, MOTE_BUNDLE_KEYID_LEN);
    const mote_bundle_key_t *k = find_key(v, v->info.key_id);
    if (!k) {
        const uint8_t *id = v->info.key_id;
        return fail(v, MOTE_BUNDLE_E_UNKNOWN_KEY, "key id %02x%02x%02x%02x%02x%02x%02x%02x at offset %u is not a trusted key",
                    id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], p);
    }
    uint8_t digest[32];
    signed_digest(v->prefix, p + MOTE_BUNDLE_KEYID_LEN, digest);
    if (crypto_sign_verify_detached(v->prefix + p + MOTE_BUNDLE_KEYID_LEN, digest, sizeof digest, k->pk) != 0)
        return fail(v, MOTE_BUNDLE_E_SIGNATURE, "signature at offset %u does not match header and payload hashes", p + MOTE_BUNDLE_KEYID_LEN);
    return MOTE_OK;
}

static mote_status_t check_policy(mote_bundle_verifier_t *v)
{
    const mote_bundle_info_t *inf = &v->info;
    if (inf->version <= v->policy.installed_version)
        return fail(v, MOTE_BUNDLE_E_DOWNGRADE, "model version %llu (offset %d) is not newer than installed version %llu",
                    (unsigned long long)inf->version, OFF_MODEL_VERSION, (unsigned long long)v->policy.installed_version);
    if (v->policy.target && strcmp(v->policy.target, inf->target) != 0)
        return fail(v, MOTE_BUNDLE_E_TARGET, "target '%s' (offset %d) is not this device's '%s'", inf->target, OFF_TARGET, v->policy.target);
    return MOTE_OK;
}

static mote_status_t parse_prefix(mote_bundle_verifier_t *v)
{
    uint64_t at = v->prefix_need;
    for (uint32_t i = 0; i < v->info.n_payloads; i++)
        if (parse_entry(v, i, &at) != MOTE_OK)
            return v->status;
    v->info.total_len = at;
    if (check_signature(v) != MOTE_OK || check_policy(v) != MOTE_OK)
        return v->status;
    v->prefix_ok = 1;
    crypto_hash_sha256_init(&v->sha);
    return MOTE_OK;
}

/* Take bytes of the signed prefix; returns how many were used. */
static size_t feed_prefix(mote_bundle_verifier_t *v, const uint8_t *d, size_t len)
{
    uint32_t need = v->prefix_need ? v->prefix_need : MOTE_BUNDLE_HEADER_LEN;
    size_t take = need - (size_t)v->consumed;
    if (take > len)
        take = len;
    memcpy(v->prefix + v->consumed, d, take);
    v->consumed += take;
    if (v->consumed == need) {
        if (v->prefix_need == 0)
            parse_header(v);
        else
            parse_prefix(v);
    }
    return take;
}

static size_t feed_payload(mote_bundle_verifier_t *v, const uint8_t *d, size_t len)
{
    if (v->cur >= v->info.n_payloads) {
        fail(v, MOTE_BUNDLE_E_TRAILING, "unexpected bytes at offset %llu after the last payload (bundle is %llu bytes)",
             (unsigned long long)v->consumed, (unsigned long long)v->info.total_len);
        return len;
    }
    const mote_bundle_entry_t *pe = &v->info.payload[v->cur];
    uint64_t left = pe->len - v->cur_done;
    size_t take = left < len ? (size_t)left : len;
    crypto_hash_sha256_update(&v->sha, d, take);
    v->cur_done += take;
    v->consumed += take;
    if (v->cur_done == pe->len) {
        uint8_t h[32];
        crypto_hash_sha256_final(&v->sha, h);
        if (sodium_memcmp(h, pe->sha256, 32) != 0)
            fail(v, MOTE_BUNDLE_E_HASH, "payload '%s' (offset %llu, %llu bytes): SHA-256 differs from its entry",
                 pe->name, (unsigned long long)pe->offset, (unsigned long long)pe->len);
        v->cur++;
        v->cur_done = 0;
        crypto_hash_sha256_init(&v->sha);
    }
    return take;
}

mote_status_t mote_bundle_verify_update(mote_bundle_verifier_t *v, const void *data, size_t len)
{
    if (!v)
        return MOTE_ERR_ARG;
    if (len && !data)
        return fail(v, MOTE_BUNDLE_E_ARG, "NULL data");
    const uint8_t *d = data;
    while (len && v->status == MOTE_OK) {
        size_t used = v->prefix_ok ? feed_payload(v, d, len) : feed_prefix(v, d, len);
        d += used;
        len -= used;
    }
    return v->status;
}

mote_status_t mote_bundle_verify_final(mote_bundle_verifier_t *v)
{
    if (!v)
        return MOTE_ERR_ARG;
    if (v->status != MOTE_OK)
        return v->status;
    if (!v->prefix_ok) {
        uint32_t need = v->prefix_need ? v->prefix_need : MOTE_BUNDLE_HEADER_LEN;
        return fail(v, MOTE_BUNDLE_E_TRUNCATED, "truncated at offset %llu inside the %s (needs %u bytes)",
                    (unsigned long long)v->consumed, v->prefix_need ? "payload entries / signature" : "header", need);
    }
    if (v->cur < v->info.n_payloads)
        return fail(v, MOTE_BUNDLE_E_TRUNCATED, "truncated at offset %llu inside payload '%s' (bundle is %llu bytes)",
                    (unsigned long long)v->consumed, v->info.payload[v->cur].name, (unsigned long long)v->info.total_len);
    return MOTE_OK;
}

const mote_bundle_info_t *mote_bundle_verify_info(const mote_bundle_verifier_t *v)
{
    return v && v->prefix_ok ? &v->info : NULL;
}

const char *mote_bundle_verify_error(const mote_bundle_verifier_t *v)
{
    return v ? v->msg : "";
}

mote_bundle_reason_t mote_bundle_verify_reason(const mote_bundle_verifier_t *v)
{
    return v ? v->reason : MOTE_BUNDLE_E_ARG;
}

mote_status_t mote_bundle_verify(const void *buf, size_t len, const mote_bundle_policy_t *policy,
                                 mote_bundle_info_t *info, mote_bundle_reason_t *reason,
                                 char *msg, size_t msg_size)
{
    mote_bundle_verifier_t *v = malloc(sizeof *v);
    if (!v) {
        if (reason)
            *reason = MOTE_BUNDLE_E_NOMEM;
        return fail_msg(msg, msg_size, MOTE_ERR_NOMEM, "cannot allocate a bundle verifier");
    }
    mote_status_t st = mote_bundle_verify_init(v, policy);
    if (st == MOTE_OK)
        st = mote_bundle_verify_update(v, buf, len);
    if (st == MOTE_OK)
        st = mote_bundle_verify_final(v);
    if (st == MOTE_OK && info)
        *info = v->info;
    if (reason)
        *reason = v->reason;
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", v->msg);
    free(v);
    return st;
}
