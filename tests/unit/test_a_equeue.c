/* On-disk event queue (src/agent/equeue.c): append, acknowledge, reopen;
 * a torn last record at every byte offset; a corrupted record; a process
 * killed with SIGKILL while appending loses nothing it had appended;
 * compaction keeps seqs persistent. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, kill */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "equeue.h"

static char dir[64];

static void wipe(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/events.q", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/cursor", dir);
    unlink(p);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_a_equeue.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    wipe();
    rmdir(dir);
    return 0;
}

static void payload(uint64_t seq, char *buf, size_t cap, size_t *len)
{
    *len = (size_t)snprintf(buf, cap, "{\"seq\":%llu,\"pad\":\"%0*d\"}", (unsigned long long)seq,
                            (int)(seq % 40), 7);
}

static void append_n(mote_equeue_t *q, int n)
{
    for (int i = 0; i < n; i++) {
        char b[128];
        size_t len;
        uint64_t seq = mote_equeue_next_seq(q);
        payload(seq, b, sizeof b, &len);
        assert_int_equal(mote_equeue_append(q, seq, b, len), MOTE_OK);
    }
}

/* Every pending record in order: seqs from..to, payloads as written. */
static void expect_pending(mote_equeue_t *q, uint64_t from, uint64_t to)
{
    uint64_t after = 0, seq;
    char b[256], want[128];
    size_t len, wlen;
    for (uint64_t s = from; s <= to; s++) {
        assert_int_equal(mote_equeue_peek(q, after, &seq, b, sizeof b, &len), MOTE_OK);
        assert_int_equal(seq, s);
        payload(s, want, sizeof want, &wlen);
        assert_int_equal(len, wlen);
        assert_memory_equal(b, want, len);
        after = seq;
    }
    assert_int_equal(mote_equeue_peek(q, after, &seq, b, sizeof b, &len), MOTE_ERR_NOT_FOUND);
}

static void test_append_ack_reopen(void **state)
{
    (void)state;
    wipe();
    mote_equeue_t q;
    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_SYNC, 0), MOTE_OK);
    assert_int_equal(mote_equeue_next_seq(&q), 1);
    append_n(&q, 10);
    assert_int_equal(mote_equeue_pending(&q), 10);
    /* out of order: 2 first does not move the cursor past 1 */
    assert_int_equal(mote_equeue_ack(&q, 2), MOTE_OK);
    assert_int_equal(q.acked, 0);
    assert_int_equal(mote_equeue_ack(&q, 1), MOTE_OK);
    assert_int_equal(q.acked, 2);
    assert_int_equal(mote_equeue_ack(&q, 99), MOTE_OK); /* unknown: ignored */
    mote_equeue_close(&q);

    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_SYNC, 0), MOTE_OK);
    assert_int_equal(mote_equeue_pending(&q), 8);
    expect_pending(&q, 3, 10);
    assert_int_equal(mote_equeue_next_seq(&q), 11);
    for (uint64_t s = 3; s <= 10; s++)
        assert_int_equal(mote_equeue_ack(&q, s), MOTE_OK);
    assert_int_equal(mote_equeue_pending(&q), 0);
    assert_int_equal(q.size, MOTE_EQUEUE_HDR); /* emptied */
    mote_equeue_close(&q);

    /* seqs survive an empty log */
    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0), MOTE_OK);
    assert_int_equal(mote_equeue_next_seq(&q), 11);
    assert_int_equal(mote_equeue_append(&q, 5, "x", 1), MOTE_ERR_ARG); /* seq going back */
    assert_int_equal(mote_equeue_append(&q, 20, "x", 1), MOTE_OK);     /* gaps allowed */
    assert_int_equal(mote_equeue_next_seq(&q), 21);
    mote_equeue_close(&q);
}

static void test_limits(void **state)
{
    (void)state;
    wipe();
    mote_equeue_t q;
    static char big[MOTE_EQUEUE_MAX_RECORD + 1];
    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 200), MOTE_OK);
    assert_int_equal(mote_equeue_append(&q, 1, big, 0), MOTE_ERR_ARG);
    assert_int_equal(mote_equeue_append(&q, 1, big, sizeof big), MOTE_ERR_ARG);
    assert_int_equal(mote_equeue_append(&q, 1, big, 100), MOTE_OK);
    assert_int_equal(mote_equeue_append(&q, 2, big, 100), MOTE_ERR_FULL);
    uint64_t seq;
    size_t len;
    char small[10];
    assert_int_equal(mote_equeue_peek(&q, 0, &seq, small, sizeof small, &len), MOTE_ERR_LIMIT);
    assert_int_equal(len, 100);
    mote_equeue_close(&q);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

/* Cut the log at every byte of its last record (and one flipped byte
 * there): open keeps the first 5 records exactly, drops the tail, and the
 * next append reuses seq 6. */
