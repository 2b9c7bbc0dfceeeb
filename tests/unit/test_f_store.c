/* moted's store (src/fleet/store*.c) on SQLite, and on PostgreSQL when
 * MOTE_TEST_PG=postgresql://... is set (tests/cli/test_moted_pg.sh runs
 * this binary again that way): schema, devices, command sequence numbers
 * that survive a reopen, events stored exactly once (also from racing
 * threads), twins, models, transactions, JSON rows. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <pthread.h>
#include "store.h"

static char root[64];
static char url[256];

static mote_store_t *open_store(void)
{
    mote_store_t *s = NULL;
    char err[256];
    if (mote_store_open(&s, url, err, sizeof err) != MOTE_OK)
        fail_msg("open %s: %s", url, err);
    return s;
}

static int64_t count(mote_store_t *s, const char *sql, const char *arg)
{
    char buf[32], err[256];
    const char *p[] = {arg};
    int r = mote_store_query_text(s, sql, p, arg ? 1 : 0, buf, sizeof buf, err, sizeof err);
    if (r < 0)
        fail_msg("%s: %s", sql, err);
    return r ? strtoll(buf, NULL, 10) : -1;
}

static int setup(void **state)
{
    (void)state;
    const char *pg = getenv("MOTE_TEST_PG");
    if (pg && *pg) {
        snprintf(url, sizeof url, "%s", pg);
        mote_store_t *s = open_store();
        char err[256];
        if (mote_store_exec(s, "DROP TABLE IF EXISTS devices, models, twin, events, campaigns, campaign_devices", NULL,
                            0, NULL, NULL, NULL, err, sizeof err) != MOTE_OK)
            fail_msg("%s", err);
        mote_store_close(s);
    } else {
        snprintf(url, sizeof url, "%s/t.db", root);
        unlink(url);
    }
    return 0;
}

static void test_devices_and_seq(void **state)
{
    (void)state;
    mote_store_t *s = open_store();
    char err[256];
    assert_int_equal(mote_store_device_upsert(s, "dev-1", "{\"id\":\"urn:mote:dev:dev-1\"}", "gw", "plant/a", 65536,
                                              262144, "0.1.0", 1000, err, sizeof err),
                     MOTE_OK);
    assert_int_equal(mote_store_device_upsert(s, "dev-1", "{\"id\":\"urn:mote:dev:dev-1\",\"v\":2}", "gw", "plant/b",
                                              65536, 262144, "0.1.1", 2000, err, sizeof err),
                     MOTE_OK);
    assert_int_equal(count(s, "SELECT first_seen FROM devices WHERE id = ?", "dev-1"), 1000);
    assert_int_equal(count(s, "SELECT last_seen FROM devices WHERE id = ?", "dev-1"), 2000);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM devices WHERE grp = ?", "plant/b"), 1);
    assert_int_equal(mote_store_device_touch(s, "dev-2", 3000, err, sizeof err), MOTE_OK);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM devices", NULL), 2);
    uint64_t seq = 0;
    for (uint64_t i = 1; i <= 3; i++) {
        assert_int_equal(mote_store_cmd_seq_next(s, "dev-1", &seq, err, sizeof err), MOTE_OK);
        assert_int_equal(seq, i);
    }
    mote_store_close(s);
    s = open_store(); /* a restarted moted never reuses a command seq */
    assert_int_equal(mote_store_cmd_seq_next(s, "dev-1", &seq, err, sizeof err), MOTE_OK);
    assert_int_equal(seq, 4);
    assert_int_equal(mote_store_cmd_seq_next(s, "new-dev", &seq, err, sizeof err), MOTE_OK);
    assert_int_equal(seq, 1);
    json_t *rows = NULL;
    const char *p[] = {"dev-1"};
    assert_int_equal(mote_store_query_json(s, "SELECT id, td, ram, grp FROM devices WHERE id = ?", p, 1, &rows, err,
                                           sizeof err),
                     MOTE_OK);
    json_t *r = json_array_get(rows, 0);
    assert_int_equal(json_integer_value(json_object_get(r, "ram")), 65536);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "td"), "v")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "grp")), "plant/b");
    json_decref(rows);
    assert_int_not_equal(mote_store_exec(s, "SELECT nonsense FROM nowhere", NULL, 0, NULL, NULL, NULL, err, sizeof err),
                         MOTE_OK);
    assert_true(strlen(err) > 0);
    mote_store_close(s);
}

static void test_events_once(void **state)
{
    (void)state;
    mote_store_t *s = open_store();
    char err[256];
    int ins = -1;
    assert_int_equal(mote_store_event_insert(s, "dev-1", 7, 100, "anomaly", "{\"seq\":7}", 1, &ins, err, sizeof err),
                     MOTE_OK);
    assert_int_equal(ins, 1);
    assert_int_equal(mote_store_event_insert(s, "dev-1", 7, 100, "anomaly", "{\"seq\":7}", 2, &ins, err, sizeof err),
                     MOTE_OK);
    assert_int_equal(ins, 0);
    assert_int_equal(mote_store_event_insert(s, "dev-2", 7, 100, "drift", "{\"seq\":7}", 3, &ins, err, sizeof err),
                     MOTE_OK);
    assert_int_equal(ins, 1);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM events", NULL), 2);
    mote_store_close(s);
}

typedef struct racer {
    mote_store_t *s;
    int inserted;
} racer_t;

