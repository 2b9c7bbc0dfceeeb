/* mote fleet: tamper-evident ledger (see ledger.h for the file format).
 *
 * The line parser works from both ends: the signature, hash, key id and
 * previous hash have fixed lengths and sit at fixed distances from the end
 * of the line, so the body between "body": and ,"prev" needs no JSON
 * tokenizer to delimit, whatever it contains. Hex must be lowercase and
 * numbers have no leading zeros, so every entry has exactly one spelling
 * and no byte can change without the verifier noticing. */
#define _GNU_SOURCE /* flock */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DOMAIN "mote-ledger-v1\n"
#define HASH_TAG ",\"hash\":\""
#define SIG_TAG "\",\"sig\":\""
#define END_TAG "\"}"
#define PREV_TAG ",\"prev\":\""
#define KEY_TAG "\",\"key\":\""
#define TAG_LEN 9 /* each of HASH_TAG, SIG_TAG, PREV_TAG, KEY_TAG */
/* ,"hash":"<64>","sig":"<128>"} */
#define SUFFIX_LEN (TAG_LEN + 64 + TAG_LEN + 128 + 2)
/* ,"prev":"<64>","key":"<16>" */
#define TAIL_LEN (TAG_LEN + 64 + TAG_LEN + 16 + 1)
#define WHY_LEN 200

struct mote_ledger {
    pthread_mutex_t mu;
    int fd;
    int broken;                  /* an append failed half-way: refuse more */
    char *path;
    char *head_path;
    uint8_t sk[MOTE_KEY_SK_LEN];
    uint8_t pk[MOTE_KEY_PK_LEN];
    uint8_t key_id[MOTE_KEY_ID_LEN];
    uint64_t seq;                /* last seq, 0 when empty */
    uint8_t head[MOTE_LEDGER_HASH_LEN];
    uint64_t size;               /* committed bytes */
    uint64_t repaired;           /* torn bytes cut at open */
};

static void set_err(char *err, size_t errsz, const char *fmt, ...)
{
    if (!err || errsz == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
}

const char *mote_ledger_problem_str(mote_ledger_problem_t p)
{
    switch (p) {
    case MOTE_LEDGER_P_OK: return "ok";
    case MOTE_LEDGER_P_TORN: return "torn last line";
    case MOTE_LEDGER_P_MALFORMED: return "malformed entry";
    case MOTE_LEDGER_P_HASH: return "hash mismatch (entry edited)";
    case MOTE_LEDGER_P_SEQ: return "seq gap (entry removed or reordered)";
    case MOTE_LEDGER_P_PREV: return "prev-hash mismatch (entry removed or reordered)";
    case MOTE_LEDGER_P_KEY: return "signed by another key";
    case MOTE_LEDGER_P_SIG: return "bad signature";
    case MOTE_LEDGER_P_ANCHOR: return "expected head not in the chain (entries removed from the end?)";
    }
    return "unknown problem";
}

static mote_status_t problem_status(mote_ledger_problem_t p)
{
    switch (p) {
    case MOTE_LEDGER_P_OK: return MOTE_OK;
    case MOTE_LEDGER_P_TORN: return MOTE_ERR_TRUNCATED;
    case MOTE_LEDGER_P_MALFORMED: return MOTE_ERR_FORMAT;
    default: return MOTE_ERR_VERIFY;
    }
}

/* ------------------------------------------------------------------ */
/* Parsing one line                                                    */

static int lit(const char *p, size_t n, size_t *pos, const char *s)
{
    size_t k = strlen(s);
    if (n - *pos < k || memcmp(p + *pos, s, k) != 0)
        return 0;
    *pos += k;
    return 1;
}

/* Decimal u64 without leading zeros (so each value has one spelling). */
static int num(const char *p, size_t n, size_t *pos, uint64_t *out)
{
    size_t i = *pos;
    uint64_t v = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
        i++;
    }
    if (i == *pos || (p[*pos] == '0' && i - *pos > 1))
        return 0;
    *out = v;
    *pos = i;
    return 1;
}

static int kind_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static int kind_ok(const char *k, size_t n)
{
    if (n == 0 || n > MOTE_LEDGER_KIND_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!kind_char(k[i]))
            return 0;
    return 1;
}

