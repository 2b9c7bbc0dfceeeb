/* `mote learn`'s replay engine (src/pipeline/online.h) on the acceptance
 * scenarios of examples/online/, run on the real recordings in
 * MOTE_SHARED_DIR/data: every number a device computes comes from libmote
 * (DSP, int8 runtime, tap, standardizer, head, anomaly, drift, policy).
 * The stationary stream is cut to 20,000 windows per phase to keep the
 * test short; the full runs and their numbers are in
 * examples/online/README.md. Measured values are printed as "ONLINE ...". */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "online.h"

static char out_root[] = "/tmp/mote-online-XXXXXX";

static const char *example(const char *name)
{
    static char buf[1024];
    const char *file = __FILE__, *slash = strrchr(file, '/');
    snprintf(buf, sizeof buf, "%.*s/../../examples/online/%s", slash ? (int)(slash - file) : 1,
             slash ? file : ".", name);
    return buf;
}

/* Run one example config into its own folder under out_root. */
static void run(const char *name, uint64_t limit, mote_online_result_t *res)
{
    char msg[MOTE_ONLINE_MSG_LEN], dir[256];
    mote_online_config_t *cfg = NULL;
    mote_status_t st = mote_online_config_load(example(name), &cfg, msg, sizeof msg);
    if (st != MOTE_OK)
        fail_msg("%s: %s", name, msg);
    snprintf(dir, sizeof dir, "%s/%s", out_root, name);
    mote_online_opts_t o = {dir, 0, 0, limit, 1};
    st = mote_online_run(cfg, &o, res, msg, sizeof msg);
    mote_online_config_free(cfg);
    if (st != MOTE_OK)
        fail_msg("%s: %s", name, msg);
}

static double rate(uint64_t k, uint64_t n)
{
    return n ? (double)k / (double)n : NAN;
}

/* a. quiet-room backbone in the noisy room, labels on 1 sample in 10 */
static void test_fan_drift(void **state)
{
    (void)state;
    mote_online_result_t r;
    run("fan_drift.json", 0, &r);
    printf("ONLINE fan drift: backbone alone %.4f, head %.4f, after 50 labels %.4f, labels to "
           ">= 95%% for good %lld\n", r.backbone_acc, r.accuracy, r.acc_after_labels,
           (long long)r.labels_to_target);
    assert_true(r.backbone_acc < 0.7);
    assert_true(r.acc_after_labels >= 0.95);
    assert_true(r.labels_to_target >= 0 && r.labels_to_target <= 50);
    mote_online_result_free(&r);
    run("fan_drift_frozen.json", 0, &r);
    printf("ONLINE fan drift without adaptation: head %.4f\n", r.accuracy);
    assert_true(r.accuracy < 0.7);
    mote_online_result_free(&r);
}

/* b. autoencoder adapted without labels, held-out split: false alarms
 * met, detection guarded at 85 % (seed 1 measures 89.7 %, seeds 1-5
 * 94.7 %; the tuning split, fan_anomaly_tune.json, meets both goals and
 * runs in scripts/online.sh: see the README). */
static void test_fan_anomaly(void **state)
{
    (void)state;
    mote_online_result_t r;
    run("fan_anomaly.json", 0, &r);
    const mote_online_phase_result_t *ev = &r.phases[1];
    printf("ONLINE fan anomaly held out: false alarms %.4f, detected %.4f, AUC %.4f\n",
           rate(ev->flagged_normal, ev->normal), rate(ev->flagged_anomalous, ev->anomalous), ev->auc);
    assert_int_equal(r.phases[0].drifts, 1);
    assert_true(rate(ev->flagged_normal, ev->normal) <= 0.01);
    assert_true(rate(ev->flagged_anomalous, ev->anomalous) >= 0.85);
    assert_true(ev->auc >= 0.99);
    mote_online_result_free(&r);
    run("fan_anomaly_frozen.json", 0, &r);
    ev = &r.phases[1];
    printf("ONLINE fan anomaly frozen: false alarms %.4f, AUC %.4f\n",
           rate(ev->flagged_normal, ev->normal), ev->auc);
    assert_true(rate(ev->flagged_normal, ev->normal) >= 0.9);
    assert_true(ev->auc < 0.7);
    mote_online_result_free(&r);
}

