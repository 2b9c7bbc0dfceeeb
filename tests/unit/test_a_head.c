/* The device's federated head (src/agent/head_dev.c) on TFLM's
 * hello_world_int8 (FULLY_CONNECTED 1 -> 16 -> 16 -> 1; the tap is the
 * 16-wide input of the last layer): a card with a matching head parses,
 * and classifying through it equals running the model with a tap, the
 * head's frozen standardizer and mote_learn_predict by hand; a head of
 * another width, a class list of another length, a state that is not hex,
 * a corrupted blob and a linear head are refused with a reason naming the
 * problem; a card without a head gives none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "head_dev.h"
#include "testutil.h"

#define CLASSES 3
#define MAXF 64

static tu_model_t net;
static uint32_t tap_n;

/* A head over nf features, weights w[c][j] = (c - 1) * (j + 1) / 50, and
 * (with_std) a frozen standardizer of mean 0.1 j and variance 4; its blob
 * as a card's lowercase hex into hex (cap bytes). */
static size_t make_blob(uint32_t nf, int kind, int with_std, uint8_t *blob, size_t cap)
{
    static float hb[CLASSES * (MAXF + 1)], sb[2 * MAXF];
    mote_learn_config_t c;
    mote_learn_config_default(&c, nf, CLASSES);
    c.kind = (uint8_t)kind;
    mote_learn_head_t h;
    assert_int_equal(mote_learn_head_init(&h, &c, hb, sizeof hb), MOTE_OK);
    for (uint32_t k = 0; k < CLASSES; k++)
        for (uint32_t j = 0; j < nf; j++)
            h.w[k * nf + j] = ((float)k - 1.0f) * (float)(j + 1) / 50.0f;
    h.b[1] = 0.25f;
    mote_learn_std_t s;
    assert_int_equal(mote_learn_std_init(&s, nf, 0, 0, sb, sizeof sb), MOTE_OK);
    for (uint32_t j = 0; j < nf; j++)
        s.mean[j] = 0.1f * (float)j, s.m2[j] = 4.0f * 10.0f;
    s.count = 10, s.frozen = 1;
    size_t n = 0;
    assert_int_equal(mote_learn_save(&h, with_std ? &s : NULL, blob, cap, &n), MOTE_OK);
    return n;
}

static char *card_for(const uint8_t *blob, size_t n, const char *classes)
{
    char *c = malloc(2 * n + 512);
    int k = sprintf(c, "{\"name\":\"hw\",\"output\":{\"classes\":[\"y\"]},\"head\":{\"round\":4,\"version\":9,"
                       "\"classes\":%s,\"state\":\"",
                    classes);
    for (size_t i = 0; i < n; i++)
        k += sprintf(c + k, "%02x", blob[i]);
    strcpy(c + k, "\"}}");
    return c;
}

static int setup(void **state)
{
    (void)state;
    tu_model_open(&net, tu_shared("models/tflm-examples/hello_world_int8.tflite"));
    tap_n = 16;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_model_close(&net);
    return 0;
}

static const char *k3 = "[\"normal\",\"ball\",\"inner_race\"]";

