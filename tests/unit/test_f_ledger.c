/* Tamper-evident ledger (src/fleet/ledger.c): append, reopen and verify;
 * every single-byte edit of a ledger is detected at the line holding the
 * byte; removing any entry, swapping two, splicing in another chain's
 * entry, another key, a re-hashed entry without the key, a removed tail
 * against an anchor, torn last lines
 * (repaired by open: cut, or completed when the entry is whole), a broken
 * chain refused by open, a second appender refused, bad kinds and bodies,
 * concurrent appends from threads giving one valid chain, and the key
 * files that sign it. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "ledger.h"

#define N_ENTRIES 5

typedef struct keypair {
    uint8_t pk[MOTE_KEY_PK_LEN];
    uint8_t sk[MOTE_KEY_SK_LEN];
} keypair_t;

static keypair_t key, other;
static char dir[64], path[128];

static void keygen(keypair_t *k, uint8_t seed_byte)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(seed, seed_byte, sizeof seed); /* deterministic keys: reproducible tests */
    if (sodium_init() < 0 || crypto_sign_seed_keypair(k->pk, k->sk, seed) != 0)
        abort();
}

static int setup(void **state)
{
    (void)state;
    keygen(&key, 7);
    keygen(&other, 8);
    strcpy(dir, "/tmp/mote-ledger-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/ledger.jsonl", dir);
    return 0;
}

static void wipe(void)
{
    char p[160];
    unlink(path);
    snprintf(p, sizeof p, "%s.head", path);
    unlink(p);
}

static int teardown(void **state)
{
    (void)state;
    wipe();
    return rmdir(dir);
}

static uint8_t *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *p, const void *b, size_t n)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* A fresh ledger of n entries signed by k. */
static void make_ledger(const keypair_t *k, int n)
{
    wipe();
    mote_ledger_t *l = NULL;
    char err[256], body[128];
    assert_int_equal(mote_ledger_open(&l, path, k->sk, err, sizeof err), MOTE_OK);
    static const char *kinds[] = {"register", "deploy", "campaign_step", "rollback", "fl_round"};
    for (int i = 0; i < n; i++) {
        uint64_t seq = 0;
        snprintf(body, sizeof body, "{\"model\":\"sine\",\"version\":%d,\"note\":\"line\\nbreak \\u00e9\"}", i + 1);
        assert_int_equal(mote_ledger_append(l, kinds[i % 5], body, &seq, err, sizeof err), MOTE_OK);
        assert_int_equal(seq, (uint64_t)i + 1);
    }
    mote_ledger_close(l);
}

/* Offsets of the n lines of buf; returns the count. */
static int line_starts(const uint8_t *b, size_t len, size_t *starts, int max)
{
    int n = 0;
    for (size_t i = 0; i < len && n < max; i++)
        if (i == 0 || b[i - 1] == '\n')
            starts[n++] = i;
    return n;
}

static mote_status_t scan(const void *b, size_t n, const uint8_t *pk, const mote_ledger_anchor_t *a,
                          mote_ledger_result_t *res)
{
    char err[256];
    return mote_ledger_scan(b, n, pk, a, NULL, NULL, res, err, sizeof err);
}

static int count_cb(const mote_ledger_entry_t *e, void *ctx)
{
    uint64_t *c = ctx;
    assert_int_equal(e->seq, c[0] + c[1]); /* in order from the first listed */
    c[1]++;
    assert_true(e->body_len > 2 && e->body[0] == '{');
    return 0;
}

