/* mote pipeline: the float network file format (version 1).
 *
 * All fields little-endian:
 *   offset  size  field
 *   0       4     magic "MTNN"
 *   4       4     u32 version (1)
 *   8       4     u32 file size in bytes, CRC included
 *   12      4     u32 head (mote_nn_head_t)
 *   16      4     i32 input length T
 *   20      4     i32 input channels C
 *   24      4     u32 layer count L
 *   28      32*L  layer records: u32 type, i32 units, i32 kernel,
 *                 i32 stride, u32 padding, u32 init, u32 weight count,
 *                 u32 bias count
 *   ...     4*P   f32 parameters in the public flat order
 *   size-4  4     u32 CRC-32 (IEEE 802.3) of every byte before it
 * The counts are redundant with the shapes on purpose: a reader checks
 * them instead of trusting its own arithmetic on untrusted input. */
#include <math.h>
#include "mote/le.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mote/crc32.h"
#include "nn_internal.h"

enum { HEADER = 28, RECORD = 32, CRC_LEN = 4 };
static const uint8_t magic[4] = {'M', 'T', 'N', 'N'};

static float get_f32(const uint8_t *p)
{
    uint32_t u = mote_le_get32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- writing ---- */

static void put_layer(uint8_t *p, const nn_layer_t *l)
{
    const uint32_t f[8] = {(uint32_t)l->spec.type,    (uint32_t)l->spec.units,
                           (uint32_t)l->spec.kernel,  (uint32_t)l->spec.stride,
                           (uint32_t)l->spec.padding, (uint32_t)l->spec.init,
                           (uint32_t)l->n_w,          (uint32_t)l->n_b};
    for (int i = 0; i < 8; i++)
        mote_le_put32(p + 4 * i, f[i]);
}

mote_status_t mote_nn_serialize(const mote_nn_t *net, uint8_t **buf, size_t *len, char *msg,
                                size_t msg_size)
{
    if (!net || !buf || !len)
        return nn_fail(msg, msg_size, MOTE_ERR_ARG, "net, buf and len must not be NULL");
    uint64_t size = HEADER + (uint64_t)RECORD * net->n_layers + 4ull * net->n_params + CRC_LEN;
    if (size > UINT32_MAX)
        return nn_fail(msg, msg_size, MOTE_ERR_LIMIT, "network needs %llu bytes, the format "
                       "holds at most 4 GiB", (unsigned long long)size);
    uint8_t *p = malloc((size_t)size);
    if (!p)
        return nn_fail(msg, msg_size, MOTE_ERR_NOMEM, "out of memory for %llu bytes",
                       (unsigned long long)size);
    memcpy(p, magic, 4);
    const uint32_t h[6] = {MOTE_NN_FORMAT_VERSION, (uint32_t)size, (uint32_t)net->head,
                           (uint32_t)net->in_len, (uint32_t)net->in_ch, (uint32_t)net->n_layers};
    for (int i = 0; i < 6; i++)
        mote_le_put32(p + 4 + 4 * i, h[i]);
    for (int32_t i = 0; i < net->n_layers; i++)
        put_layer(p + HEADER + RECORD * i, &net->layers[i]);
    uint8_t *q = p + HEADER + RECORD * net->n_layers;
    for (size_t i = 0; i < net->n_params; i++) {
        uint32_t u;
        memcpy(&u, &net->params[i], sizeof u);
        mote_le_put32(q + 4 * i, u);
    }
    mote_le_put32(p + size - CRC_LEN, mote_crc32(p, (size_t)size - CRC_LEN));
    *buf = p;
    *len = (size_t)size;
    return MOTE_OK;
}

/* ---- reading ---- */

static mote_status_t check_envelope(const uint8_t *b, size_t len, char *msg, size_t n)
{
    if (len < HEADER + CRC_LEN)
        return nn_fail(msg, n, MOTE_ERR_TRUNCATED, "offset 0: file is %zu bytes, shorter than "
                       "the %d-byte header and CRC", len, HEADER + CRC_LEN);
    if (memcmp(b, magic, 4))
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset 0: magic is not \"MTNN\"; not a mote "
                       "network file");
    if (mote_le_get32(b + 4) != MOTE_NN_FORMAT_VERSION)
        return nn_fail(msg, n, MOTE_ERR_VERSION, "offset 4: version %u, this build reads %d",
                       (unsigned)mote_le_get32(b + 4), MOTE_NN_FORMAT_VERSION);
    uint32_t size = mote_le_get32(b + 8);
    if (size > len)
        return nn_fail(msg, n, MOTE_ERR_TRUNCATED, "offset 8: file size field says %u bytes, "
                       "only %zu present", (unsigned)size, len);
    if (size != len)
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset 8: file size field says %u bytes, "
                       "file has %zu", (unsigned)size, len);
    uint32_t stored = mote_le_get32(b + len - CRC_LEN), actual = mote_crc32(b, len - CRC_LEN);
    if (stored != actual)
        return nn_fail(msg, n, MOTE_ERR_VERIFY, "offset %zu: CRC-32 is 0x%08x, contents give "
                       "0x%08x", len - CRC_LEN, (unsigned)stored, (unsigned)actual);
    return MOTE_OK;
}

