/* `mote fed package` (src/fleet/head_pkg.c) on a package folder holding
 * TFLM's hello_world_int8 (its last FULLY_CONNECTED reads 16 values), a
 * stand-in .dspcfg and a card naming 3 classes: a signed head with its own
 * standardizer is packaged (files copied, head blob, card "head" object
 * with the BLAKE2b of the blob, round, version, "verified"); refused, each
 * with a message naming the problem: a head of another width, a card with
 * another class count, a signature of another version, a signature
 * without the key, a head without statistics and no --fed, a folder with
 * two .tflite and no --name, a blob that is not one. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fed.h"
#include "head_pkg.h"
#include "mote/learn.h"
#include "testutil.h"

static char dir[64], path[256];
static uint8_t pk[32], sk[64];

static const char *at(const char *name)
{
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void put(const char *name, const void *p, size_t n)
{
    FILE *f = fopen(at(name), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* A head over nf features and 3 classes (with_std: a frozen standardizer),
 * saved to NAME, signed for round 5 version 7 into NAME's .sig. */
static void head_file(const char *name, uint32_t nf, int with_std)
{
    static float hb[3 * 65], sb[128];
    static uint8_t blob[4096];
    mote_learn_config_t c;
    mote_learn_config_default(&c, nf, 3);
    mote_learn_head_t h;
    assert_int_equal(mote_learn_head_init(&h, &c, hb, sizeof hb), MOTE_OK);
    h.w[1] = 0.5f;
    mote_learn_std_t s;
    assert_int_equal(mote_learn_std_init(&s, nf, 0, 0, sb, sizeof sb), MOTE_OK);
    float x[64] = {1.0f, 2.0f};
    mote_learn_std_update(&s, x);
    x[0] = 3.0f;
    mote_learn_std_update(&s, x);
    size_t n = 0;
    assert_int_equal(mote_learn_save(&h, with_std ? &s : NULL, blob, sizeof blob, &n), MOTE_OK);
    put(name, blob, n);
    uint8_t sig[64];
    assert_int_equal(mote_fed_global_sign(sk, 5, 7, blob, n, sig), MOTE_OK);
    char sname[128];
    snprintf(sname, sizeof sname, "%.*s.sig", (int)(strlen(name) - 5), name);
    put(sname, sig, sizeof sig);
}

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    strcpy(dir, "/tmp/mote-headpkg-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    uint8_t seed[32] = {3};
    crypto_sign_seed_keypair(pk, sk, seed);
    char hex[66];
    sodium_bin2hex(hex, 65, pk, sizeof pk);
    strcat(hex, "\n");
    put("fleet.pk", hex, 65);
    size_t n = 0;
    void *t = tu_read(tu_shared("models/tflm-examples/hello_world_int8.tflite"), &n);
    if (!t)
        return -1;
    assert_int_equal(mkdir(at("pkg"), 0755), 0);
    put("pkg/hw.tflite", t, n);
    free(t);
    put("pkg/hw.dspcfg", "DSPCFG", 6);
    const char *card = "{\"name\":\"hw\",\"output\":{\"classes\":[\"normal\",\"ball\",\"inner_race\"]}}";
    put("pkg/hw.json", card, strlen(card));
    head_file("good.motl", 16, 1);
    head_file("narrow.motl", 8, 1);
    head_file("nostd.motl", 16, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static mote_status_t pack(const char *head, uint64_t version, const char *pkfile, const char *name, char *msg)
{
    char h[256], p[256], k[256], o[256];
    snprintf(h, sizeof h, "%s", at(head));
    snprintf(p, sizeof p, "%s", at("pkg"));
    snprintf(k, sizeof k, "%s", at("fleet.pk"));
    snprintf(o, sizeof o, "%s", at("out"));
    mote_head_pkg_opts_t opt = {.pkg_dir = p, .name = name, .head = h, .pk = pkfile ? k : NULL,
                                .round = 5, .version = version, .out_dir = o};
    mote_head_pkg_result_t r;
    msg[0] = 0;
    return mote_head_pkg_write(&opt, &r, msg, MOTE_HEAD_PKG_MSG_LEN);
}

static void packages_a_signed_head(void **state)
{
    (void)state;
    char msg[MOTE_HEAD_PKG_MSG_LEN];
    assert_int_equal(pack("good.motl", 7, "pk", NULL, msg), MOTE_OK);
    size_t n = 0, m = 0;
    void *a = tu_read(at("out/hw.tflite"), &n), *b = tu_read(at("pkg/hw.tflite"), &m);
    assert_true(a && b && n == m && memcmp(a, b, n) == 0);
    free(a), free(b);
    uint8_t *blob = tu_read(at("good.motl"), &n);
    uint8_t *copy = tu_read(at("out/hw.head.motl"), &m);
    assert_true(blob && copy && n == m && memcmp(blob, copy, n) == 0);
    uint8_t hash[32];
    char hex[65];
    crypto_generichash(hash, sizeof hash, blob, n, NULL, 0);
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    json_t *card = json_load_file(at("out/hw.json"), 0, NULL);
    json_t *h = json_object_get(card, "head");
    assert_non_null(h);
    assert_string_equal(json_string_value(json_object_get(h, "blake2b")), hex);
    assert_string_equal(json_string_value(json_object_get(h, "signature")), "verified");
    assert_string_equal(json_string_value(json_object_get(h, "file")), "hw.head.motl");
    assert_int_equal(json_integer_value(json_object_get(h, "round")), 5);
    assert_int_equal(json_integer_value(json_object_get(h, "version")), 7);
    assert_int_equal(json_integer_value(json_object_get(h, "features")), 16);
    assert_int_equal(json_array_size(json_object_get(h, "classes")), 3);
    char *state_hex = malloc(2 * n + 1);
    sodium_bin2hex(state_hex, 2 * n + 1, blob, n);
    assert_string_equal(json_string_value(json_object_get(h, "state")), state_hex);
    free(state_hex), free(blob), free(copy);
    json_decref(card);
}

static void expect(mote_status_t got, mote_status_t want, const char *msg, const char *needle)
{
    assert_int_equal(got, want);
    if (!strstr(msg, needle))
        fail_msg("message '%s' lacks '%s'", msg, needle);
}

static void refusals(void **state)
{
    (void)state;
    char msg[MOTE_HEAD_PKG_MSG_LEN];
    expect(pack("narrow.motl", 7, "pk", NULL, msg), MOTE_ERR_SHAPE, msg,
           "the head takes 8 features, the backbone's tap (tensor");
    expect(pack("good.motl", 8, "pk", NULL, msg), MOTE_ERR_VERIFY, msg, "signature does not match");
    expect(pack("good.motl", 7, NULL, NULL, msg), MOTE_ERR_ARG, msg, "give --pk");
    expect(pack("nostd.motl", 7, "pk", NULL, msg), MOTE_ERR_ARG, msg, "no standardizer");
    const char *one = "{\"name\":\"hw\",\"output\":{\"classes\":[\"a\"]}}";
    put("pkg/hw.json", one, strlen(one));
    expect(pack("good.motl", 7, "pk", NULL, msg), MOTE_ERR_SHAPE, msg, "'output.classes'");
    put("pkg/hw2.tflite", "x", 1);
    expect(pack("good.motl", 7, "pk", NULL, msg), MOTE_ERR_ARG, msg, "more than one .tflite");
    put("bad.motl", "MOTLxxxxxxxx", 12);
    expect(pack("bad.motl", 7, NULL, "hw", msg), MOTE_ERR_TRUNCATED, msg, "not a head state blob");
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(packages_a_signed_head),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(t, setup, teardown);
}