static void *race(void *arg)
{
    racer_t *r = arg;
    char err[256];
    for (uint64_t seq = 1; seq <= 300; seq++) {
        int ins = 0;
        if (mote_store_event_insert(r->s, "racer", seq, (int64_t)seq, "class", "{}", 0, &ins, err, sizeof err) ==
            MOTE_OK)
            r->inserted += ins;
    }
    return NULL;
}

/* Four threads on one store and two more on a second connection (as two
 * moted instances would) insert the same 300 events: 300 stored, and the
 * inserters agree that each was new exactly once. */
static void test_events_race(void **state)
{
    (void)state;
    mote_store_t *a = open_store(), *b = open_store();
    racer_t r[6];
    pthread_t t[6];
    for (int i = 0; i < 6; i++) {
        r[i] = (racer_t){i < 4 ? a : b, 0};
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    int total = 0;
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        total += r[i].inserted;
    }
    assert_int_equal(total, 300);
    assert_int_equal(count(a, "SELECT COUNT(*) FROM events WHERE device = ?", "racer"), 300);
    mote_store_close(a);
    mote_store_close(b);
}

static void test_twin(void **state)
{
    (void)state;
    mote_store_t *s = open_store();
    char err[256];
    mote_store_twin_t t;
    assert_int_equal(mote_store_twin_get(s, "dev-1", &t, err, sizeof err), 0);
    assert_int_equal(mote_store_twin_desired(s, "dev-1", "cwru4", 3, "c1", 10, err, sizeof err), MOTE_OK);
    mote_store_reported_t r = {"cwru4", 2, "cwru4", 1, 'b', "confirmed", "downloading", 3, 5, "ok", "{\"ts\":1}"};
    assert_int_equal(mote_store_twin_reported(s, "dev-1", &r, 11, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_store_twin_sent(s, "dev-1", 6, 12, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_store_twin_health(s, "dev-1", "{\"uptime_s\":5}", 13, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_store_twin_get(s, "dev-1", &t, err, sizeof err), 1);
    assert_string_equal(t.desired_model, "cwru4");
    assert_int_equal(t.desired_version, 3);
    assert_string_equal(t.campaign, "c1");
    assert_int_equal(t.version, 2);
    assert_int_equal(t.prev_version, 1);
    assert_string_equal(t.ota_status, "downloading");
    assert_int_equal(t.ota_version, 3);
    assert_int_equal(t.cmd_seq, 5);
    assert_string_equal(t.cmd_status, "ok");
    assert_int_equal(t.sent_seq, 6);
    assert_int_equal(t.sent_at, 12);
    mote_store_close(s);
}

static void test_models(void **state)
{
    (void)state;
    mote_store_t *s = open_store();
    char err[256];
    mote_store_model_t m = {"cwru4", 1, "cwru-gw", "/x/cwru4-1.bundle", "ab", 1234};
    memset(m.sha256, 'a', 64);
    m.sha256[64] = '\0';
    assert_int_equal(mote_store_model_latest(s, "cwru4", err, sizeof err), 0);
    assert_int_equal(mote_store_model_insert(s, &m, "{\"name\":\"cwru4\"}", 1, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_store_model_insert(s, &m, NULL, 2, err, sizeof err), MOTE_ERR_STATE);
    assert_non_null(strstr(err, "already registered"));
    m.version = 2;
    m.sha256[0] = 'b';
    assert_int_equal(mote_store_model_insert(s, &m, NULL, 3, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_store_model_latest(s, "cwru4", err, sizeof err), 2);
    mote_store_model_t g;
    assert_int_equal(mote_store_model_get(s, "cwru4", 1, &g, err, sizeof err), 1);
    assert_int_equal(g.size, 1234);
    assert_string_equal(g.target, "cwru-gw");
    assert_int_equal(mote_store_model_by_sha(s, m.sha256, &g, err, sizeof err), 1);
    assert_int_equal(g.version, 2);
    assert_int_equal(mote_store_model_get(s, "cwru4", 9, &g, err, sizeof err), 0);
    mote_store_close(s);
}

static void test_transactions(void **state)
{
    (void)state;
    mote_store_t *s = open_store();
    char err[256];
    assert_int_equal(mote_store_begin(s, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_store_device_touch(s, "tx-1", 1, err, sizeof err), MOTE_OK);
    mote_store_rollback(s);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM devices WHERE id = ?", "tx-1"), 0);
    assert_int_equal(mote_store_begin(s, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_store_device_touch(s, "tx-2", 1, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_store_commit(s, err, sizeof err), MOTE_OK);
    assert_int_equal(count(s, "SELECT COUNT(*) FROM devices WHERE id = ?", "tx-2"), 1);
    mote_store_close(s);
}

static void test_open_errors(void **state)
{
    (void)state;
    mote_store_t *s = NULL;
    char err[256];
    assert_int_equal(mote_store_open(&s, "/nonexistent/dir/x.db", err, sizeof err), MOTE_ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err, "/nonexistent/dir/x.db"));
    assert_int_equal(mote_store_open(&s, "postgresql://127.0.0.1:1/none?connect_timeout=2", err, sizeof err),
                     MOTE_ERR_IO);
    assert_non_null(strstr(err, "postgresql"));
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/mote-store-XXXXXX");
    if (!mkdtemp(root))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_devices_and_seq, setup), cmocka_unit_test_setup(test_events_once, setup),
        cmocka_unit_test_setup(test_events_race, setup),     cmocka_unit_test_setup(test_twin, setup),
        cmocka_unit_test_setup(test_models, setup),          cmocka_unit_test_setup(test_transactions, setup),
        cmocka_unit_test(test_open_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
