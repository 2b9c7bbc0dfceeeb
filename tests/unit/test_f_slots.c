/* A/B model slots (src/fleet/slots.c): install, health check, confirm and
 * rollback; a simulated power loss at every file-system mutation of an
 * update (mote_slots_set_crash_point), each followed by a fresh boot that
 * must find a loadable model and a consistent record, and by a resume that
 * must finish the update; truncated downloads, corrupted slots, too many
 * boot attempts, downgrades, bad signatures and unknown keys. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "f_fixture.h"
#include "slots.h"

#define TARGET "linux-arm64"
#define CHUNK 700

static f_keys_t key, other;
static mote_bundle_key_t trusted[1];
static uint8_t *b1, *b2, *b3_foreign;
static size_t b1_len, b2_len, b3_len;
static char dir[64];
static char logbuf[8192];

static void log_line(void *user, const char *line)
{
    (void)user;
    size_t n = strlen(logbuf);
    snprintf(logbuf + n, sizeof logbuf - n, "%s\n", line);
}

static int no_sync; /* the config's fsync switch, for the tests that flip it */

static mote_slots_config_t config(void)
{
    mote_slots_config_t c = {dir, trusted, 1, TARGET, 3, log_line, NULL, no_sync};
    return c;
}

static void wipe(void)
{
    static const char *files[] = {"boot.rec", "boot.rec.tmp", "slot_a.bundle", "slot_b.bundle"};
    char p[128];
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    logbuf[0] = '\0';
}