static void test_append_reopen_verify(void **state)
{
    (void)state;
    char err[256], hp[160];
    make_ledger(&key, 3);
    uint64_t n = 0;
    uint8_t head[32], head2[32];
    assert_int_equal(mote_ledger_verify_file(path, key.pk, &n, head, err, sizeof err), MOTE_OK);
    assert_int_equal(n, 3);
    mote_ledger_anchor_t a;
    snprintf(hp, sizeof hp, "%s.head", path);
    assert_int_equal(mote_ledger_anchor_read(hp, &a, err, sizeof err), MOTE_OK);
    assert_int_equal(a.seq, 3);
    assert_memory_equal(a.hash, head, 32);

    mote_ledger_t *l = NULL;
    assert_int_equal(mote_ledger_open(&l, path, key.sk, err, sizeof err), MOTE_OK);
    uint64_t seq = 0;
    mote_ledger_head(l, &seq, head2);
    assert_int_equal(seq, 3);
    assert_memory_equal(head2, head, 32);
    assert_int_equal(mote_ledger_append(l, "deploy", "{\"device\":\"dev-0001\"}", &seq, err, sizeof err), MOTE_OK);
    assert_int_equal(seq, 4);
    uint64_t c[2] = {2, 0};
    assert_int_equal(mote_ledger_list(l, 2, count_cb, c, err, sizeof err), MOTE_OK);
    assert_int_equal(c[1], 3);
    mote_ledger_close(l);
    /* the old anchor is still in the longer chain */
    mote_ledger_result_t res;
    assert_int_equal(mote_ledger_scan_file(path, key.pk, &a, NULL, NULL, &res, err, sizeof err), MOTE_OK);
    assert_int_equal(res.n, 4);
}

typedef struct batch_seen {
    uint64_t next;
    int bad;
} batch_seen_t;

static int batch_cb(const mote_ledger_entry_t *e, void *ctx)
{
    batch_seen_t *b = ctx;
    char want[64];
    snprintf(want, sizeof want, "{\"device\":\"dev-%04llu\"}", (unsigned long long)e->seq);
    b->bad += e->seq != b->next || e->body_len != strlen(want) || memcmp(e->body, want, e->body_len) != 0;
    b->next++;
    return 0;
}

/* A batch is all or nothing, chains like single appends, and is listed
 * back entry by entry. */
static void test_append_many(void **state)
{
    (void)state;
    char err[256], hp[160];
    make_ledger(&key, 2);
    size_t len0 = 0, len1 = 0;
    uint8_t *before = slurp(path, &len0);
    mote_ledger_t *l = NULL;
    assert_int_equal(mote_ledger_open(&l, path, key.sk, err, sizeof err), MOTE_OK);
    mote_ledger_item_t bad[3] = {{"deploy", "{\"device\":\"dev-0003\"}"}, {"deploy", "[1,2]"},
                                 {"deploy", "{\"device\":\"dev-0005\"}"}};
    assert_int_equal(mote_ledger_append_many(l, bad, 3, NULL, err, sizeof err), MOTE_ERR_FORMAT);
    assert_non_null(strstr(err, "not a JSON object"));
    bad[1].kind = "Deploy!";
    bad[1].body_json = "{}";
    assert_int_equal(mote_ledger_append_many(l, bad, 3, NULL, err, sizeof err), MOTE_ERR_FORMAT);
    assert_non_null(strstr(err, "item 1"));
    uint8_t *same = slurp(path, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, same, len0);
    free(same);

    enum { N = 300 };
    static char bodies[N][48];
    mote_ledger_item_t items[N];
    for (int i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof bodies[i], "{\"device\":\"dev-%04d\"}", i + 3);
        items[i].kind = "deploy";
        items[i].body_json = bodies[i];
    }
    uint64_t first = 0, seq = 0;
    assert_int_equal(mote_ledger_append_many(l, items, N, &first, err, sizeof err), MOTE_OK);
    assert_int_equal(first, 3);
    assert_int_equal(mote_ledger_append_many(l, items, 0, &first, err, sizeof err), MOTE_OK);
    mote_ledger_head(l, &seq, NULL);
    assert_int_equal(seq, N + 2);
    batch_seen_t seen = {3, 0};
    assert_int_equal(mote_ledger_list(l, 3, batch_cb, &seen, err, sizeof err), MOTE_OK);
    assert_int_equal(seen.bad, 0);
    assert_int_equal(seen.next, N + 3);
    mote_ledger_close(l);
    uint64_t n = 0;
    uint8_t head[32];
    assert_int_equal(mote_ledger_verify_file(path, key.pk, &n, head, err, sizeof err), MOTE_OK);
    assert_int_equal(n, N + 2);
    mote_ledger_anchor_t a;
    snprintf(hp, sizeof hp, "%s.head", path);
    assert_int_equal(mote_ledger_anchor_read(hp, &a, err, sizeof err), MOTE_OK);
    assert_int_equal(a.seq, N + 2);
    assert_memory_equal(a.hash, head, 32);
    free(before);
}