/* c. outer race added at run time */
static void test_new_class(void **state)
{
    (void)state;
    mote_online_result_t r;
    run("cwru_new_class.json", 0, &r);
    printf("ONLINE cwru new class: added %llu, 4-class accuracy after 20 outer-race labels %.4f\n",
           (unsigned long long)r.classes_added, r.acc_after_class);
    assert_int_equal(r.classes_added, 1);
    assert_true(r.at_after_class > 0);
    assert_true(r.acc_after_class >= 0.98);
    mote_online_result_free(&r);
}

/* d. 0 hp -> 2 hp: detection delay, recovery; false alarms when stationary */
static void test_load_drift(void **state)
{
    (void)state;
    mote_online_result_t r;
    run("cwru_load_drift.json", 0, &r);
    printf("ONLINE cwru load drift: fired %lld windows after the switch, %llu alarms before, "
           "2 hp accuracy %.4f\n", (long long)r.phases[1].first_drift,
           (unsigned long long)r.phases[0].drifts, r.phases[1].accuracy);
    assert_int_equal(r.phases[0].drifts, 0);
    assert_true(r.phases[1].first_drift >= 0 && r.phases[1].first_drift <= 200);
    assert_true(r.phases[1].accuracy >= 0.98);
    mote_online_result_free(&r);
    run("cwru_stationary.json", 20000, &r);
    uint64_t windows = r.phases[0].n + r.phases[2].n, alarms = r.phases[0].drifts + r.phases[2].drifts;
    printf("ONLINE cwru stationary: %llu alarms in %llu windows; switch detected after %lld\n",
           (unsigned long long)alarms, (unsigned long long)windows,
           (long long)r.phases[1].first_drift);
    assert_true(1e4 * (double)alarms / (double)windows <= 1.0);
    assert_true(r.phases[1].first_drift >= 0 && r.phases[1].first_drift <= 200);
    mote_online_result_free(&r);
}

/* e. Isolation Forest on band energies of the fan spectra */
static void test_iforest(void **state)
{
    (void)state;
    mote_online_result_t r;
    run("fan_iforest.json", 0, &r);
    printf("ONLINE fan iforest AUC %.4f\n", r.auc);
    assert_true(r.auc >= 0.99);
    mote_online_result_free(&r);
}

/* Config errors name the file and the JSON path. */
static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"task\": \"classify\", \"classes\": [\"a\"], \"stream\": {\"phases\": []}}", "stream.phases"},
        {"{\"classes\": [\"a\"], \"head\": {\"lr\": -1}, \"stream\": {}}", "head.lr"},
        {"{\"classes\": [\"a\"], \"frob\": 1}", "frob: unknown key"},
        {"{\"task\": \"anomaly\", \"stream\": {}}", "anomaly: required"},
        {"{\"classes\": [\"a\"], \"stream\": {\"phases\": [{\"segments\": [{\"split\": \"x\"}]}]}}",
         "stream.phases[0].segments[0]"},
        {"{\"classes\": [\"a\"], \"drift\": {\"detectors\": [{\"type\": \"ph\", \"input\": \"?\"}]}, "
         "\"stream\": {}}", "drift.detectors[0].input"},
        {"{\"classes\": [\"a\"],\n \"stream\": }", "cfg.json:2:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[MOTE_ONLINE_MSG_LEN] = "";
        mote_online_config_t *cfg = NULL;
        mote_status_t st = mote_online_config_parse("cfg.json", cases[i].json, strlen(cases[i].json),
                                                     &cfg, msg, sizeof msg);
        if (st == MOTE_OK || !strstr(msg, cases[i].want))
            fail_msg("case %zu: status %d, message '%s', want '%s'", i, (int)st, msg, cases[i].want);
        assert_null(cfg);
    }
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(out_root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out_root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors), cmocka_unit_test(test_fan_drift),
        cmocka_unit_test(test_fan_anomaly),   cmocka_unit_test(test_new_class),
        cmocka_unit_test(test_load_drift),    cmocka_unit_test(test_iforest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
