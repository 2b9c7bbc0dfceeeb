/* moted: answering chunk requests (ota/req -> ota/data) from the stored
 * bundle files. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "keys.h"
#include "moted_int.h"

/* Read exactly `len` bytes at `off` from a bundle file. */
static int read_range(const char *path, uint64_t off, uint8_t *dst, size_t len)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, dst + got, len - got, (off_t)(off + got));
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == len ? 0 : -1;
}

/* The model whose bundle has hash `hex`: from the cache, else the store
 * (then cached). 1 found, 0 unknown, negative error. */
static int bundle_lookup(mote_moted_t *m, const char *hex, mote_store_model_t *md, char *err, size_t errsz)
{
    for (unsigned i = 0; i < m->ota_cache_n; i++)
        if (strcmp(m->ota_cache[i].sha256, hex) == 0) {
            *md = m->ota_cache[i];
            return 1;
        }
    int r = mote_store_model_by_sha(m->store, hex, md, err, errsz);
    if (r > 0) {
        unsigned cap = sizeof m->ota_cache / sizeof m->ota_cache[0];
        m->ota_cache[m->ota_cache_next] = *md;
        m->ota_cache_next = (m->ota_cache_next + 1) % cap;
        if (m->ota_cache_n < cap)
            m->ota_cache_n++;
    }
    return r;
}

void mote_ota_serve(mote_moted_t *m, const char *dev, const mote_proto_ota_req_t *req)
{
    char hex[65], err[256];
    mote_hex_encode(req->bundle, 32, hex);
    mote_store_model_t md;
    if (bundle_lookup(m, hex, &md, err, sizeof err) <= 0) {
        m->n_bad++;
        mote_moted_log(m, "%s: asked for unknown bundle %.16s...", dev, hex);
        return;
    }
    /* A request past the end gets nothing: the device asked for a bundle
     * size it was never told, so an answer could only mislead it. */
    if (req->offset >= md.size || req->len == 0 || req->len > MOTE_PROTO_MAX_CHUNK) {
        m->n_bad++;
        mote_moted_log(m, "%s: chunk request out of range (offset %" PRIu64 ", size %" PRIu64 ")", dev, req->offset,
                       md.size);
        return;
    }
    uint64_t n = md.size - req->offset < req->len ? md.size - req->offset : req->len;
    uint8_t *buf = malloc(MOTE_PROTO_CHUNK_HDR + n), *data = malloc(n);
    mote_proto_chunk_t c = {{0}, req->offset, md.size, data, (uint32_t)n};
    memcpy(c.bundle, req->bundle, 32);
    size_t len = 0;
    char topic[MOTE_PROTO_TOPIC_LEN];
    if (!buf || !data || read_range(md.bundle_path, req->offset, data, n) != 0) {
        mote_moted_log(m, "%s: cannot read %s: %s", dev, md.bundle_path, strerror(errno));
    } else if (mote_proto_chunk_encode(&c, buf, MOTE_PROTO_CHUNK_HDR + n, &len) == MOTE_OK &&
               mote_proto_topic(topic, sizeof topic, dev, MOTE_TOPIC_OTA_DATA) == MOTE_OK &&
               moted_publish(m, topic, buf, len, 1) == MOTE_OK) {
        m->n_chunk++;
    }
    free(buf);
    free(data);
}
