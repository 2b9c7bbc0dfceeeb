/* Isolation Forest on the host: grow, import from scikit-learn, serialize. */
#include "iforest_train.h"
#include "mote/le.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mote/anomaly.h"

/* ---- a forest being built, one preorder node list ------------------- */

typedef struct fnode {
    uint32_t word;    /* threshold bits or leaf size */
    uint32_t feature; /* MOTE_IFOREST_LEAF for a leaf */
    uint32_t right;   /* index within the tree */
} fnode_t;

typedef struct forest {
    fnode_t *nodes;
    size_t n, cap;
    uint32_t *counts; /* per tree */
    uint32_t n_trees;
    uint32_t tree_start; /* first node of the tree being built */
    uint32_t deepest;
} forest_t;

static void forest_free(forest_t *f)
{
    free(f->nodes);
    free(f->counts);
    memset(f, 0, sizeof *f);
}

/* Append a node; returns its index within the current tree or -1 (no
 * memory, or the tree outgrew the blob's 16-bit child index). */
static long push_node(forest_t *f, fnode_t v)
{
    if (f->n - f->tree_start >= MOTE_IFOREST_MAX_TREE_NODES)
        return -1;
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 1024;
        fnode_t *p = realloc(f->nodes, cap * sizeof *p);
        if (!p)
            return -1;
        f->nodes = p;
        f->cap = cap;
    }
    f->nodes[f->n++] = v;
    return (long)(f->n - 1 - f->tree_start);
}

static void end_tree(forest_t *f)
{
    f->counts[f->n_trees++] = (uint32_t)(f->n - f->tree_start);
    f->tree_start = (uint32_t)f->n;
}

static uint32_t f32_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return u;
}

/* Lay the forest out as a blob and prove it loads. */
static mote_status_t serialize(const forest_t *f, uint32_t n_features, uint32_t psi,
                               uint32_t max_depth, uint8_t **blob, size_t *blob_len)
{
    size_t len = MOTE_IFOREST_BLOB_BYTES(f->n_trees, f->n);
    uint8_t *b = calloc(1, len);
    if (!b)
        return MOTE_ERR_NOMEM;
    memcpy(b, MOTE_IFOREST_MAGIC, 4);
    mote_le_put16(b + 4, MOTE_IFOREST_VERSION);
    mote_le_put16(b + 6, MOTE_IFOREST_HEADER_BYTES);
    mote_le_put32(b + 8, f->n_trees);
    mote_le_put32(b + 12, n_features);
    mote_le_put32(b + 16, psi);
    mote_le_put32(b + 20, max_depth);
    mote_le_put32(b + 24, (uint32_t)f->n);
    uint8_t *p = b + MOTE_IFOREST_HEADER_BYTES;
    for (uint32_t t = 0; t < f->n_trees; t++, p += 4)
        mote_le_put32(p, f->counts[t]);
    for (size_t i = 0; i < f->n; i++, p += MOTE_IFOREST_NODE_BYTES) {
        mote_le_put32(p, f->nodes[i].word);
        mote_le_put16(p + 4, f->nodes[i].feature);
        mote_le_put16(p + 6, f->nodes[i].right);
    }
    mote_le_put32(p, (uint32_t)crc32(0L, b, (uInt)(len - 4)));
    mote_iforest_t check;
    mote_status_t s = mote_iforest_load(&check, b, len);
    if (s != MOTE_OK) {
        free(b);
        return s;
    }
    *blob = b;
    *blob_len = len;
    return MOTE_OK;
}

/* ---- training --------------------------------------------------------- */

void mote_iforest_params_default(mote_iforest_params_t *p)
{
    p->n_trees = 100;
    p->psi = 256;
    p->max_depth = 0;
    p->seed = 1;
}

/* splitmix64 (Steele, Lea, Flood 2014): small state, full 64-bit period. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n): multiply-shift; the bias, n / 2^32, is negligible. */
static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * n) >> 32);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

typedef struct grow {
    const float *x;
    uint32_t nf, max_depth;
    uint64_t rng;
    forest_t *f;
    uint32_t *cand; /* nf scratch: features not constant on a node */
    float *lo, *hi; /* nf scratch: their ranges */
} grow_t;