/* A compact JSON object, as the appender writes it. */
static int body_ok(const char *b, size_t n)
{
    if (n < 2 || n > MOTE_LEDGER_MAX_BODY || b[0] != '{' || b[n - 1] != '}')
        return 0;
    json_error_t je;
    json_t *j = json_loadb(b, n, 0, &je);
    int ok = j && json_is_object(j);
    json_decref(j);
    return ok;
}

/* The fixed-length fields at the end: ,"prev":..,"key":.. and the suffix. */
static int parse_tail(const char *p, size_t n, mote_ledger_entry_t *e, char *why)
{
    size_t s = n - SUFFIX_LEN, t = s - TAIL_LEN;
    if (memcmp(p + s, HASH_TAG, TAG_LEN) != 0 || memcmp(p + s + TAG_LEN + 64, SIG_TAG, TAG_LEN) != 0 ||
        memcmp(p + n - 2, END_TAG, 2) != 0) {
        snprintf(why, WHY_LEN, "does not end with ,\"hash\":\"<64 hex>\",\"sig\":\"<128 hex>\"}");
        return 0;
    }
    if (mote_hex_decode(p + s + TAG_LEN, 32, e->hash, 1) != MOTE_OK ||
        mote_hex_decode(p + s + 2 * TAG_LEN + 64, 64, e->sig, 1) != MOTE_OK) {
        snprintf(why, WHY_LEN, "hash or sig is not lowercase hex");
        return 0;
    }
    if (memcmp(p + t, PREV_TAG, TAG_LEN) != 0 || memcmp(p + t + TAG_LEN + 64, KEY_TAG, TAG_LEN) != 0 ||
        p[s - 1] != '"') {
        snprintf(why, WHY_LEN, "\"prev\" and \"key\" not found before \"hash\"");
        return 0;
    }
    if (mote_hex_decode(p + t + TAG_LEN, 32, e->prev, 1) != MOTE_OK ||
        mote_hex_decode(p + t + 2 * TAG_LEN + 64, 8, e->key_id, 1) != MOTE_OK) {
        snprintf(why, WHY_LEN, "prev or key is not lowercase hex");
        return 0;
    }
    return 1;
}

/* seq, ts, kind and body, in this order, from the start of the line. */
static int parse_head(const char *p, size_t t, mote_ledger_entry_t *e, char *why)
{
    size_t pos = 0, k0;
    if (!lit(p, t, &pos, "{\"seq\":") || !num(p, t, &pos, &e->seq)) {
        snprintf(why, WHY_LEN, "does not start with {\"seq\":<number>");
        return 0;
    }
    if (!lit(p, t, &pos, ",\"ts\":") || !num(p, t, &pos, &e->ts)) {
        snprintf(why, WHY_LEN, "\"ts\":<number> missing at byte %zu", pos);
        return 0;
    }
    if (!lit(p, t, &pos, ",\"kind\":\"")) {
        snprintf(why, WHY_LEN, "\"kind\" missing at byte %zu", pos);
        return 0;
    }
    for (k0 = pos; pos < t && kind_char(p[pos]); pos++)
        ;
    if (!kind_ok(p + k0, pos - k0) || !lit(p, t, &pos, "\",\"body\":")) {
        snprintf(why, WHY_LEN, "\"kind\" is not 1..%d of [a-z0-9_.-] followed by \"body\" (byte %zu)",
                 MOTE_LEDGER_KIND_LEN, pos);
        return 0;
    }
    memcpy(e->kind, p + k0, pos - k0 - strlen("\",\"body\":"));
    e->kind[pos - k0 - strlen("\",\"body\":")] = '\0';
    e->body = p + pos;
    e->body_len = t - pos;
    if (!body_ok(e->body, e->body_len)) {
        snprintf(why, WHY_LEN, "\"body\" is not a JSON object of at most %u bytes", MOTE_LEDGER_MAX_BODY);
        return 0;
    }
    return 1;
}

static int parse_line(const char *p, size_t n, mote_ledger_entry_t *e, char *why)
{
    memset(e, 0, sizeof *e);
    if (n < SUFFIX_LEN + TAIL_LEN + 16) {
        snprintf(why, WHY_LEN, "too short for an entry (%zu bytes)", n);
        return 0;
    }
    if (!parse_tail(p, n, e, why) || !parse_head(p, n - SUFFIX_LEN - TAIL_LEN, e, why))
        return 0;
    e->line = p;
    e->line_len = n;
    return 1;
}