static int setup(void **state)
{
    (void)state;
    f_keygen(&key, 3);
    f_keygen(&other, 4);
    memcpy(trusted[0].pk, key.pk, sizeof key.pk);
    b1 = f_bundle(&key, 1, TARGET, &b1_len);
    b2 = f_bundle(&key, 2, TARGET, &b2_len);
    b3_foreign = f_bundle(&other, 3, TARGET, &b3_len);
    strcpy(dir, "/tmp/mote_slots_XXXXXX");
    assert_non_null(mkdtemp(dir));
    mote_slots_set_crash_point(-1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    wipe();
    rmdir(dir);
    free(b1);
    free(b2);
    free(b3_foreign);
    return 0;
}

/* Send bundle bytes [from, len) in CHUNK pieces; stops at the first error. */
static mote_status_t send(mote_slots_t *s, const uint8_t *b, size_t len, uint64_t from)
{
    for (uint64_t at = from; at < len; at += CHUNK) {
        size_t n = len - at < CHUNK ? (size_t)(len - at) : CHUNK;
        mote_status_t st = mote_slots_install_write(s, b + at, n);
        if (st != MOTE_OK)
            return st;
    }
    return MOTE_OK;
}

/* begin + send + commit, resuming where the disk says. */
static mote_status_t install(mote_slots_t *s, const uint8_t *b, size_t len, uint64_t version, uint64_t *resumed)
{
    uint64_t off = 0;
    mote_status_t st = mote_slots_install_begin(s, version, &off);
    if (resumed)
        *resumed = off;
    if (st == MOTE_OK)
        st = send(s, b, len, off);
    if (st == MOTE_OK)
        st = mote_slots_install_commit(s);
    return st;
}

/* Reboot, health check, confirm: the rest of an update after commit. */
static mote_status_t boot_and_confirm(mote_slots_t *s)
{
    mote_slots_config_t c = config();
    mote_slots_close(s);
    mote_status_t st = mote_slots_open(s, &c);
    if (st == MOTE_OK && s->rec.state == MOTE_SLOT_PENDING) {
        st = mote_slots_health_check(s, 4);
        if (st == MOTE_OK)
            st = mote_slots_confirm(s);
    }
    return st;
}

static void store_with_v1(mote_slots_t *s)
{
    wipe();
    mote_slots_config_t c = config();
    assert_int_equal(mote_slots_open(s, &c), MOTE_OK);
    assert_int_equal(s->rec.active, MOTE_SLOT_NONE);
    assert_int_equal(install(s, b1, b1_len, 1, NULL), MOTE_OK);
    assert_int_equal(boot_and_confirm(s), MOTE_OK);
    assert_int_equal(s->rec.version, 1);
    assert_int_equal(s->rec.state, MOTE_SLOT_CONFIRMED);
}

static void test_update_cycle(void **state)
{
    (void)state;
    mote_slots_t s;
    store_with_v1(&s);
    assert_int_equal(s.rec.active, MOTE_SLOT_A);
    assert_int_equal(install(&s, b2, b2_len, 2, NULL), MOTE_OK);
    assert_int_equal(s.rec.state, MOTE_SLOT_PENDING);
    assert_int_equal(s.rec.active, MOTE_SLOT_B);
    /* No install over the fallback slot while pending. */
    uint64_t off;
    assert_int_equal(mote_slots_install_begin(&s, 3, &off), MOTE_ERR_STATE);
    assert_int_equal(boot_and_confirm(&s), MOTE_OK);
    assert_int_equal(s.rec.version, 2);
    assert_int_equal(s.rec.prev_version, 1);
    uint8_t *card;
    size_t len;
    assert_int_equal(mote_slots_read_payload(&s, ".json", &card, &len), MOTE_OK);
    assert_memory_equal(card, "{\"schema\"", 9);
    free(card);
    assert_int_equal(mote_slots_read_payload(&s, ".onnx", &card, &len), MOTE_ERR_NOT_FOUND);
    mote_slots_close(&s);
}

/* Without fsync (simulators) the store behaves the same up to a power cut. */
static void test_update_cycle_no_sync(void **state)
{
    no_sync = 1;
    test_update_cycle(state);
    no_sync = 0;
}

/* After a power loss: the store must boot into old-or-new, loadable. */
static void check_after_crash(long n, int *resumed_mid)
{
    mote_slots_t s;
    mote_slots_config_t c = config();
    assert_int_equal(mote_slots_open(&s, &c), MOTE_OK);
    const mote_slots_record_t *r = mote_slots_record(&s);
    int old_ok = r->version == 1 && r->state == MOTE_SLOT_CONFIRMED && r->active == MOTE_SLOT_A;
    int new_ok = r->version == 2 && r->active == MOTE_SLOT_B &&
                 (r->state == MOTE_SLOT_PENDING || r->state == MOTE_SLOT_CONFIRMED);
    if (!old_ok && !new_ok)
        fail_msg("crash point %ld: inconsistent record: slot %u version %llu state %u", n, r->active,
                 (unsigned long long)r->version, r->state);
    if (mote_slots_health_check(&s, 4) != MOTE_OK)
        fail_msg("crash point %ld: active model unusable: %s", n, mote_slots_error(&s));
    /* Resume the update and finish it. */
    if (old_ok) {
        uint64_t off = 0;
        assert_int_equal(install(&s, b2, b2_len, 2, &off), MOTE_OK);
        if (off > 0 && off < b2_len)
            (*resumed_mid)++;
    }
    if (boot_and_confirm(&s) != MOTE_OK)
        fail_msg("crash point %ld: resume failed: %s", n, mote_slots_error(&s));
    assert_int_equal(s.rec.version, 2);
    assert_int_equal(s.rec.state, MOTE_SLOT_CONFIRMED);
    mote_slots_close(&s);
}

static void test_power_loss_every_step(void **state)
{
    (void)state;
    mote_slots_t s;
    /* Count the mutations of one whole update, crash-free. */
    store_with_v1(&s);
    mote_slots_set_crash_point(-1);
    assert_int_equal(install(&s, b2, b2_len, 2, NULL), MOTE_OK);
    assert_int_equal(boot_and_confirm(&s), MOTE_OK);
    long total = mote_slots_op_count();
    mote_slots_close(&s);
    assert_true(total > 2 * (long)(b2_len / CHUNK));
    int resumed_mid = 0;
    for (long n = 0; n <= total; n++) {
        store_with_v1(&s);
        mote_slots_set_crash_point(n);
        mote_status_t st = install(&s, b2, b2_len, 2, NULL);
        if (st == MOTE_OK)
            st = boot_and_confirm(&s);
        mote_slots_close(&s); /* power is gone: drop all memory state */
        mote_slots_set_crash_point(-1);
        assert_true(n == total ? st == MOTE_OK : st == MOTE_ERR_IO);
        check_after_crash(n, &resumed_mid);
    }
    print_message("power loss: %ld crash points, %d resumed mid-download\n", total, resumed_mid);
    assert_true(resumed_mid > 0);
}

static void test_truncated_download(void **state)
{
    (void)state;
    mote_slots_t s;
    store_with_v1(&s);
    uint64_t off;
    assert_int_equal(mote_slots_install_begin(&s, 2, &off), MOTE_OK);
    assert_int_equal(send(&s, b2, b2_len - 100, 0), MOTE_OK);
    assert_int_equal(mote_slots_install_commit(&s), MOTE_ERR_TRUNCATED);
    assert_non_null(strstr(mote_slots_error(&s), "truncated at offset"));
    assert_int_equal(s.rec.version, 1);
    mote_slots_close(&s);
}

static void test_corrupted_slot_rolls_back(void **state)
{
    (void)state;
    mote_slots_t s;
    store_with_v1(&s);
    assert_int_equal(install(&s, b2, b2_len, 2, NULL), MOTE_OK);
    assert_int_equal(boot_and_confirm(&s), MOTE_OK);
    mote_slots_close(&s);
    /* Flip one byte of the model inside slot B. */
    char p[128];
    snprintf(p, sizeof p, "%s/slot_b.bundle", dir);
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    fseek(f, (long)b2_len - 500, SEEK_SET);
    fputc(0x5a ^ b2[b2_len - 500], f);
    fclose(f);
    logbuf[0] = '\0';
    mote_slots_config_t c = config();
    assert_int_equal(mote_slots_open(&s, &c), MOTE_OK);
    assert_int_equal(s.rec.active, MOTE_SLOT_A);
    assert_int_equal(s.rec.version, 1);
    assert_int_equal(s.rec.state, MOTE_SLOT_ROLLED_BACK);
    assert_non_null(strstr(logbuf, "payload hash mismatch"));
    assert_int_equal(mote_slots_health_check(&s, 3), MOTE_OK);
    mote_slots_close(&s);
}

static void test_failed_health_and_attempts(void **state)
{
    (void)state;
    mote_slots_t s;
    mote_slots_config_t c = config();
    store_with_v1(&s);
    assert_int_equal(install(&s, b2, b2_len, 2, NULL), MOTE_OK);
    assert_int_equal(mote_slots_rollback(&s, "scores out of range"), MOTE_OK);
    assert_int_equal(s.rec.version, 1);
    assert_non_null(strstr(logbuf, "scores out of range"));
    /* A pending model never confirmed: max_attempts boots, then rollback. */
    assert_int_equal(install(&s, b2, b2_len, 2, NULL), MOTE_OK);
    for (int boot = 1; boot <= 3; boot++) {
        mote_slots_close(&s);
        assert_int_equal(mote_slots_open(&s, &c), MOTE_OK);
        assert_int_equal(s.rec.state, MOTE_SLOT_PENDING);
        assert_int_equal(s.rec.attempts, boot);
    }
    mote_slots_close(&s);
    assert_int_equal(mote_slots_open(&s, &c), MOTE_OK);
    assert_int_equal(s.rec.version, 1);
    assert_int_equal(s.rec.state, MOTE_SLOT_ROLLED_BACK);
    assert_non_null(strstr(logbuf, "boot attempts without confirmation"));
    mote_slots_close(&s);
}

static void test_refusals(void **state)
{
    (void)state;
    mote_slots_t s;
    store_with_v1(&s);
    assert_int_equal(install(&s, b2, b2_len, 2, NULL), MOTE_OK);
    assert_int_equal(boot_and_confirm(&s), MOTE_OK);
    /* Downgrade, announced and unannounced. */
    uint64_t off;
    assert_int_equal(mote_slots_install_begin(&s, 1, &off), MOTE_ERR_VERSION);
    assert_int_equal(install(&s, b1, b1_len, 0, NULL), MOTE_ERR_VERSION);
    assert_non_null(strstr(mote_slots_error(&s), "downgrade or replay"));
    /* Replay of the installed bundle. */
    assert_int_equal(install(&s, b2, b2_len, 0, NULL), MOTE_ERR_VERSION);
    /* Unknown key. */
    assert_int_equal(install(&s, b3_foreign, b3_len, 3, NULL), MOTE_ERR_NOT_FOUND);
    assert_non_null(strstr(mote_slots_error(&s), "unknown key"));
    /* Right key id, wrong signature. */
    uint8_t *forged = malloc(b3_len);
    assert_non_null(forged);
    memcpy(forged, b3_foreign, b3_len);
    mote_bundle_key_id(key.pk, forged + 160 + 3 * 104);
    assert_int_equal(install(&s, forged, b3_len, 3, NULL), MOTE_ERR_VERIFY);
    assert_non_null(strstr(mote_slots_error(&s), "bad signature"));
    free(forged);
    assert_int_equal(s.rec.version, 2);
    assert_int_equal(s.rec.state, MOTE_SLOT_CONFIRMED);
    mote_slots_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_cycle),
        cmocka_unit_test(test_update_cycle_no_sync),
        cmocka_unit_test(test_power_loss_every_step),
        cmocka_unit_test(test_truncated_download),
        cmocka_unit_test(test_corrupted_slot_rolls_back),
        cmocka_unit_test(test_failed_health_and_attempts),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