/* Features whose values differ on idx[0..n); returns how many. */
static uint32_t candidates(grow_t *g, const uint32_t *idx, uint32_t n)
{
    for (uint32_t j = 0; j < g->nf; j++)
        g->lo[j] = g->hi[j] = g->x[(size_t)idx[0] * g->nf + j];
    for (uint32_t i = 1; i < n; i++) {
        const float *row = g->x + (size_t)idx[i] * g->nf;
        for (uint32_t j = 0; j < g->nf; j++) {
            g->lo[j] = row[j] < g->lo[j] ? row[j] : g->lo[j];
            g->hi[j] = row[j] > g->hi[j] ? row[j] : g->hi[j];
        }
    }
    uint32_t k = 0;
    for (uint32_t j = 0; j < g->nf; j++)
        if (g->lo[j] < g->hi[j])
            g->cand[k++] = j;
    return k;
}

/* Uniform in [lo, hi) as a float, lo < hi: kept below hi so that the
 * `x <= t` split leaves hi's row on the right and lo's on the left. */
static float split_value(uint64_t *rng, float lo, float hi)
{
    float t = (float)((double)lo + rng_unit(rng) * ((double)hi - (double)lo));
    if (t >= hi)
        t = nextafterf(hi, -INFINITY);
    return t < lo ? lo : t;
}

/* Move rows with x[feature] <= t to the front; returns how many. */
static uint32_t partition(const grow_t *g, uint32_t *idx, uint32_t n, uint32_t feature, float t)
{
    uint32_t left = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (g->x[(size_t)idx[i] * g->nf + feature] <= t) {
            uint32_t tmp = idx[left];
            idx[left++] = idx[i];
            idx[i] = tmp;
        }
    }
    return left;
}

static int grow_node(grow_t *g, uint32_t *idx, uint32_t n, uint32_t depth)
{
    uint32_t k = depth < g->max_depth && n > 1 ? candidates(g, idx, n) : 0;
    if (k == 0) {
        if (depth > g->f->deepest)
            g->f->deepest = depth;
        return push_node(g->f, (fnode_t){ n, MOTE_IFOREST_LEAF, 0 }) < 0 ? -1 : 0;
    }
    uint32_t j = g->cand[rng_below(&g->rng, k)];
    float t = split_value(&g->rng, g->lo[j], g->hi[j]);
    long at = push_node(g->f, (fnode_t){ f32_bits(t), j, 0 });
    if (at < 0)
        return -1;
    uint32_t left = partition(g, idx, n, j, t);
    if (grow_node(g, idx, left, depth + 1) != 0)
        return -1;
    g->f->nodes[g->f->tree_start + (size_t)at].right = (uint32_t)(g->f->n - g->f->tree_start);
    return grow_node(g, idx + left, n - left, depth + 1);
}

static uint32_t ceil_log2(uint32_t n)
{
    uint32_t d = 0;
    while (d < 32 && ((uint64_t)1 << d) < n)
        d++;
    return d;
}

static int params_ok(const mote_iforest_params_t *p)
{
    return p->n_trees >= 1 && p->n_trees <= MOTE_IFOREST_MAX_TREES && p->psi >= 2 &&
           p->psi <= MOTE_IFOREST_MAX_PSI && p->max_depth <= MOTE_IFOREST_MAX_DEPTH;
}

static int all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* Grow every tree on its own subsample: a partial Fisher-Yates shuffle of
 * the persistent index array draws psi rows without replacement. */