/* SHA-256 over the domain and the signed part of the line. */
static void entry_hash(const char *p, size_t signed_len, uint8_t out[MOTE_LEDGER_HASH_LEN])
{
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)DOMAIN, strlen(DOMAIN));
    crypto_hash_sha256_update(&st, (const uint8_t *)p, signed_len);
    crypto_hash_sha256_final(&st, out);
}

/* ------------------------------------------------------------------ */
/* Checking an entry against the chain                                 */

typedef struct chain {
    uint64_t next_seq;
    uint8_t prev[MOTE_LEDGER_HASH_LEN];
    const uint8_t *pk;
    uint8_t key_id[MOTE_KEY_ID_LEN];
} chain_t;

static mote_ledger_problem_t check_entry(const char *p, size_t n, const chain_t *c, mote_ledger_entry_t *e,
                                         char *why)
{
    char a[65], b[65];
    uint8_t h[MOTE_LEDGER_HASH_LEN];
    if (!parse_line(p, n, e, why))
        return MOTE_LEDGER_P_MALFORMED;
    entry_hash(p, n - SUFFIX_LEN, h);
    if (sodium_memcmp(h, e->hash, sizeof h) != 0) {
        snprintf(why, WHY_LEN, "stored %.16s..., computed %.16s...", mote_hex_encode(e->hash, 32, a),
                 mote_hex_encode(h, 32, b));
        return MOTE_LEDGER_P_HASH;
    }
    if (e->seq != c->next_seq) {
        snprintf(why, WHY_LEN, "found seq %llu, expected %llu", (unsigned long long)e->seq,
                 (unsigned long long)c->next_seq);
        return MOTE_LEDGER_P_SEQ;
    }
    if (memcmp(e->prev, c->prev, sizeof h) != 0) {
        snprintf(why, WHY_LEN, "prev %.16s..., previous entry's hash %.16s...", mote_hex_encode(e->prev, 32, a),
                 mote_hex_encode(c->prev, 32, b));
        return MOTE_LEDGER_P_PREV;
    }
    if (c->pk && memcmp(e->key_id, c->key_id, MOTE_KEY_ID_LEN) != 0) {
        snprintf(why, WHY_LEN, "key id %s, expected %s", mote_hex_encode(e->key_id, 8, a),
                 mote_hex_encode(c->key_id, 8, b));
        return MOTE_LEDGER_P_KEY;
    }
    if (c->pk && crypto_sign_verify_detached(e->sig, e->hash, sizeof e->hash, c->pk) != 0) {
        snprintf(why, WHY_LEN, "signature does not verify under key %s", mote_hex_encode(c->key_id, 8, a));
        return MOTE_LEDGER_P_SIG;
    }
    return MOTE_LEDGER_P_OK;
}

static mote_status_t fail(mote_ledger_result_t *res, mote_ledger_problem_t p, uint64_t line, uint64_t seq,
                          const char *why, char *err, size_t errsz)
{
    res->problem = p;
    res->bad_line = line;
    res->bad_seq = seq;
    set_err(err, errsz, "line %llu (seq %llu): %s: %s", (unsigned long long)line, (unsigned long long)seq,
            mote_ledger_problem_str(p), why);
    return problem_status(p);
}

/* The anchor's entry, when it is this one: 1 found, -1 contradicted. */
static int anchor_match(const mote_ledger_anchor_t *a, const mote_ledger_entry_t *e)
{
    int same = memcmp(a->hash, e->hash, MOTE_LEDGER_HASH_LEN) == 0;
    if (a->seq == 0)
        return same;
    if (a->seq != e->seq)
        return 0;
    return same ? 1 : -1;
}

static mote_status_t anchor_missing(const mote_ledger_anchor_t *a, mote_ledger_result_t *res, char *err,
                                    size_t errsz)
{
    char why[WHY_LEN], h[65];
    mote_hex_encode(a->hash, 32, h);
    if (a->seq)
        snprintf(why, sizeof why, "anchor is seq %llu %.16s..., the chain ends at seq %llu",
                 (unsigned long long)a->seq, h, (unsigned long long)res->n);
    else
        snprintf(why, sizeof why, "no entry has hash %.16s... (the chain has %llu entries)", h,
                 (unsigned long long)res->n);
    return fail(res, MOTE_LEDGER_P_ANCHOR, res->n + 1, res->n + 1, why, err, errsz);
}