static void test_torn_tail(void **state)
{
    (void)state;
    wipe();
    mote_equeue_t q;
    char path[128];
    snprintf(path, sizeof path, "%s/events.q", dir);
    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0), MOTE_OK);
    append_n(&q, 5);
    size_t five = (size_t)q.size;
    append_n(&q, 1);
    mote_equeue_close(&q);
    size_t full;
    uint8_t *orig = slurp(path, &full);
    for (size_t cut = five; cut <= full; cut++) {
        for (int flip = 0; flip < 2; flip++) {
            if (flip && cut == five)
                continue;
            uint8_t *b = malloc(full);
            memcpy(b, orig, full);
            if (flip)
                b[cut - 1] ^= 0x40;
            spit(path, b, cut);
            free(b);
            assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0), MOTE_OK);
            int whole = cut == full && !flip;
            expect_pending(&q, 1, whole ? 6 : 5);
            assert_int_equal(q.dropped_tail, whole ? 0 : cut - five);
            if (!whole && cut > five)
                assert_non_null(strstr(q.msg, "record 5"));
            assert_int_equal(mote_equeue_next_seq(&q), whole ? 7 : 6);
            append_n(&q, 1);
            expect_pending(&q, 1, whole ? 7 : 6);
            mote_equeue_close(&q);
        }
    }
    free(orig);
}

static void test_bad_files(void **state)
{
    (void)state;
    wipe();
    char path[128];
    mote_equeue_t q;
    snprintf(path, sizeof path, "%s/events.q", dir);
    spit(path, (const uint8_t *)"NOTAQUEUEFILE", 13);
    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0), MOTE_ERR_CORRUPT);
    assert_non_null(strstr(q.msg, "bad magic"));
    spit(path, (const uint8_t *)"MOTE", 4); /* torn magic: a fresh log */
    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0), MOTE_OK);
    assert_int_equal(mote_equeue_pending(&q), 0);
    mote_equeue_close(&q);
    snprintf(path, sizeof path, "%s/cursor", dir);
    spit(path, (const uint8_t *)"garbage-cursor!!", 16);
    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0), MOTE_ERR_CORRUPT);
    assert_non_null(strstr(q.msg, "cursor"));
    unlink(path);
}

/* A child appends as fast as it can and reports each seq after append
 * returns; it is killed at random moments. Every reported seq must be
 * there after reopen, in order, with its payload. */
static void test_sigkill(void **state)
{
    (void)state;
    wipe();
    uint64_t reported = 0;
    for (int round = 0; round < 20; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            mote_equeue_t q;
            if (mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0) != MOTE_OK)
                _exit(3);
            for (;;) {
                char b[128];
                size_t len;
                uint64_t seq = mote_equeue_next_seq(&q);
                payload(seq, b, sizeof b, &len);
                if (mote_equeue_append(&q, seq, b, len) != MOTE_OK)
                    _exit(4);
                if (write(fds[1], &seq, sizeof seq) != sizeof seq)
                    _exit(5);
            }
        }
        close(fds[1]);
        uint64_t s;
        /* kill only once it is appending (a slow, sanitized start) */
        assert_int_equal(read(fds[0], &s, sizeof s), sizeof s);
        reported = s;
        struct timespec ts = {0, (long)(2000 + (round * 7919) % 20000) * 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
        while (read(fds[0], &s, sizeof s) == sizeof s)
            reported = s;
        close(fds[0]);
        mote_equeue_t q;
        assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0), MOTE_OK);
        assert_true(reported > 0);
        assert_true(mote_equeue_next_seq(&q) > reported);
        expect_pending(&q, 1, mote_equeue_next_seq(&q) - 1);
        mote_equeue_close(&q);
    }
}

/* A large acknowledged head is rewritten away; the rest stays readable. */
static void test_compact_rewrite(void **state)
{
    (void)state;
    wipe();
    mote_equeue_t q;
    static char big[60000];
    memset(big, 'e', sizeof big);
    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0), MOTE_OK);
    for (uint64_t s = 1; s <= 40; s++)
        assert_int_equal(mote_equeue_append(&q, s, big, sizeof big), MOTE_OK);
    uint64_t before = q.size;
    for (uint64_t s = 1; s <= 30; s++)
        assert_int_equal(mote_equeue_ack(&q, s), MOTE_OK);
    assert_true(q.size < before / 2);
    assert_int_equal(mote_equeue_pending(&q), 10);
    mote_equeue_close(&q);
    assert_int_equal(mote_equeue_open(&q, dir, MOTE_EQUEUE_NOSYNC, 0), MOTE_OK);
    assert_int_equal(mote_equeue_pending(&q), 10);
    uint64_t seq;
    size_t len;
    static char out[60000];
    assert_int_equal(mote_equeue_peek(&q, 0, &seq, out, sizeof out, &len), MOTE_OK);
    assert_int_equal(seq, 31);
    assert_memory_equal(out, big, sizeof big);
    assert_int_equal(mote_equeue_next_seq(&q), 41);
    mote_equeue_close(&q);
}

static void test_scan(void **state)
{
    (void)state;
    size_t valid;
    char msg[160];
    assert_int_equal(mote_equeue_scan("", 0, NULL, NULL, &valid, msg, sizeof msg), MOTE_OK);
    assert_int_equal(mote_equeue_scan("MOTEEQ01", 8, NULL, NULL, &valid, msg, sizeof msg), MOTE_OK);
    assert_int_equal(valid, 8);
    /* a zero length record */
    uint8_t b[8 + 16] = "MOTEEQ01";
    assert_int_equal(mote_equeue_scan(b, sizeof b, NULL, NULL, &valid, msg, sizeof msg),
                     MOTE_ERR_CORRUPT);
    assert_non_null(strstr(msg, "offset 8"));
    assert_int_equal(valid, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_ack_reopen), cmocka_unit_test(test_limits),
        cmocka_unit_test(test_torn_tail),         cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_sigkill),           cmocka_unit_test(test_compact_rewrite),
        cmocka_unit_test(test_scan),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