static mote_status_t grow_forest(grow_t *g, uint32_t *perm, size_t n_samples, uint32_t psi,
                                 uint32_t n_trees)
{
    for (uint32_t t = 0; t < n_trees; t++) {
        for (uint32_t i = 0; i < psi; i++) {
            size_t j = i + (size_t)rng_below(&g->rng, (uint32_t)(n_samples - i));
            uint32_t tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        if (grow_node(g, perm, psi, 0) != 0)
            return MOTE_ERR_NOMEM;
        end_tree(g->f);
    }
    return MOTE_OK;
}

mote_status_t mote_iforest_train(const float *x, size_t n_samples, uint32_t n_features,
                                 const mote_iforest_params_t *p, uint8_t **blob,
                                 size_t *blob_len)
{
    if (!x || !p || !blob || !blob_len || n_samples < 2 || n_samples > UINT32_MAX ||
        n_features == 0 || n_features > MOTE_IFOREST_MAX_FEATURES || !params_ok(p) ||
        !all_finite(x, n_samples * n_features))
        return MOTE_ERR_ARG;
    uint32_t psi = p->psi < n_samples ? p->psi : (uint32_t)n_samples;
    forest_t f = { 0 };
    grow_t g = { x, n_features, p->max_depth ? p->max_depth : ceil_log2(psi), p->seed, &f,
                 malloc(n_features * sizeof(uint32_t)), malloc(n_features * sizeof(float)),
                 malloc(n_features * sizeof(float)) };
    uint32_t *perm = malloc(n_samples * sizeof *perm);
    f.counts = malloc(p->n_trees * sizeof *f.counts);
    mote_status_t s = MOTE_ERR_NOMEM;
    if (perm && f.counts && g.cand && g.lo && g.hi) {
        for (size_t i = 0; i < n_samples; i++)
            perm[i] = (uint32_t)i;
        s = grow_forest(&g, perm, n_samples, psi, p->n_trees);
    }
    if (s == MOTE_OK)
        s = serialize(&f, n_features, psi, g.max_depth, blob, blob_len);
    free(perm);
    free(g.cand);
    free(g.lo);
    free(g.hi);
    forest_free(&f);
    return s;
}

/* ---- scikit-learn import ------------------------------------------- */

float mote_iforest_f32_floor(double t)
{
    float f = (float)t; /* nearest; may lie above t */
    if ((double)f > t)
        f = nextafterf(f, -INFINITY);
    return f;
}

static mote_status_t fail(char *msg, size_t msg_len, mote_status_t s, const char *fmt, ...)
{
    if (msg && msg_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msg_len, fmt, ap);
        va_end(ap);
    }
    return s;
}

/* One sklearn tree's arrays, decoded from the SKIF records. */
typedef struct sktree {
    const uint8_t *rec; /* count records of 24 bytes */
    uint32_t count, tree, n_features, psi;
    uint8_t *seen;
} sktree_t;