static void chain_init(chain_t *c, const uint8_t *pk)
{
    memset(c, 0, sizeof *c);
    c->next_seq = 1;
    c->pk = pk;
    if (pk)
        mote_key_id(pk, c->key_id);
}

mote_status_t mote_ledger_scan(const void *buf, size_t len, const uint8_t *pk, const mote_ledger_anchor_t *anchor,
                               mote_ledger_cb_t cb, void *ctx, mote_ledger_result_t *res, char *err, size_t errsz)
{
    if (!res || (!buf && len))
        return MOTE_ERR_ARG;
    memset(res, 0, sizeof *res);
    if (sodium_init() < 0)
        return MOTE_ERR_STATE;
    const char *p = buf;
    chain_t c;
    chain_init(&c, pk);
    char why[WHY_LEN];
    int found = 0;
    for (size_t pos = 0, line = 1; pos < len; line++) {
        size_t avail = len - pos, scan = avail < MOTE_LEDGER_MAX_LINE + 1 ? avail : MOTE_LEDGER_MAX_LINE + 1;
        const char *nl = memchr(p + pos, '\n', scan);
        if (!nl && scan < avail) {
            snprintf(why, sizeof why, "no newline within %u bytes", MOTE_LEDGER_MAX_LINE);
            return fail(res, MOTE_LEDGER_P_MALFORMED, line, c.next_seq, why, err, errsz);
        }
        if (!nl) {
            snprintf(why, sizeof why, "%zu bytes after the last newline (an append was interrupted)", avail);
            return fail(res, MOTE_LEDGER_P_TORN, line, c.next_seq, why, err, errsz);
        }
        mote_ledger_entry_t e;
        size_t n = (size_t)(nl - (p + pos));
        mote_ledger_problem_t pr = check_entry(p + pos, n, &c, &e, why);
        if (pr != MOTE_LEDGER_P_OK)
            return fail(res, pr, line, c.next_seq, why, err, errsz);
        e.offset = pos;
        int am = anchor ? anchor_match(anchor, &e) : 0;
        if (am < 0) {
            snprintf(why, sizeof why, "entry %llu differs from the anchor", (unsigned long long)e.seq);
            return fail(res, MOTE_LEDGER_P_ANCHOR, line, e.seq, why, err, errsz);
        }
        found |= am;
        memcpy(c.prev, e.hash, sizeof c.prev);
        c.next_seq++;
        pos += n + 1;
        res->n = e.seq;
        memcpy(res->head, e.hash, sizeof res->head);
        res->valid_bytes = pos;
        if (cb && cb(&e, ctx) != 0)
            return MOTE_OK;
    }
    if (anchor && !found)
        return anchor_missing(anchor, res, err, errsz);
    return MOTE_OK;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

/* Scan the first `size` bytes of an open file through a read-only map. */
static mote_status_t scan_fd(int fd, uint64_t size, const uint8_t *pk, const mote_ledger_anchor_t *anchor,
                             mote_ledger_cb_t cb, void *ctx, mote_ledger_result_t *res, char *err, size_t errsz)
{
    if (size == 0)
        return mote_ledger_scan(NULL, 0, pk, anchor, cb, ctx, res, err, errsz);
    if (size > SIZE_MAX) {
        set_err(err, errsz, "ledger too large to map (%llu bytes)", (unsigned long long)size);
        return MOTE_ERR_LIMIT;
    }
    void *m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        set_err(err, errsz, "cannot map: %s", strerror(errno));
        return MOTE_ERR_IO;
    }
    mote_status_t st = mote_ledger_scan(m, (size_t)size, pk, anchor, cb, ctx, res, err, errsz);
    munmap(m, (size_t)size);
    return st;
}

mote_status_t mote_ledger_scan_file(const char *path, const uint8_t *pk, const mote_ledger_anchor_t *anchor,
                                    mote_ledger_cb_t cb, void *ctx, mote_ledger_result_t *res, char *err,
                                    size_t errsz)
{
    if (!path || !res)
        return MOTE_ERR_ARG;
    memset(res, 0, sizeof *res);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errsz, "cannot open: %s", strerror(errno));
        return errno == ENOENT ? MOTE_ERR_NOT_FOUND : MOTE_ERR_IO;
    }
    struct stat st;
    mote_status_t s = MOTE_ERR_IO;
    if (fstat(fd, &st) != 0)
        set_err(err, errsz, "cannot stat: %s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        set_err(err, errsz, "not a regular file");
    else
        s = scan_fd(fd, (uint64_t)st.st_size, pk, anchor, cb, ctx, res, err, errsz);
    close(fd);
    return s;
}