static void test_empty_and_args(void **state)
{
    (void)state;
    mote_ledger_result_t res;
    assert_int_equal(scan("", 0, key.pk, NULL, &res), MOTE_OK);
    assert_int_equal(res.n, 0);
    char err[256];
    assert_int_equal(mote_ledger_verify_file("/nonexistent/x", key.pk, NULL, NULL, err, sizeof err),
                     MOTE_ERR_NOT_FOUND);
    make_ledger(&key, 0);
    uint64_t n = 9;
    assert_int_equal(mote_ledger_verify_file(path, key.pk, &n, NULL, err, sizeof err), MOTE_OK);
    assert_int_equal(n, 0);
}

/* Every byte, changed in several ways, is caught on the line holding it. */
static void test_every_single_byte_edit(void **state)
{
    (void)state;
    make_ledger(&key, N_ENTRIES);
    size_t len = 0, starts[N_ENTRIES + 1];
    uint8_t *orig = slurp(path, &len);
    assert_int_equal(line_starts(orig, len, starts, N_ENTRIES), N_ENTRIES);
    starts[N_ENTRIES] = len;
    static const int edits[] = {0x01, 0x20, 0x80, '\n', '0', 'a', ' '};
    uint8_t *b = malloc(len);
    int tried = 0, line = 0;
    for (size_t i = 0; i < len; i++) {
        while (i >= starts[line + 1])
            line++;
        for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
            memcpy(b, orig, len);
            b[i] = k < 3 ? (uint8_t)(orig[i] ^ edits[k]) : (uint8_t)edits[k];
            if (b[i] == orig[i])
                continue;
            mote_ledger_result_t res;
            mote_status_t st = scan(b, len, key.pk, NULL, &res);
            if (st == MOTE_OK || res.bad_line != (uint64_t)line + 1)
                fail_msg("edit at byte %zu (line %d) to 0x%02x: status %d, reported line %llu", i, line + 1, b[i],
                         st, (unsigned long long)res.bad_line);
            tried++;
        }
    }
    assert_true(tried >= 6 * (int)len); /* a byte equals at most one replacement */
    free(b);
    free(orig);
}

static void test_removed_entry(void **state)
{
    (void)state;
    make_ledger(&key, N_ENTRIES);
    size_t len = 0, starts[N_ENTRIES + 1];
    uint8_t *orig = slurp(path, &len), *b = malloc(len);
    line_starts(orig, len, starts, N_ENTRIES);
    starts[N_ENTRIES] = len;
    mote_ledger_result_t full;
    assert_int_equal(scan(orig, len, key.pk, NULL, &full), MOTE_OK);
    mote_ledger_anchor_t anchor = {N_ENTRIES, {0}}, any = {0, {0}};
    memcpy(anchor.hash, full.head, 32);
    memcpy(any.hash, full.head, 32);
    for (int k = 0; k < N_ENTRIES; k++) {
        size_t cut = starts[k + 1] - starts[k];
        memcpy(b, orig, starts[k]);
        memcpy(b + starts[k], orig + starts[k + 1], len - starts[k + 1]);
        mote_ledger_result_t res;
        mote_status_t st = scan(b, len - cut, key.pk, NULL, &res);
        if (k < N_ENTRIES - 1) {
            assert_int_equal(st, MOTE_ERR_VERIFY);
            assert_int_equal(res.problem, MOTE_LEDGER_P_SEQ);
            assert_int_equal(res.bad_line, (uint64_t)k + 1);
        } else {
            /* the tail: invisible without an anchor, caught with one */
            assert_int_equal(st, MOTE_OK);
            assert_int_equal(res.n, N_ENTRIES - 1);
            assert_int_equal(scan(b, len - cut, key.pk, &anchor, &res), MOTE_ERR_VERIFY);
            assert_int_equal(res.problem, MOTE_LEDGER_P_ANCHOR);
            assert_int_equal(scan(b, len - cut, key.pk, &any, &res), MOTE_ERR_VERIFY);
            assert_int_equal(res.problem, MOTE_LEDGER_P_ANCHOR);
        }
    }
    /* an anchor contradicting the chain at its seq */
    anchor.hash[0] ^= 1;
    mote_ledger_result_t res;
    assert_int_equal(scan(orig, len, key.pk, &anchor, &res), MOTE_ERR_VERIFY);
    assert_int_equal(res.problem, MOTE_LEDGER_P_ANCHOR);
    assert_int_equal(res.bad_line, N_ENTRIES);
    free(b);
    free(orig);
}

