/* mote_learn_set_lr: the base rate changes what the next update steps by,
 * the schedule keeps its position, and a refused rate changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>
#include "mote/learn.h"

enum { NF = 3, NC = 2 };

static void make_head(mote_learn_head_t *h, float *buf, size_t len, uint32_t schedule)
{
    mote_learn_config_t c;
    mote_learn_config_default(&c, NF, NC);
    c.lr = 0.1f;
    c.schedule = schedule;
    c.decay = 1.0f;
    assert_int_equal(mote_learn_head_init(h, &c, buf, len), MOTE_OK);
}

static void test_set_lr(void **state)
{
    (void)state;
    float buf[2][NC * (NF + 1)];
    mote_learn_head_t a, b;
    make_head(&a, buf[0], sizeof buf[0], MOTE_LEARN_LR_CONSTANT);
    make_head(&b, buf[1], sizeof buf[1], MOTE_LEARN_LR_CONSTANT);
    assert_int_equal(mote_learn_set_lr(&b, 0.2f), MOTE_OK);
    assert_true(mote_learn_lr(&b) == 0.2f);
    const float x[NF] = { 1.0f, -2.0f, 0.5f };
    assert_int_equal(mote_learn_update(&a, x, 1), MOTE_OK);
    assert_int_equal(mote_learn_update(&b, x, 1), MOTE_OK);
    /* from zero weights the first step is linear in the rate */
    for (uint32_t i = 0; i < NC * (NF + 1); i++)
        assert_float_equal(buf[1][i], 2.0f * buf[0][i], 1e-7);
    assert_true(buf[0][NF] != 0.0f);
}

static void test_set_lr_schedule(void **state)
{
    (void)state;
    float buf[NC * (NF + 1)];
    mote_learn_head_t h;
    make_head(&h, buf, sizeof buf, MOTE_LEARN_LR_INVTIME);
    const float x[NF] = { 0.5f, 0.5f, 0.5f };
    for (int i = 0; i < 3; i++)
        assert_int_equal(mote_learn_update(&h, x, 0), MOTE_OK);
    assert_float_equal(mote_learn_lr(&h), 0.1f / 4.0f, 1e-7);
    assert_int_equal(mote_learn_set_lr(&h, 0.4f), MOTE_OK);
    assert_float_equal(mote_learn_lr(&h), 0.4f / 4.0f, 1e-7); /* t = 3 kept */
}

static void test_set_lr_refused(void **state)
{
    (void)state;
    float buf[NC * (NF + 1)];
    mote_learn_head_t h;
    make_head(&h, buf, sizeof buf, MOTE_LEARN_LR_CONSTANT);
    const float bad[] = { 0.0f, -0.1f, 1001.0f, NAN, INFINITY };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mote_learn_set_lr(&h, bad[i]), MOTE_ERR_ARG);
        assert_true(mote_learn_lr(&h) == 0.1f);
    }
    assert_int_equal(mote_learn_set_lr(NULL, 0.1f), MOTE_ERR_ARG);
    assert_int_equal(mote_learn_set_lr(&h, 1e3f), MOTE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_lr),
        cmocka_unit_test(test_set_lr_schedule),
        cmocka_unit_test(test_set_lr_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