mote_status_t mote_ledger_verify_file(const char *path, const uint8_t pk[MOTE_KEY_PK_LEN], uint64_t *n,
                                      uint8_t head[MOTE_LEDGER_HASH_LEN], char *err, size_t errsz)
{
    if (!pk)
        return MOTE_ERR_ARG;
    mote_ledger_result_t res;
    mote_status_t st = mote_ledger_scan_file(path, pk, NULL, NULL, NULL, &res, err, errsz);
    if (st == MOTE_OK && n)
        *n = res.n;
    if (st == MOTE_OK && head)
        memcpy(head, res.head, sizeof res.head);
    return st;
}

mote_status_t mote_ledger_anchor_read(const char *path, mote_ledger_anchor_t *a, char *err, size_t errsz)
{
    char buf[128];
    if (!path || !a)
        return MOTE_ERR_ARG;
    FILE *f = fopen(path, "r");
    if (!f) {
        set_err(err, errsz, "cannot open: %s", strerror(errno));
        return errno == ENOENT ? MOTE_ERR_NOT_FOUND : MOTE_ERR_IO;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    size_t pos = 0;
    const char *sp = memchr(buf, ' ', n);
    if (!num(buf, n, &pos, &a->seq) || a->seq == 0 || sp != buf + pos || n != pos + 1 + 64 + 1 ||
        buf[n - 1] != '\n' || mote_hex_decode(buf + pos + 1, 32, a->hash, 1) != MOTE_OK) {
        set_err(err, errsz, "not an anchor file (want \"SEQ HASH\\n\", seq >= 1, 64 lowercase hex)");
        return MOTE_ERR_FORMAT;
    }
    return MOTE_OK;
}

/* ------------------------------------------------------------------ */
/* Appending                                                           */

static char *str_cat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (s) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return s;
}

/* fsync the folder holding `path`, so a created or renamed file stays. */
static int fsync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof dir)
        return -1;
    if (!slash)
        strcpy(dir, ".");
    else if (n == 0)
        strcpy(dir, "/");
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Replace <path>.head by temp file and rename. A crash leaves the old
 * anchor (an earlier entry: still true, only less recent) or, as nothing
 * is fsynced here, possibly an empty file; open rewrites it either way.
 * Skipping the fsync halves the cost of an append. */
static int write_anchor(const mote_ledger_t *l)
{
    char line[96], hex[65];
    int n = snprintf(line, sizeof line, "%llu %s\n", (unsigned long long)l->seq, mote_hex_encode(l->head, 32, hex));
    char *tmp = str_cat(l->head_path, ".tmp");
    if (!tmp)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0 && write(fd, line, (size_t)n) == n;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    ok = ok && rename(tmp, l->head_path) == 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What to do with a torn tail: 1 complete it ('\n'), 0 cut it. */
static int tail_is_entry(const char *p, size_t n, const mote_ledger_t *l)
{
    chain_t c;
    mote_ledger_entry_t e;
    char why[WHY_LEN];
    chain_init(&c, l->pk);
    c.next_seq = l->seq + 1;
    memcpy(c.prev, l->head, sizeof c.prev);
    return n <= MOTE_LEDGER_MAX_LINE && check_entry(p, n, &c, &e, why) == MOTE_LEDGER_P_OK;
}

/* Verify the file; on success set seq/head/size. *torn gets the torn
 * tail's length, *complete whether it is a whole valid entry. */
static mote_status_t load_chain(mote_ledger_t *l, uint64_t *torn, int *complete, char *err, size_t errsz)
{
    struct stat st;
    if (fstat(l->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, errsz, "not a regular file");
        return MOTE_ERR_IO;
    }
    uint64_t size = (uint64_t)st.st_size;
    void *m = size && size <= SIZE_MAX ? mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, l->fd, 0) : NULL;
    if (size && (!m || m == MAP_FAILED)) {
        set_err(err, errsz, "cannot map: %s", strerror(errno));
        return MOTE_ERR_IO;
    }
    mote_ledger_result_t res;
    mote_status_t s = mote_ledger_scan(m, (size_t)size, l->pk, NULL, NULL, NULL, &res, err, errsz);
    l->seq = res.n;
    memcpy(l->head, res.head, sizeof l->head);
    l->size = res.valid_bytes;
    *torn = 0;
    if (res.problem == MOTE_LEDGER_P_TORN) {
        *torn = size - res.valid_bytes;
        *complete = tail_is_entry((const char *)m + res.valid_bytes, (size_t)*torn, l);
        s = MOTE_OK;
    }
    if (size)
        munmap(m, (size_t)size);
    return s;
}