static void test_swapped_entries(void **state)
{
    (void)state;
    make_ledger(&key, N_ENTRIES);
    size_t len = 0, starts[N_ENTRIES + 1];
    uint8_t *orig = slurp(path, &len), *b = malloc(len);
    line_starts(orig, len, starts, N_ENTRIES);
    starts[N_ENTRIES] = len;
    for (int k = 0; k + 1 < N_ENTRIES; k++) {
        size_t n1 = starts[k + 1] - starts[k], n2 = starts[k + 2] - starts[k + 1];
        memcpy(b, orig, len);
        memcpy(b + starts[k], orig + starts[k + 1], n2);
        memcpy(b + starts[k] + n2, orig + starts[k], n1);
        mote_ledger_result_t res;
        assert_int_equal(scan(b, len, key.pk, NULL, &res), MOTE_ERR_VERIFY);
        assert_int_equal(res.problem, MOTE_LEDGER_P_SEQ);
        assert_int_equal(res.bad_line, (uint64_t)k + 1);
        assert_int_equal(res.n, (uint64_t)k);
    }
    free(b);
    free(orig);
}

static void test_wrong_key_and_rehash(void **state)
{
    (void)state;
    make_ledger(&other, 2);
    size_t len = 0;
    uint8_t *b = slurp(path, &len);
    mote_ledger_result_t res;
    assert_int_equal(scan(b, len, key.pk, NULL, &res), MOTE_ERR_VERIFY);
    assert_int_equal(res.problem, MOTE_LEDGER_P_KEY);
    assert_int_equal(res.bad_line, 1);
    /* without a key: structure and chain only, so it passes */
    assert_int_equal(scan(b, len, NULL, NULL, &res), MOTE_OK);
    free(b);

    /* edit the last body, then recompute its hash as a forger without the
     * key can: the signature gives it away */
    make_ledger(&key, 2);
    b = slurp(path, &len);
    size_t starts[2];
    line_starts(b, len, starts, 2);
    char *line = (char *)b + starts[1];
    size_t n = len - starts[1] - 1, signed_len = n - 212;
    char *v = strstr(line, "\"version\":2");
    assert_non_null(v);
    v[10] = '9';
    uint8_t h[32];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)"mote-ledger-v1\n", 15);
    crypto_hash_sha256_update(&st, (const uint8_t *)line, signed_len);
    crypto_hash_sha256_final(&st, h);
    char hex[65];
    memcpy(line + signed_len + 9, mote_hex_encode(h, 32, hex), 64);
    assert_int_equal(scan(b, len, key.pk, NULL, &res), MOTE_ERR_VERIFY);
    assert_int_equal(res.problem, MOTE_LEDGER_P_SIG);
    assert_int_equal(res.bad_line, 2);
    free(b);
}

/* Entry 2 of another ledger by the same key: right seq, valid hash and
 * signature, but it does not link to this chain's entry 1. */
static void test_spliced_entry(void **state)
{
    (void)state;
    make_ledger(&key, 3);
    size_t la = 0, lb = 0, sa[3], sb[3];
    uint8_t *a = slurp(path, &la);
    make_ledger(&key, 3);
    uint8_t *b = slurp(path, &lb);
    line_starts(a, la, sa, 3);
    line_starts(b, lb, sb, 3);
    size_t n2 = sb[2] - sb[1];
    uint8_t *m = malloc(sa[1] + n2);
    memcpy(m, a, sa[1]);
    memcpy(m + sa[1], b + sb[1], n2);
    mote_ledger_result_t res;
    assert_int_equal(scan(m, sa[1] + n2, key.pk, NULL, &res), MOTE_ERR_VERIFY);
    assert_int_equal(res.problem, MOTE_LEDGER_P_PREV);
    assert_int_equal(res.bad_line, 2);
    free(m);
    free(a);
    free(b);
}