static int32_t rec_i32(const sktree_t *t, uint32_t node, uint32_t field)
{
    const uint8_t *p = t->rec + (size_t)node * 24u + 4u * field;
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

static double rec_threshold(const sktree_t *t, uint32_t node)
{
    uint64_t u = 0;
    const uint8_t *p = t->rec + (size_t)node * 24u + 16u;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | p[i];
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* Check one sklearn node and turn it into a mote node (the right child
 * is filled in by the caller); *leaf tells which kind it is. */
static mote_status_t convert_node(const sktree_t *t, uint32_t node, fnode_t *out, int *leaf,
                                  char *msg, size_t ml)
{
    int32_t left = rec_i32(t, node, 0), right = rec_i32(t, node, 1);
    int32_t feat = rec_i32(t, node, 2), size = rec_i32(t, node, 3);
    *leaf = left == -1 && right == -1;
    if (*leaf) {
        if (size < 1 || (uint32_t)size > t->psi)
            return fail(msg, ml, MOTE_ERR_CORRUPT, "tree %u node %u: leaf size %d", t->tree,
                        node, size);
        *out = (fnode_t){ (uint32_t)size, MOTE_IFOREST_LEAF, 0 };
        return MOTE_OK;
    }
    double thr = rec_threshold(t, node);
    float f = mote_iforest_f32_floor(thr);
    if (left < 0 || right < 0 || (uint32_t)left >= t->count || (uint32_t)right >= t->count ||
        feat < 0 || (uint32_t)feat >= t->n_features || !isfinite(thr) || !isfinite(f))
        return fail(msg, ml, MOTE_ERR_CORRUPT,
                    "tree %u node %u: bad split (children %d %d, feature %d, threshold %g)",
                    t->tree, node, left, right, feat, thr);
    *out = (fnode_t){ f32_bits(f), (uint32_t)feat, 0 };
    return MOTE_OK;
}

/* Preorder copy of the subtree at `node`. `seen` catches cycles and shared
 * children; the depth bound also caps the recursion. */
static mote_status_t copy_subtree(const sktree_t *t, forest_t *f, uint32_t node, uint32_t depth,
                                  char *msg, size_t ml)
{
    if (depth > MOTE_IFOREST_MAX_DEPTH || t->seen[node])
        return fail(msg, ml, MOTE_ERR_CORRUPT, "tree %u node %u: %s", t->tree, node,
                    t->seen[node] ? "reached twice (cycle or shared child)" : "too deep");
    t->seen[node] = 1;
    fnode_t v;
    int leaf;
    mote_status_t s = convert_node(t, node, &v, &leaf, msg, ml);
    if (s != MOTE_OK)
        return s;
    long at = push_node(f, v);
    if (at < 0)
        return fail(msg, ml, MOTE_ERR_LIMIT, "tree %u: more than %u nodes or no memory",
                    t->tree, MOTE_IFOREST_MAX_TREE_NODES);
    if (leaf) {
        f->deepest = depth > f->deepest ? depth : f->deepest;
        return MOTE_OK;
    }
    s = copy_subtree(t, f, (uint32_t)rec_i32(t, node, 0), depth + 1, msg, ml);
    if (s != MOTE_OK)
        return s;
    f->nodes[f->tree_start + (size_t)at].right = (uint32_t)(f->n - f->tree_start);
    return copy_subtree(t, f, (uint32_t)rec_i32(t, node, 1), depth + 1, msg, ml);
}

/* Inflate a gzip stream into a new heap buffer. */
static mote_status_t gunzip(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return MOTE_ERR_NOMEM;
    size_t cap = len * 4 + 1024, n = 0;
    uint8_t *buf = malloc(cap);
    int r = Z_OK;
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    while (buf && r == Z_OK) {
        if (n == cap) {
            uint8_t *p = realloc(buf, cap *= 2);
            if (!p)
                break;
            buf = p;
        }
        z.next_out = buf + n;
        z.avail_out = (uInt)(cap - n);
        r = inflate(&z, Z_NO_FLUSH);
        n = cap - z.avail_out;
    }
    inflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(buf);
        return r == Z_OK ? MOTE_ERR_NOMEM : MOTE_ERR_CORRUPT;
    }
    *out = buf;
    *out_len = n;
    return MOTE_OK;
}

/* The SKIF header: "SKIF", version, n_trees, n_features, max_samples_, 0. */
static mote_status_t import_header(const uint8_t *p, size_t len, uint32_t *hdr, char *msg,
                                   size_t ml)
{
    if (len < 24)
        return fail(msg, ml, MOTE_ERR_TRUNCATED, "%zu bytes: shorter than the header", len);
    if (memcmp(p, "SKIF", 4) != 0 || mote_le_get32(p + 4) != 1)
        return fail(msg, ml, MOTE_ERR_FORMAT, "not a version-1 SKIF file");
    for (int i = 0; i < 4; i++)
        hdr[i] = mote_le_get32(p + 8 + 4 * i);
    if (hdr[0] == 0 || hdr[0] > MOTE_IFOREST_MAX_TREES || hdr[1] == 0 ||
        hdr[1] > MOTE_IFOREST_MAX_FEATURES || hdr[2] == 0)
        return fail(msg, ml, MOTE_ERR_LIMIT, "n_trees %u, n_features %u, max_samples %u",
                    hdr[0], hdr[1], hdr[2]);
    return MOTE_OK;
}

static mote_status_t import_trees(const uint8_t *p, size_t len, const uint32_t *hdr,
                                  forest_t *f, char *msg, size_t ml)
{
    size_t off = 24;
    for (uint32_t t = 0; t < hdr[0]; t++) {
        if (len - off < 4)
            return fail(msg, ml, MOTE_ERR_TRUNCATED, "tree %u: missing", t);
        sktree_t tr = { p + off + 4, mote_le_get32(p + off), t, hdr[1], hdr[2], NULL };
        if (tr.count == 0 || (len - off - 4) / 24u < tr.count)
            return fail(msg, ml, MOTE_ERR_TRUNCATED, "tree %u: %u nodes", t, tr.count);
        tr.seen = calloc(tr.count, 1);
        if (!tr.seen)
            return MOTE_ERR_NOMEM;
        mote_status_t s = copy_subtree(&tr, f, 0, 0, msg, ml);
        if (s == MOTE_OK && f->n - f->tree_start != tr.count)
            s = fail(msg, ml, MOTE_ERR_CORRUPT, "tree %u: unreachable nodes", t);
        free(tr.seen);
        if (s != MOTE_OK)
            return s;
        end_tree(f);
        off += 4 + (size_t)tr.count * 24u;
    }
    return off == len ? MOTE_OK : fail(msg, ml, MOTE_ERR_CORRUPT, "trailing bytes");
}

static mote_status_t import_plain(const uint8_t *p, size_t len, uint8_t **blob,
                                  size_t *blob_len, char *msg, size_t ml)
{
    uint32_t hdr[4];
    mote_status_t s = import_header(p, len, hdr, msg, ml);
    if (s != MOTE_OK)
        return s;
    forest_t f = { 0 };
    f.counts = malloc(hdr[0] * sizeof *f.counts);
    s = f.counts ? import_trees(p, len, hdr, &f, msg, ml) : MOTE_ERR_NOMEM;
    if (s == MOTE_OK)
        s = serialize(&f, hdr[1], hdr[2], f.deepest, blob, blob_len);
    forest_free(&f);
    return s;
}

mote_status_t mote_iforest_import_sklearn(const void *bytes, size_t len, uint8_t **blob,
                                          size_t *blob_len, char *msg, size_t msg_len)
{
    if (msg && msg_len)
        msg[0] = '\0';
    if (!bytes || !blob || !blob_len)
        return MOTE_ERR_ARG;
    const uint8_t *p = bytes;
    if (len < 2 || p[0] != 0x1F || p[1] != 0x8B)
        return import_plain(p, len, blob, blob_len, msg, msg_len);
    uint8_t *raw;
    size_t raw_len;
    mote_status_t s = gunzip(p, len, &raw, &raw_len);
    if (s != MOTE_OK)
        return fail(msg, msg_len, s, "gzip stream does not inflate");
    s = import_plain(raw, raw_len, blob, blob_len, msg, msg_len);
    free(raw);
    return s;
}

mote_status_t mote_iforest_import_sklearn_file(const char *path, uint8_t **blob,
                                               size_t *blob_len, char *msg, size_t msg_len)
{
    if (!path)
        return MOTE_ERR_ARG;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fail(msg, msg_len, MOTE_ERR_IO, "cannot open %s", path);
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    int oom = 0;
    for (;;) {
        if (n == cap) {
            uint8_t *q = realloc(buf, cap = cap ? 2 * cap : 65536);
            if (!q) {
                oom = 1;
                break;
            }
            buf = q;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    mote_status_t s;
    if (oom)
        s = fail(msg, msg_len, MOTE_ERR_NOMEM, "%s: out of memory", path);
    else if (bad)
        s = fail(msg, msg_len, MOTE_ERR_IO, "cannot read %s", path);
    else
        s = mote_iforest_import_sklearn(buf, n, blob, blob_len, msg, msg_len);
    free(buf);
    return s;
}

/* ---- C source ------------------------------------------------------ */

static int c_identifier(const char *s)
{
    if (!s || !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

mote_status_t mote_iforest_write_c(const char *path, const char *symbol, const uint8_t *blob,
                                   size_t len)
{
    if (!path || !blob || len == 0 || len > UINT32_MAX || !c_identifier(symbol))
        return MOTE_ERR_ARG;
    FILE *fp = fopen(path, "w");
    if (!fp)
        return MOTE_ERR_IO;
    fprintf(fp, "/* Isolation Forest blob for mote_iforest_load(); generated by mote. */\n"
                "#include <stdint.h>\n\n"
                "_Alignas(4) const uint8_t %s[%zu] = {", symbol, len);
    for (size_t i = 0; i < len; i++)
        fprintf(fp, "%s0x%02x,", i % 12 ? " " : "\n    ", blob[i]);
    fprintf(fp, "\n};\nconst uint32_t %s_len = %zuu;\n", symbol, len);
    int bad = ferror(fp);
    return fclose(fp) != 0 || bad ? MOTE_ERR_IO : MOTE_OK;
}