/* Complete or cut the torn tail found by load_chain, and log it; the
 * caller then loads the chain again. */
static mote_status_t repair(mote_ledger_t *l, uint64_t torn, int complete, char *err, size_t errsz)
{
    int ok = complete ? pwrite(l->fd, "\n", 1, (off_t)(l->size + torn)) == 1
                      : ftruncate(l->fd, (off_t)l->size) == 0;
    if (!ok || fdatasync(l->fd) != 0) {
        set_err(err, errsz, "cannot repair the torn last line: %s", strerror(errno));
        return MOTE_ERR_IO;
    }
    fprintf(stderr, "mote ledger: %s: %s (%llu bytes at offset %llu)\n", l->path,
            complete ? "torn last line holds a whole signed entry: newline added"
                     : "torn last line is not a whole entry: cut off",
            (unsigned long long)torn, (unsigned long long)l->size);
    l->repaired = complete ? 0 : torn;
    return MOTE_OK;
}

static mote_ledger_t *ledger_new(const char *path, const uint8_t sk[64])
{
    mote_ledger_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->fd = -1;
    l->path = str_cat(path, "");
    l->head_path = str_cat(path, ".head");
    memcpy(l->sk, sk, MOTE_KEY_SK_LEN);
    crypto_sign_ed25519_sk_to_pk(l->pk, l->sk);
    mote_key_id(l->pk, l->key_id);
    if (!l->path || !l->head_path || pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l->path);
        free(l->head_path);
        free(l);
        return NULL;
    }
    return l;
}

/* Open (creating) and lock the file, with the folder synced so a newly
 * created ledger does not vanish in a crash. */
static mote_status_t open_locked(mote_ledger_t *l, char *err, size_t errsz)
{
    l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0) {
        set_err(err, errsz, "cannot open: %s", strerror(errno));
        return MOTE_ERR_IO;
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        set_err(err, errsz, "%s", e == EWOULDBLOCK ? "ledger is open for appending elsewhere (locked)"
                                                   : strerror(e));
        return e == EWOULDBLOCK ? MOTE_ERR_STATE : MOTE_ERR_IO;
    }
    if (fsync_dir(l->path) != 0) {
        set_err(err, errsz, "cannot sync its folder: %s", strerror(errno));
        return MOTE_ERR_IO;
    }
    return MOTE_OK;
}

mote_status_t mote_ledger_open(mote_ledger_t **out, const char *path, const uint8_t sk[64], char *err,
                               size_t errsz)
{
    if (!out || !path || !sk)
        return MOTE_ERR_ARG;
    *out = NULL;
    if (sodium_init() < 0)
        return MOTE_ERR_STATE;
    mote_ledger_t *l = ledger_new(path, sk);
    if (!l)
        return MOTE_ERR_NOMEM;
    uint64_t torn = 0;
    int complete = 0;
    mote_status_t s = open_locked(l, err, errsz);
    if (s == MOTE_OK)
        s = load_chain(l, &torn, &complete, err, errsz);
    if (s == MOTE_OK && torn) {
        s = repair(l, torn, complete, err, errsz);
        if (s == MOTE_OK)
            s = load_chain(l, &torn, &complete, err, errsz);
        if (s == MOTE_OK && torn) {
            set_err(err, errsz, "torn last line still there after repair");
            s = MOTE_ERR_IO;
        }
    }
    if (s == MOTE_OK && l->seq && write_anchor(l) != 0)
        fprintf(stderr, "mote ledger: %s: cannot write %s: %s\n", l->path, l->head_path, strerror(errno));
    if (s != MOTE_OK) {
        mote_ledger_close(l);
        return s;
    }
    *out = l;
    return MOTE_OK;
}