/* Cut inside the last line: verify reports it torn; open cuts it (and
 * only it), logs, and appending continues on a valid chain. */
static void test_torn_tail_cut(void **state)
{
    (void)state;
    char err[256];
    make_ledger(&key, 3);
    size_t len = 0, starts[3];
    uint8_t *orig = slurp(path, &len);
    line_starts(orig, len, starts, 3);
    size_t cuts[] = {starts[2] + 1, starts[2] + 100, len - 2};
    for (size_t c = 0; c < 3; c++) {
        wipe();
        spit(path, orig, cuts[c]);
        mote_ledger_result_t res;
        assert_int_equal(mote_ledger_scan_file(path, key.pk, NULL, NULL, NULL, &res, err, sizeof err),
                         MOTE_ERR_TRUNCATED);
        assert_int_equal(res.problem, MOTE_LEDGER_P_TORN);
        assert_int_equal(res.bad_line, 3);
        assert_non_null(strstr(err, "line 3"));
        mote_ledger_t *l = NULL;
        assert_int_equal(mote_ledger_open(&l, path, key.sk, err, sizeof err), MOTE_OK);
        assert_int_equal(mote_ledger_repaired_bytes(l), cuts[c] - starts[2]);
        uint64_t seq = 0;
        assert_int_equal(mote_ledger_append(l, "rollback", "{\"reason\":\"health\"}", &seq, err, sizeof err),
                         MOTE_OK);
        assert_int_equal(seq, 3);
        mote_ledger_close(l);
        uint64_t n = 0;
        assert_int_equal(mote_ledger_verify_file(path, key.pk, &n, NULL, err, sizeof err), MOTE_OK);
        assert_int_equal(n, 3);
        size_t len2 = 0;
        uint8_t *now = slurp(path, &len2);
        assert_memory_equal(now, orig, starts[2]); /* valid entries untouched */
        free(now);
    }
    free(orig);
}

