/* Bundles, files and provisioning for the agent tools (pack.h). */
#define _POSIX_C_SOURCE 200809L
#include "pack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "agent_int.h"

mote_status_t mote_pack_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, char *msg,
                                  size_t msg_size)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(msg, msg_size, "%s: %s", path, strerror(errno));
        return MOTE_ERR_IO;
    }
    size_t cap = 65536, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap >= max) {
            free(b);
            fclose(f);
            snprintf(msg, msg_size, "%s: larger than %zu bytes", path, max);
            return MOTE_ERR_LIMIT;
        }
        uint8_t *nb = realloc(b, cap * 2);
        if (!nb)
            free(b);
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        free(b);
        snprintf(msg, msg_size, "%s: %s", path, b ? "read error" : "out of memory");
        return b ? MOTE_ERR_IO : MOTE_ERR_NOMEM;
    }
    *buf = b;
    *len = n;
    return MOTE_OK;
}

mote_status_t mote_pack_write_file(const char *path, const void *buf, size_t len, char *msg,
                                   size_t msg_size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        snprintf(msg, msg_size, "%s: %s", path, strerror(errno));
        return MOTE_ERR_IO;
    }
    return MOTE_OK;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

mote_status_t mote_pack_bundle(const uint8_t sk[crypto_sign_SECRETKEYBYTES], const char *name,
                               uint64_t version, const char *target, const char *const *files,
                               size_t n_files, uint8_t **out, size_t *out_len, char *msg, size_t msg_size)
{
    if (n_files == 0 || n_files > MOTE_BUNDLE_MAX_PAYLOADS) {
        snprintf(msg, msg_size, "1..%d files per bundle", MOTE_BUNDLE_MAX_PAYLOADS);
        return MOTE_ERR_ARG;
    }
    mote_bundle_input_t in[MOTE_BUNDLE_MAX_PAYLOADS];
    uint8_t *data[MOTE_BUNDLE_MAX_PAYLOADS] = {0};
    mote_status_t st = MOTE_OK;
    for (size_t i = 0; i < n_files && st == MOTE_OK; i++) {
        size_t len;
        st = mote_pack_read_file(files[i], MOTE_BUNDLE_MAX_PAYLOAD_LEN, &data[i], &len, msg, msg_size);
        in[i] = (mote_bundle_input_t){base_name(files[i]), data[i], len};
    }
    if (st == MOTE_OK) {
        mote_bundle_info_t hdr;
        memset(&hdr, 0, sizeof hdr);
        snprintf(hdr.name, sizeof hdr.name, "%s", name);
        snprintf(hdr.target, sizeof hdr.target, "%s", target);
        hdr.version = version;
        hdr.created = (uint64_t)time(NULL);
        st = mote_bundle_build(&hdr, in, n_files, sk, out, out_len, msg, msg_size);
    }
    for (size_t i = 0; i < n_files; i++)
        free(data[i]);
    return st;
}

void mote_pack_sha256(const void *buf, size_t len, uint8_t out[32])
{
    crypto_hash_sha256(out, buf, len);
}

mote_status_t mote_agent_provision(mote_agent_t *a, const uint8_t *bundle, size_t len)
{
    mote_bundle_policy_t p = {&a->key, 1, a->cfg.device_class, 0};
    mote_bundle_info_t info;
    char why[MOTE_BUNDLE_MSG_LEN];
    mote_status_t st = mote_bundle_verify(bundle, len, &p, &info, NULL, why, sizeof why);
    uint64_t off = 0;
    if (st != MOTE_OK) {
        snprintf(a->msg, sizeof a->msg, "provision: %s", why);
        return st;
    }
    /* never disturb a newer model or a download in progress */
    if (info.version <= mote_slots_record(&a->slots)->version)
        return MOTE_ERR_VERSION;
    if (a->ota.active)
        return MOTE_ERR_STATE;
    st = mote_slots_install_begin(&a->slots, info.version, &off);
    if (st == MOTE_OK && off < len)
        st = mote_slots_install_write(&a->slots, bundle + off, len - off);
    if (st == MOTE_OK)
        st = mote_slots_install_commit(&a->slots);
    if (st == MOTE_OK)
        st = mote_slots_health_check(&a->slots, 8);
    if (st == MOTE_OK)
        st = mote_slots_confirm(&a->slots);
    if (st != MOTE_OK) {
        snprintf(a->msg, sizeof a->msg, "provision: %s", mote_slots_error(&a->slots));
        mote_slots_install_abort(&a->slots);
        return st;
    }
    mote_agent_logf(a, "provisioned %s version %llu", info.name, (unsigned long long)info.version);
    a->state_dirty = 1;
    return mote_agent_load_model(a);
}