/* Compact re-encoding of a JSON object (no raw newline can survive). */
static char *compact_body(const char *body_json, char *err, size_t errsz)
{
    json_error_t je;
    json_t *j = json_loads(body_json, 0, &je);
    if (!j || !json_is_object(j)) {
        set_err(err, errsz, "body is not a JSON object%s%s", j ? "" : ": ", j ? "" : je.text);
        json_decref(j);
        return NULL;
    }
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        set_err(err, errsz, "body: out of memory");
    else if (strlen(s) > MOTE_LEDGER_MAX_BODY) {
        set_err(err, errsz, "body is %zu bytes, more than %u", strlen(s), MOTE_LEDGER_MAX_BODY);
        free(s);
        s = NULL;
    }
    return s;
}

/* Build the full line for the next entry into buf (MOTE_LEDGER_MAX_LINE+1
 * bytes); returns its length including the newline. Caller holds l->mu. */
static size_t build_line(mote_ledger_t *l, const char *kind, const char *body, char *buf, uint8_t hash[32])
{
    char prev[65], kid[17], hhex[65], shex[129];
    uint8_t sig[MOTE_LEDGER_SIG_LEN];
    int n = snprintf(buf, MOTE_LEDGER_MAX_LINE + 1, "{\"seq\":%llu,\"ts\":%llu,\"kind\":\"%s\",\"body\":%s"
                     PREV_TAG "%s" KEY_TAG "%s\"", (unsigned long long)(l->seq + 1),
                     (unsigned long long)now_ms(), kind, body, mote_hex_encode(l->head, 32, prev),
                     mote_hex_encode(l->key_id, 8, kid));
    entry_hash(buf, (size_t)n, hash);
    crypto_sign_detached(sig, NULL, hash, MOTE_LEDGER_HASH_LEN, l->sk);
    n += snprintf(buf + n, MOTE_LEDGER_MAX_LINE + 1 - (size_t)n, HASH_TAG "%s" SIG_TAG "%s" END_TAG "\n",
                  mote_hex_encode(hash, 32, hhex), mote_hex_encode(sig, 64, shex));
    return (size_t)n;
}

/* Write the line at the committed end and make it durable. On failure,
 * try to cut what was written; if even that fails, mark the handle. */