/* A whole entry missing only its newline is kept, not cut. */
static void test_torn_tail_complete(void **state)
{
    (void)state;
    char err[256];
    make_ledger(&key, 3);
    size_t len = 0;
    uint8_t *orig = slurp(path, &len);
    spit(path, orig, len - 1);
    mote_ledger_t *l = NULL;
    assert_int_equal(mote_ledger_open(&l, path, key.sk, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_ledger_repaired_bytes(l), 0);
    uint64_t seq = 0;
    mote_ledger_head(l, &seq, NULL);
    assert_int_equal(seq, 3);
    mote_ledger_close(l);
    size_t len2 = 0;
    uint8_t *now = slurp(path, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(now, orig, len);
    free(now);
    free(orig);
}

/* open refuses to append to a broken chain and changes nothing. */
static void test_open_refuses_broken(void **state)
{
    (void)state;
    char err[256];
    make_ledger(&key, 3);
    size_t len = 0, len2 = 0;
    uint8_t *orig = slurp(path, &len);
    orig[40] ^= 1;
    spit(path, orig, len);
    mote_ledger_t *l = NULL;
    assert_int_not_equal(mote_ledger_open(&l, path, key.sk, err, sizeof err), MOTE_OK);
    assert_null(l);
    assert_non_null(strstr(err, "line 1"));
    uint8_t *now = slurp(path, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(now, orig, len);
    free(now);
    /* nor with the wrong key */
    make_ledger(&key, 1);
    assert_int_equal(mote_ledger_open(&l, path, other.sk, err, sizeof err), MOTE_ERR_VERIFY);
    free(orig);
}

static void test_second_appender_and_bad_input(void **state)
{
    (void)state;
    char err[256];
    make_ledger(&key, 1);
    mote_ledger_t *l = NULL, *l2 = NULL;
    assert_int_equal(mote_ledger_open(&l, path, key.sk, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_ledger_open(&l2, path, key.sk, err, sizeof err), MOTE_ERR_STATE);
    assert_null(l2);
    assert_int_equal(mote_ledger_append(l, "Deploy", "{}", NULL, err, sizeof err), MOTE_ERR_ARG);
    assert_int_equal(mote_ledger_append(l, "", "{}", NULL, err, sizeof err), MOTE_ERR_ARG);
    assert_int_equal(mote_ledger_append(l, "a\"b", "{}", NULL, err, sizeof err), MOTE_ERR_ARG);
    assert_int_equal(mote_ledger_append(l, "deploy", "[1,2]", NULL, err, sizeof err), MOTE_ERR_FORMAT);
    assert_int_equal(mote_ledger_append(l, "deploy", "{\"a\":", NULL, err, sizeof err), MOTE_ERR_FORMAT);
    char *big = malloc(MOTE_LEDGER_MAX_BODY + 64);
    int n = snprintf(big, 16, "{\"x\":\"");
    memset(big + n, 'a', MOTE_LEDGER_MAX_BODY);
    strcpy(big + n + MOTE_LEDGER_MAX_BODY, "\"}");
    assert_int_equal(mote_ledger_append(l, "deploy", big, NULL, err, sizeof err), MOTE_ERR_FORMAT);
    free(big);
    uint64_t seq = 0;
    mote_ledger_head(l, &seq, NULL);
    assert_int_equal(seq, 1);
    mote_ledger_close(l);
    uint64_t cnt = 0;
    assert_int_equal(mote_ledger_verify_file(path, key.pk, &cnt, NULL, err, sizeof err), MOTE_OK);
    assert_int_equal(cnt, 1);
}

#define THREADS 4
#define PER_THREAD 40

typedef struct worker {
    mote_ledger_t *l;
    int id;
    int fails;
} worker_t;

static void *append_many(void *arg)
{
    worker_t *w = arg;
    char body[64], err[256];
    for (int i = 0; i < PER_THREAD; i++) {
        snprintf(body, sizeof body, "{\"thread\":%d,\"i\":%d}", w->id, i);
        if (mote_ledger_append(w->l, "fl_round", body, NULL, err, sizeof err) != MOTE_OK)
            w->fails++;
    }
    return NULL;
}

static int per_thread_cb(const mote_ledger_entry_t *e, void *ctx)
{
    int *next = ctx, t = -1, i = -1;
    char tmp[64];
    if (e->body_len >= sizeof tmp)
        return 1;
    memcpy(tmp, e->body, e->body_len);
    tmp[e->body_len] = '\0';
    if (sscanf(tmp, "{\"thread\":%d,\"i\":%d}", &t, &i) != 2 || t < 0 || t >= THREADS || next[t] != i)
        return 1;
    next[t]++; /* each thread's entries appear in its own order */
    return 0;
}

static void test_concurrent_appends(void **state)
{
    (void)state;
    char err[256];
    wipe();
    mote_ledger_t *l = NULL;
    assert_int_equal(mote_ledger_open(&l, path, key.sk, err, sizeof err), MOTE_OK);
    pthread_t th[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){l, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, append_many, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].fails, 0);
    }
    mote_ledger_close(l);
    int next[THREADS] = {0};
    mote_ledger_result_t res;
    assert_int_equal(mote_ledger_scan_file(path, key.pk, NULL, per_thread_cb, next, &res, err, sizeof err),
                     MOTE_OK);
    assert_int_equal(res.n, THREADS * PER_THREAD);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(next[i], PER_THREAD);
}

static void test_anchor_file_format(void **state)
{
    (void)state;
    char p[160], err[256];
    mote_ledger_anchor_t a;
    snprintf(p, sizeof p, "%s/anchor", dir);
    static const char *bad[] = {"", "0 " "0000000000000000000000000000000000000000000000000000000000000000\n",
                                "1 00\n", "01 0000000000000000000000000000000000000000000000000000000000000000\n",
                                "1 000000000000000000000000000000000000000000000000000000000000000A\n",
                                "1 0000000000000000000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spit(p, bad[i], strlen(bad[i]));
        assert_int_equal(mote_ledger_anchor_read(p, &a, err, sizeof err), MOTE_ERR_FORMAT);
    }
    const char *good = "12 00000000000000000000000000000000000000000000000000000000000000ff\n";
    spit(p, good, strlen(good));
    assert_int_equal(mote_ledger_anchor_read(p, &a, err, sizeof err), MOTE_OK);
    assert_int_equal(a.seq, 12);
    assert_int_equal(a.hash[31], 0xff);
    unlink(p);
}

/* Key files (keys.c), which sign the ledger: generate, load, refuse. */
static void test_key_files(void **state)
{
    (void)state;
    char prefix[128], skp[160], pkp[160], err[256];
    snprintf(prefix, sizeof prefix, "%s/fleet", dir);
    snprintf(skp, sizeof skp, "%s.sk", prefix);
    snprintf(pkp, sizeof pkp, "%s.pk", prefix);
    uint8_t pk[32], pk2[32], sk[64];
    assert_int_equal(mote_key_generate(prefix, 0, pk, err, sizeof err), MOTE_OK);
    struct stat st;
    assert_int_equal(stat(skp, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(mote_key_generate(prefix, 0, NULL, err, sizeof err), MOTE_ERR_IO);
    assert_int_equal(mote_key_load_pk(pkp, pk2, err, sizeof err), MOTE_OK);
    assert_memory_equal(pk, pk2, 32);
    assert_int_equal(mote_key_load_sk(skp, sk, err, sizeof err), MOTE_OK);
    assert_memory_equal(sk + 32, pk, 32);
    assert_int_equal(mote_key_load_sk(pkp, sk, err, sizeof err), MOTE_ERR_FORMAT);
    assert_int_equal(mote_key_load_pk(skp, pk2, err, sizeof err), MOTE_ERR_FORMAT);
    /* a secret key whose public half was damaged */
    size_t len = 0;
    uint8_t *b = slurp(skp, &len);
    b[100] = b[100] == '0' ? '1' : '0';
    spit(skp, b, len);
    free(b);
    assert_int_equal(mote_key_load_sk(skp, sk, err, sizeof err), MOTE_ERR_VERIFY);
    /* raw binary keys are accepted too */
    spit(pkp, key.pk, 32);
    assert_int_equal(mote_key_load_pk(pkp, pk2, err, sizeof err), MOTE_OK);
    assert_memory_equal(pk2, key.pk, 32);
    assert_int_equal(mote_key_generate(prefix, 1, NULL, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_key_load_pk("/nonexistent/k.pk", pk2, err, sizeof err), MOTE_ERR_NOT_FOUND);
    unlink(skp);
    unlink(pkp);

    uint8_t h[2];
    assert_int_equal(mote_hex_decode("aB", 1, h, 1), MOTE_ERR_FORMAT);
    assert_int_equal(mote_hex_decode("aB", 1, h, 0), MOTE_OK);
    assert_int_equal(h[0], 0xab);
    assert_int_equal(mote_hex_decode("0g", 1, h, 0), MOTE_ERR_FORMAT);
    char hex[5];
    h[0] = 0x0f;
    h[1] = 0xa0;
    assert_string_equal(mote_hex_encode(h, 2, hex), "0fa0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_reopen_verify),
        cmocka_unit_test(test_append_many),
        cmocka_unit_test(test_empty_and_args),
        cmocka_unit_test(test_every_single_byte_edit),
        cmocka_unit_test(test_removed_entry),
        cmocka_unit_test(test_swapped_entries),
        cmocka_unit_test(test_wrong_key_and_rehash),
        cmocka_unit_test(test_spliced_entry),
        cmocka_unit_test(test_torn_tail_cut),
        cmocka_unit_test(test_torn_tail_complete),
        cmocka_unit_test(test_open_refuses_broken),
        cmocka_unit_test(test_second_appender_and_bad_input),
        cmocka_unit_test(test_concurrent_appends),
        cmocka_unit_test(test_anchor_file_format),
        cmocka_unit_test(test_key_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