static void parses_and_matches_by_hand(void **state)
{
    (void)state;
    static uint8_t blob[4096];
    size_t n = make_blob(tap_n, MOTE_LEARN_SOFTMAX, 1, blob, sizeof blob);
    char *card = card_for(blob, n, k3), msg[256] = "";
    mote_head_dev_t *hd = NULL;
    assert_int_equal(mote_head_dev_parse(card, strlen(card), &net.m, &hd, msg, sizeof msg), MOTE_OK);
    assert_non_null(hd);
    assert_int_equal(hd->n_features, tap_n);
    assert_int_equal(hd->n_classes, CLASSES);
    assert_string_equal(hd->classes[2], "inner_race");
    assert_int_equal(hd->round, 4);
    assert_int_equal(hd->version, 9);

    mote_head_run_t r;
    assert_int_equal(mote_head_run_init(&r, hd, &net.m), MOTE_OK);
    assert_true(r.has_std);
    mote_tensor_t in;
    assert_int_equal(mote_model_input(&net.m, 0, &in), MOTE_OK);
    int seen[CLASSES] = {0};
    for (int v = -128; v < 128; v += 5) {
        ((int8_t *)in.data)[0] = (int8_t)v;
        uint32_t cls = 99;
        float conf = -1;
        assert_int_equal(mote_head_run_classify(&r, &net.m, &cls, &conf), MOTE_OK);
        /* by hand: tap, standardize, predict */
        float x[16], p[CLASSES];
        mote_learn_tap_t t;
        ((int8_t *)in.data)[0] = (int8_t)v;
        assert_int_equal(mote_learn_tap_init(&t, &net.m, hd->tap_tensor, x, tap_n), MOTE_OK);
        assert_int_equal(mote_model_invoke_hooked(&net.m, mote_learn_tap_hook, &t), MOTE_OK);
        for (uint32_t j = 0; j < tap_n; j++)
            x[j] = (x[j] - 0.1f * (float)j) / 2.0f;
        mote_learn_head_t h;
        static float hb[CLASSES * 17];
        mote_learn_config_t c;
        mote_learn_config_default(&c, tap_n, CLASSES);
        assert_int_equal(mote_learn_head_init(&h, &c, hb, sizeof hb), MOTE_OK);
        assert_int_equal(mote_learn_restore(&h, NULL, blob, n, NULL, 0), MOTE_OK);
        uint32_t want = mote_learn_predict(&h, x, p);
        assert_int_equal(cls, want);
        assert_true(conf > p[want] - 1e-5f && conf < p[want] + 1e-5f);
        seen[cls]++;
    }
    /* the input sweep reaches more than one class: the head really decides */
    assert_true((seen[0] > 0) + (seen[1] > 0) + (seen[2] > 0) >= 2);
    mote_head_run_free(&r);
    mote_head_dev_free(hd);
    free(card);
}

static void refuse(const char *card, mote_status_t want, const char *needle)
{
    char msg[256] = "";
    mote_head_dev_t *hd = (mote_head_dev_t *)1;
    assert_int_equal(mote_head_dev_parse(card, strlen(card), &net.m, &hd, msg, sizeof msg), want);
    assert_null(hd);
    if (!strstr(msg, needle))
        fail_msg("message '%s' lacks '%s'", msg, needle);
}

static void refuses_bad_heads(void **state)
{
    (void)state;
    static uint8_t blob[4096];
    size_t n = make_blob(8, MOTE_LEARN_SOFTMAX, 0, blob, sizeof blob);
    char *c = card_for(blob, n, k3);
    refuse(c, MOTE_ERR_SHAPE, "takes 8 features, the model's tap (tensor");
    free(c);

    n = make_blob(tap_n, MOTE_LEARN_SOFTMAX, 1, blob, sizeof blob);
    c = card_for(blob, n, "[\"a\",\"b\"]");
    refuse(c, MOTE_ERR_SHAPE, "'head.classes' must name its 3 classes");
    free(c);

    blob[70] ^= 0x10; /* a weight: only the CRC can tell */
    c = card_for(blob, n, k3);
    refuse(c, MOTE_ERR_VERIFY, "head:");
    free(c);

    n = make_blob(tap_n, MOTE_LEARN_LINEAR, 0, blob, sizeof blob);
    c = card_for(blob, n, k3);
    refuse(c, MOTE_ERR_SHAPE, "softmax");
    free(c);

    refuse("{\"head\":{\"state\":\"zz\",\"classes\":[]}}", MOTE_ERR_FORMAT, "not hex");
    refuse("{\"head\":{\"state\":\"abc\"}}", MOTE_ERR_FORMAT, "'head.state'");
    refuse("{\"head\":[1]}", MOTE_ERR_FORMAT, "'head' must be an object");
}

static void no_head_no_head(void **state)
{
    (void)state;
    const char *c = "{\"name\":\"hw\",\"output\":{\"classes\":[\"y\"]}}";
    mote_head_dev_t *hd = (mote_head_dev_t *)1;
    assert_int_equal(mote_head_dev_parse(c, strlen(c), &net.m, &hd, NULL, 0), MOTE_OK);
    assert_null(hd);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(parses_and_matches_by_hand),
        cmocka_unit_test(refuses_bad_heads),
        cmocka_unit_test(no_head_no_head),
    };
    return cmocka_run_group_tests(t, setup, teardown);
}