static mote_status_t commit_line(mote_ledger_t *l, const char *line, size_t n, char *err, size_t errsz)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(l->fd, line + done, n - done, (off_t)(l->size + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    if (done == n && fdatasync(l->fd) == 0)
        return MOTE_OK;
    int e = errno;
    if (ftruncate(l->fd, (off_t)l->size) != 0 || fdatasync(l->fd) != 0)
        l->broken = 1;
    set_err(err, errsz, "append failed: %s%s", strerror(e),
            l->broken ? " (the file may end in a partial line: reopen to repair)" : "");
    return MOTE_ERR_IO;
}

/* Compact every body and check every kind up front, so a bad item
 * refuses the whole batch before anything is written. */
static char **prepare_bodies(const mote_ledger_item_t *items, size_t n, char *err, size_t errsz)
{
    char **bodies = calloc(n, sizeof *bodies);
    for (size_t i = 0; bodies && i < n; i++) {
        const char *kind = items[i].kind, *body = items[i].body_json;
        if (!kind || !body || !kind_ok(kind, strlen(kind))) {
            set_err(err, errsz, "item %zu: kind '%.40s' is not 1..%d of [a-z0-9_.-]", i, kind ? kind : "(null)",
                    MOTE_LEDGER_KIND_LEN);
        } else if ((bodies[i] = compact_body(body, err, errsz)) != NULL) {
            continue;
        }
        for (size_t k = 0; k < i; k++)
            free(bodies[k]);
        free(bodies);
        return NULL;
    }
    if (!bodies)
        set_err(err, errsz, "out of memory");
    return bodies;
}

/* Build the lines of a batch into one buffer, advancing seq and head as
 * each line chains to the one before. Caller holds l->mu and restores
 * seq/head when the write fails. */
static char *build_batch(mote_ledger_t *l, const mote_ledger_item_t *items, char *const *bodies, size_t n,
                         size_t *len_out)
{
    size_t cap = 0, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += strlen(bodies[i]) + 512u;
    char *buf = malloc(cap + 1), *line = malloc(MOTE_LEDGER_MAX_LINE + 1);
    for (size_t i = 0; buf && line && i < n; i++) {
        uint8_t hash[MOTE_LEDGER_HASH_LEN];
        size_t k = build_line(l, items[i].kind, bodies[i], line, hash);
        memcpy(buf + len, line, k);
        len += k;
        l->seq++;
        memcpy(l->head, hash, sizeof hash);
    }
    free(line);
    *len_out = len;
    return buf;
}

mote_status_t mote_ledger_append_many(mote_ledger_t *l, const mote_ledger_item_t *items, size_t n,
                                      uint64_t *first_seq, char *err, size_t errsz)
{
    if (!l || (!items && n))
        return MOTE_ERR_ARG;
    if (n == 0)
        return MOTE_OK;
    char **bodies = prepare_bodies(items, n, err, errsz);
    if (!bodies)
        return MOTE_ERR_FORMAT;
    mote_status_t s = MOTE_ERR_STATE;
    pthread_mutex_lock(&l->mu);
    if (l->broken) {
        set_err(err, errsz, "an earlier append failed half-way: reopen the ledger");
    } else {
        uint64_t seq0 = l->seq;
        uint8_t head0[MOTE_LEDGER_HASH_LEN];
        memcpy(head0, l->head, sizeof head0);
        size_t len = 0;
        char *buf = build_batch(l, items, bodies, n, &len);
        s = buf ? commit_line(l, buf, len, err, errsz) : MOTE_ERR_NOMEM;
        if (s == MOTE_OK) {
            l->size += len;
            if (first_seq)
                *first_seq = seq0 + 1;
            if (write_anchor(l) != 0)
                fprintf(stderr, "mote ledger: %s: cannot write %s\n", l->path, l->head_path);
        } else {
            l->seq = seq0;
            memcpy(l->head, head0, sizeof head0);
        }
        free(buf);
    }
    pthread_mutex_unlock(&l->mu);
    for (size_t i = 0; i < n; i++)
        free(bodies[i]);
    free(bodies);
    return s;
}

mote_status_t mote_ledger_append(mote_ledger_t *l, const char *kind, const char *body_json, uint64_t *seq_out,
                                 char *err, size_t errsz)
{
    if (!l || !kind || !body_json)
        return MOTE_ERR_ARG;
    if (!kind_ok(kind, strlen(kind))) {
        set_err(err, errsz, "kind '%.40s' is not 1..%d of [a-z0-9_.-]", kind, MOTE_LEDGER_KIND_LEN);
        return MOTE_ERR_ARG;
    }
    mote_ledger_item_t it = {kind, body_json};
    return mote_ledger_append_many(l, &it, 1, seq_out, err, errsz);
}

void mote_ledger_head(mote_ledger_t *l, uint64_t *seq, uint8_t hash[MOTE_LEDGER_HASH_LEN])
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    if (seq)
        *seq = l->seq;
    if (hash)
        memcpy(hash, l->head, MOTE_LEDGER_HASH_LEN);
    pthread_mutex_unlock(&l->mu);
}

uint64_t mote_ledger_repaired_bytes(const mote_ledger_t *l)
{
    return l ? l->repaired : 0;
}

typedef struct list_ctx {
    uint64_t from;
    mote_ledger_cb_t cb;
    void *ctx;
} list_ctx_t;

static int list_filter(const mote_ledger_entry_t *e, void *ctx)
{
    const list_ctx_t *c = ctx;
    return e->seq >= c->from ? c->cb(e, c->ctx) : 0;
}

mote_status_t mote_ledger_list(mote_ledger_t *l, uint64_t from_seq, mote_ledger_cb_t cb, void *ctx, char *err,
                               size_t errsz)
{
    if (!l || !cb)
        return MOTE_ERR_ARG;
    /* Committed bytes never change, so scanning them needs no lock; only
     * the size is read under it. */
    pthread_mutex_lock(&l->mu);
    uint64_t size = l->size;
    pthread_mutex_unlock(&l->mu);
    list_ctx_t lc = {from_seq, cb, ctx};
    mote_ledger_result_t res;
    return scan_fd(l->fd, size, l->pk, NULL, list_filter, &lc, &res, err, errsz);
}

void mote_ledger_close(mote_ledger_t *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd); /* also drops the lock */
    sodium_memzero(l->sk, sizeof l->sk);
    pthread_mutex_destroy(&l->mu);
    free(l->path);
    free(l->head_path);
    free(l);
}