/* A field read from an untrusted file must fit an int32_t. */
static mote_status_t get_i32(const uint8_t *b, size_t off, const char *field, int32_t *v,
                             char *msg, size_t n)
{
    uint32_t u = mote_le_get32(b + off);
    if (u > INT32_MAX)
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset %zu: %s = %u is too large", off, field,
                       (unsigned)u);
    *v = (int32_t)u;
    return MOTE_OK;
}

static mote_status_t read_record(const uint8_t *b, int32_t i, mote_nn_layer_spec_t *s, char *msg,
                                 size_t n)
{
    static const char *const names[6] = {"type", "units", "kernel", "stride", "padding", "init"};
    int32_t v[6] = {0};
    size_t off = HEADER + (size_t)RECORD * i;
    for (int k = 0; k < 6; k++) {
        mote_status_t st = get_i32(b, off + 4 * k, names[k], &v[k], msg, n);
        if (st)
            return st;
    }
    *s = (mote_nn_layer_spec_t){(mote_nn_layer_type_t)v[0], v[1], v[2], v[3],
                                (mote_nn_padding_t)v[4], (mote_nn_init_t)v[5]};
    if (!strcmp(nn_type_name(s->type), "?"))
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset %zu: layer %d type %d is not a layer "
                       "type", off, (int)i, (int)v[0]);
    /* Strides are always stored resolved, so 0 here means a damaged file. */
    if ((s->type == MOTE_NN_CONV1D || s->type == MOTE_NN_MAX_POOL1D ||
         s->type == MOTE_NN_AVG_POOL1D) && s->stride == 0)
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset %zu: layer %d stride is 0", off + 12,
                       (int)i);
    return MOTE_OK;
}

static mote_status_t read_header(const uint8_t *b, size_t len, mote_nn_layer_spec_t *layers,
                                 mote_nn_head_t *head, int32_t *t, int32_t *c, int32_t *nl,
                                 char *msg, size_t n)
{
    uint32_t h = mote_le_get32(b + 12);
    if (h != MOTE_NN_HEAD_SOFTMAX_CE && h != MOTE_NN_HEAD_LINEAR_MSE)
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset 12: head %u is not a head type",
                       (unsigned)h);
    *head = (mote_nn_head_t)h;
    mote_status_t st = get_i32(b, 16, "input length", t, msg, n);
    if (!st)
        st = get_i32(b, 20, "input channels", c, msg, n);
    if (!st)
        st = get_i32(b, 24, "layer count", nl, msg, n);
    if (st)
        return st;
    if (*t < 1 || *c < 1 || (int64_t)*t * *c > MOTE_NN_MAX_ELEMS)
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset 16: input shape [%d][%d] must be >= 1 "
                       "and hold at most %d elements", (int)*t, (int)*c, MOTE_NN_MAX_ELEMS);
    if (*nl < 1 || *nl > MOTE_NN_MAX_LAYERS)
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset 24: layer count %d is outside [1, %d]",
                       (int)*nl, MOTE_NN_MAX_LAYERS);
    if (len < HEADER + (size_t)RECORD * *nl + CRC_LEN)
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset %d: %d layer records do not fit in "
                       "%zu bytes", HEADER, (int)*nl, len);
    for (int32_t i = 0; i < *nl && !st; i++)
        st = read_record(b, i, &layers[i], msg, n);
    return st;
}

/* The stored parameter counts must match what the shapes imply. */
static mote_status_t check_counts(const uint8_t *b, size_t len, const mote_nn_t *net, char *msg,
                                  size_t n)
{
    for (int32_t i = 0; i < net->n_layers; i++) {
        size_t off = HEADER + (size_t)RECORD * i + 24;
        const nn_layer_t *l = &net->layers[i];
        if (mote_le_get32(b + off) != l->n_w || mote_le_get32(b + off + 4) != l->n_b)
            return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset %zu: layer %d stores %u weights and "
                           "%u biases, its shape needs %zu and %zu", off, (int)i,
                           (unsigned)mote_le_get32(b + off), (unsigned)mote_le_get32(b + off + 4), l->n_w, l->n_b);
    }
    size_t start = HEADER + (size_t)RECORD * net->n_layers;
    if (len - CRC_LEN - start != 4 * net->n_params)
        return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset %zu: parameter block is %zu bytes, the "
                       "layers need %zu", start, len - CRC_LEN - start, 4 * net->n_params);
    return MOTE_OK;
}

static mote_status_t read_params(const uint8_t *b, mote_nn_t *net, char *msg, size_t n)
{
    size_t start = HEADER + (size_t)RECORD * net->n_layers;
    for (size_t i = 0; i < net->n_params; i++) {
        float f = get_f32(b + start + 4 * i);
        if (!isfinite(f))
            return nn_fail(msg, n, MOTE_ERR_CORRUPT, "offset %zu: parameter %zu is not finite",
                           start + 4 * i, i);
        net->params[i] = f;
    }
    return MOTE_OK;
}

mote_status_t mote_nn_deserialize(const uint8_t *buf, size_t len, mote_nn_t **out, char *msg,
                                  size_t msg_size)
{
    if (!buf || !out)
        return nn_fail(msg, msg_size, MOTE_ERR_ARG, "buf and out must not be NULL");
    mote_nn_layer_spec_t layers[MOTE_NN_MAX_LAYERS];
    mote_nn_head_t head = MOTE_NN_HEAD_SOFTMAX_CE;
    int32_t t = 0, c = 0, nl = 0;
    mote_status_t st = check_envelope(buf, len, msg, msg_size);
    if (!st)
        st = read_header(buf, len, layers, &head, &t, &c, &nl, msg, msg_size);
    if (st)
        return st;
    char why[MOTE_NN_MSG_LEN];
    mote_nn_t *net = NULL;
    st = nn_build_layout(head, t, c, layers, nl, &net, why, sizeof why);
    if (st == MOTE_ERR_NOMEM)
        return nn_fail(msg, msg_size, st, "%s", why);
    if (st)
        return nn_fail(msg, msg_size, MOTE_ERR_CORRUPT, "offset %d (layer records): %s", HEADER,
                       why);
    /* Sizes are checked against the bytes present before allocating, so a
     * small file cannot make us reserve gigabytes. */
    st = check_counts(buf, len, net, msg, msg_size);
    if (!st)
        st = nn_alloc_params(net, msg, msg_size);
    if (!st)
        st = read_params(buf, net, msg, msg_size);
    if (st) {
        mote_nn_free(net);
        return st;
    }
    *out = net;
    return MOTE_OK;
}

/* ---- files ---- */

mote_status_t mote_nn_save(const mote_nn_t *net, const char *path, char *msg, size_t msg_size)
{
    if (!path)
        return nn_fail(msg, msg_size, MOTE_ERR_ARG, "path must not be NULL");
    uint8_t *buf;
    size_t len;
    mote_status_t st = mote_nn_serialize(net, &buf, &len, msg, msg_size);
    if (st)
        return st;
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f))
        ok = 0;
    free(buf);
    if (!ok)
        return nn_fail(msg, msg_size, MOTE_ERR_IO, "%s: cannot write the file", path);
    return MOTE_OK;
}

/* Reads in growing blocks so pipes and special files work too. */
static mote_status_t read_all(FILE *f, uint8_t **buf, size_t *len, char *msg, size_t n)
{
    size_t cap = 1 << 16, used = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        used += fread(b + used, 1, cap - used, f);
        if (used < cap)
            break;
        if (cap > UINT32_MAX) {
            free(b);
            return nn_fail(msg, n, MOTE_ERR_LIMIT, "file is larger than 4 GiB");
        }
        uint8_t *nb = realloc(b, cap * 2);
        if (!nb)
            free(b);
        b = nb;
        cap *= 2;
    }
    if (!b)
        return nn_fail(msg, n, MOTE_ERR_NOMEM, "out of memory reading the file");
    if (ferror(f)) {
        free(b);
        return nn_fail(msg, n, MOTE_ERR_IO, "read error");
    }
    *buf = b;
    *len = used;
    return MOTE_OK;
}

mote_status_t mote_nn_load(const char *path, mote_nn_t **out, char *msg, size_t msg_size)
{
    if (!path || !out)
        return nn_fail(msg, msg_size, MOTE_ERR_ARG, "path and out must not be NULL");
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_fail(msg, msg_size, MOTE_ERR_IO, "%s: cannot open the file", path);
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[MOTE_NN_MSG_LEN];
    mote_status_t st = read_all(f, &buf, &len, why, sizeof why);
    fclose(f);
    if (!st)
        st = mote_nn_deserialize(buf, len, out, why, sizeof why);
    free(buf);
    if (st)
        return nn_fail(msg, msg_size, st, "%s: %s", path, why);
    return MOTE_OK;
}
