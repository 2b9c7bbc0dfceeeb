/* The web console's server side (src/fleet/console*.c), through
 * mote_http_dispatch without sockets: static files (content types, ETag
 * and 304, traversal, hidden files, symlinks and unknown types refused),
 * the path whitelist, training-log progress, and the pipeline API with a
 * stand-in `mote` (a shell script): save with validation by the real
 * config parser, datasets limited to the offered ones, a training that
 * finishes with its metrics, one that is cancelled, the audit hook; the
 * compatibility answer from a knowledge graph (tests/graph/data). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, symlink */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "console.h"
#include "graph.h"

static char dir[64];

static void write_file(const char *rel, const char *text, int mode)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(p, (mode_t)mode);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/mote-console-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    char p[200];
    const char *dirs[] = {"web", "web/js", "work", "data", "data/set"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
        if (mkdir(p, 0755) != 0)
            return -1;
    }
    write_file("web/index.html", "<!doctype html><title>t</title>", 0644);
    write_file("web/js/app.js", "export const x = 1;\n", 0644);
    write_file("web/.secret.js", "hidden", 0644);
    write_file("web/notes.md", "not served", 0644);
    write_file("outside.html", "outside", 0644);
    char target[200];
    snprintf(target, sizeof target, "%s/outside.html", dir);
    snprintf(p, sizeof p, "%s/web/link.html", dir);
    if (symlink(target, p) != 0)
        return -1;
    write_file("data/set/dataset.json", "{\"name\": \"t\", \"classes\": [\"a\", \"b\"], \"recordings\": []}", 0644);
    /* A stand-in for `mote train CFG --out DIR ...`: progress on stderr
     * like the real one, metrics.json in DIR; "slow" pipelines sleep. */
    write_file("fake-mote",
               "#!/bin/sh\n"
               "out=$4\n"
               "case $2 in *slow*) exec sleep 30;; esac\n"
               "mkdir -p \"$out\"\n"
               "printf 'epoch 1/3 [###] loss 1\\repoch 2/3 [###] loss 0.5\\repoch 3/3 [###] loss 0.2\\n' >&2\n"
               "echo '{\"summary\": {\"int8\": 0.5}}' > \"$out/metrics.json\"\n"
               "echo '<svg xmlns=\"http://www.w3.org/2000/svg\"/>' > \"$out/confusion_int8.svg\"\n",
               0755);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* One request as the engineer "erin" (roles are checked by http.c). */
static mote_http_resp_t call(mote_http_t *srv, const char *method, const char *path, const char *query,
                             const char *body, const char *inm)
{
    mote_http_req_t req = {0};
    req.method = method;
    req.path = path;
    req.query = query ? query : "";
    req.content_type = "application/json";
    req.accept = "";
    req.body = (const uint8_t *)body;
    req.body_len = body ? strlen(body) : 0;
    req.if_none_match = inm;
    mote_http_resp_t resp = {0};
    mote_http_dispatch(srv, &req, "Bearer test-token-0123456789", &resp);
    return resp;
}

typedef struct audit_log {
    char kinds[512];
} audit_log_t;

static void on_audit(void *ctx, const char *kind, const char *user, const char *detail)
{
    (void)detail;
    audit_log_t *l = ctx;
    size_t n = strlen(l->kinds);
    snprintf(l->kinds + n, sizeof l->kinds - n, "%s:%s ", kind, user);
}

static mote_console_t *open_console_graph(mote_http_t **srv, audit_log_t *log, mote_graph_t *g)
{
    char web[128], work[128], exe[128], data[128], err[256];
    snprintf(web, sizeof web, "%s/web", dir);
    snprintf(work, sizeof work, "%s/work", dir);
    snprintf(exe, sizeof exe, "%s/fake-mote", dir);
    snprintf(data, sizeof data, "%s/data", dir);
    mote_console_opts_t o = {.web_dir = web, .work_dir = work, .mote_exe = exe, .datasets_dir = data, .graph = g};
    mote_console_t *c = NULL;
    assert_int_equal(mote_console_create(&c, &o, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_http_create(srv), MOTE_OK);
    assert_int_equal(mote_http_add_token(*srv, "test-token-0123456789", "erin", "engineer"), MOTE_OK);
    assert_int_equal(mote_console_api_routes(c, *srv), MOTE_OK);
    assert_int_equal(mote_console_static_route(c, *srv), MOTE_OK);
    if (log)
        mote_console_set_audit(c, on_audit, log);
    return c;
}

static mote_console_t *open_console(mote_http_t **srv, audit_log_t *log)
{
    return open_console_graph(srv, log, NULL);
}

static void test_paths(void **state)
{
    (void)state;
    assert_true(mote_console_path_ok("/index.html"));
    assert_true(mote_console_path_ok("/js/app.js"));
    const char *bad[] = {"", "index.html", "/", "/../x.js", "/js/../../x.js", "/.git/config", "/js//a.js",
                         "/a\\b.js", "/a b.js", "/a/./b.js", "/a/b/c/d/e/f/g/h/i.js"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(mote_console_path_ok(bad[i]));
    assert_string_equal(mote_console_mime("/a/b.js"), "text/javascript; charset=utf-8");
    assert_string_equal(mote_console_mime("/x.svg"), "image/svg+xml");
    assert_null(mote_console_mime("/x.md"));
    assert_null(mote_console_mime("/x.js/y"));
    assert_null(mote_console_mime("/noext"));
}

static void test_progress(void **state)
{
    (void)state;
    const char *log = "reading\nepoch 1/60 [#...] loss 1\repoch 12/60 [##..] loss 0.3\repoch 1";
    int e, n;
    mote_console_parse_progress(log, strlen(log), &e, &n);
    assert_int_equal(e, 12);
    assert_int_equal(n, 60);
    mote_console_parse_progress("no progress", 11, &e, &n);
    assert_int_equal(e + n, 0);
    mote_console_parse_progress("epoch 9/3", 9, &e, &n); /* impossible: ignored */
    assert_int_equal(e + n, 0);
}

static void test_static(void **state)
{
    (void)state;
    mote_http_t *srv;
    mote_console_t *c = open_console(&srv, NULL);
    mote_http_resp_t r = call(srv, "GET", "/", NULL, NULL, "");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_memory_equal(r.body, "<!doctype html>", 15);
    assert_non_null(strstr(r.headers, "X-Content-Type-Options: nosniff"));
    assert_non_null(strstr(r.headers, "Cache-Control: no-cache"));
    char etag[96];
    const char *e = strstr(r.headers, "ETag: ");
    assert_non_null(e);
    snprintf(etag, sizeof etag, "%.*s", (int)strcspn(e + 6, "\r"), e + 6);
    free(r.body);
    r = call(srv, "GET", "/index.html", NULL, NULL, etag);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.body_len, 0);
    free(r.body);
    r = call(srv, "GET", "/js/app.js", NULL, NULL, "\"stale\"");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/javascript; charset=utf-8");
    free(r.body);
    const char *refused[] = {"/.secret.js", "/notes.md", "/link.html", "/../outside.html", "/js/../../outside.html",
                             "/missing.js", "/js", "/api/unknown"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        r = call(srv, "GET", refused[i], NULL, NULL, "");
        assert_int_equal(r.status, 404);
        assert_null(strstr(r.body ? r.body : "", "outside"));
        free(r.body);
    }
    mote_http_destroy(srv);
    mote_console_destroy(c);
}

/* Poll GET /api/jobs/ID until it leaves "running" (10 s at most). */
static char *wait_job(mote_http_t *srv, int id)
{
    char path[64];
    snprintf(path, sizeof path, "/api/jobs/%d", id);
    for (int i = 0; i < 200; i++) {
        mote_http_resp_t r = call(srv, "GET", path, NULL, NULL, "");
        assert_int_equal(r.status, 200);
        if (!strstr(r.body, "\"state\":\"running\""))
            return r.body;
        free(r.body);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("job %d still running", id);
    return NULL;
}

static const char *PIPE = "{\"config\": {\"dataset\": \"set/dataset.json\", \"dsp\": {\"features\": [\"linbands\"]},"
                          " \"model\": {\"type\": \"mlp\", \"layers\": [8]}, \"package\": {\"name\": \"%s\"}},"
                          " \"device\": {\"rule\": {\"on\": \"both\"}}}";

static void test_pipelines_and_jobs(void **state)
{
    (void)state;
    mote_http_t *srv;
    audit_log_t log = {""};
    mote_console_t *c = open_console(&srv, &log);
    char body[512];
    mote_http_resp_t r = call(srv, "GET", "/api/datasets", NULL, NULL, "");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"id\":\"set/dataset.json\""));
    free(r.body);

    snprintf(body, sizeof body, PIPE, "p1");
    r = call(srv, "POST", "/api/pipelines", "dry_run=1", body, "");
    assert_int_equal(r.status, 200);
    free(r.body);
    char saved[200];
    snprintf(saved, sizeof saved, "%s/work/pipelines/p1.json", dir);
    assert_int_not_equal(access(saved, F_OK), 0); /* a dry run writes nothing */
    r = call(srv, "POST", "/api/pipelines", NULL, body, "");
    assert_int_equal(r.status, 201);
    free(r.body);
    assert_int_equal(access(saved, F_OK), 0);

    /* The real parser refuses what `mote train` would refuse. */
    r = call(srv, "POST", "/api/pipelines", NULL, "{\"config\": {\"dataset\": \"set/dataset.json\", \"model\": {\"type\": \"rnn\"},"
             " \"package\": {\"name\": \"p2\"}}}", "");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "model"));
    free(r.body);
    r = call(srv, "POST", "/api/pipelines", NULL, "{\"config\": {\"dataset\": \"/etc/passwd\", \"model\": {\"type\": \"mlp\"},"
             " \"package\": {\"name\": \"p3\"}}}", "");
    assert_int_equal(r.status, 400);
    free(r.body);
    r = call(srv, "POST", "/api/pipelines", NULL, "{\"config\": {\"dataset\": \"set/dataset.json\", \"model\": {\"type\": \"mlp\"},"
             " \"package\": {\"name\": \"../x\"}}}", "");
    assert_int_equal(r.status, 400);
    free(r.body);

    r = call(srv, "POST", "/api/pipelines/p1/train", NULL, "{}", "");
    assert_int_equal(r.status, 202);
    free(r.body);
    char *job = wait_job(srv, 1);
    assert_non_null(strstr(job, "\"state\":\"done\""));
    assert_non_null(strstr(job, "\"epoch\":3"));
    assert_non_null(strstr(job, "\"epochs\":3"));
    assert_non_null(strstr(job, "\"int8\":0.5"));
    free(job);
    r = call(srv, "GET", "/api/jobs/1/files/confusion_int8.svg", NULL, NULL, "");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "image/svg+xml");
    free(r.body);
    r = call(srv, "GET", "/api/jobs/1/files/..%2Fp1.log", NULL, NULL, "");
    assert_int_equal(r.status, 404);
    free(r.body);
    r = call(srv, "POST", "/api/pipelines/nope/train", NULL, "{}", "");
    assert_int_equal(r.status, 404);
    free(r.body);

    snprintf(body, sizeof body, PIPE, "slow");
    r = call(srv, "POST", "/api/pipelines", NULL, body, "");
    assert_int_equal(r.status, 201);
    free(r.body);
    r = call(srv, "POST", "/api/pipelines/slow/train", NULL, "{}", "");
    assert_int_equal(r.status, 202);
    free(r.body);
    r = call(srv, "POST", "/api/pipelines/p1/train", NULL, "{}", "");
    assert_int_equal(r.status, 409); /* one training at a time by default */
    free(r.body);
    r = call(srv, "POST", "/api/jobs/2/cancel", NULL, "{}", "");
    assert_int_equal(r.status, 202);
    free(r.body);
    job = wait_job(srv, 2);
    assert_non_null(strstr(job, "\"state\":\"cancelled\""));
    free(job);
    r = call(srv, "GET", "/api/jobs", NULL, NULL, "");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"pipeline\":\"slow\""));
    free(r.body);
    mote_http_destroy(srv);
    mote_console_destroy(c);
    assert_non_null(strstr(log.kinds, "pipeline_saved:erin"));
    assert_non_null(strstr(log.kinds, "training_started:erin"));
    assert_non_null(strstr(log.kinds, "training_done:erin"));
    assert_non_null(strstr(log.kinds, "training_cancel:erin"));
    assert_non_null(strstr(log.kinds, "training_cancelled:erin"));
}

/* tests/graph/data/NAME, found from this file's path. */
static void graph_load(mote_graph_t *g, const char *name)
{
    char path[512], err[MOTE_GRAPH_ERR_LEN];
    const char *f = __FILE__, *slash = strrchr(f, '/');
    snprintf(path, sizeof path, "%.*s/../graph/data/%s", (int)(slash - f), f, name);
    assert_int_equal(mote_graph_load_file(g, path, err, sizeof err), MOTE_OK);
}

static void test_compat(void **state)
{
    (void)state;
    mote_http_t *srv;
    mote_console_t *c = open_console(&srv, NULL);
    mote_http_resp_t r = call(srv, "GET", "/api/compat", "model=cwru4@1.0.0", NULL, "");
    assert_int_equal(r.status, 503); /* no graph */
    free(r.body);
    mote_http_destroy(srv);
    mote_console_destroy(c);

    mote_graph_t *g;
    char err[MOTE_GRAPH_ERR_LEN];
    assert_int_equal(mote_graph_open(&g, NULL, err, sizeof err), MOTE_OK);
    graph_load(g, "td_dev1.json");
    graph_load(g, "card_cwru4_v1.json");
    graph_load(g, "card_cwru4_v2.json");
    c = open_console_graph(&srv, NULL, g);
    r = call(srv, "GET", "/api/compat", "model=cwru4%401.0.0", NULL, "");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "{\"id\":\"dev-0001\",\"compatible\":true,\"reasons\":[]}"));
    free(r.body);
    r = call(srv, "GET", "/api/compat", "model=cwru4%401.1.0", NULL, "");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"compatible\":false"));
    assert_non_null(strstr(r.body, "needs 41000 B arena, device has 32768 B"));
    free(r.body);
    r = call(srv, "GET", "/api/compat", "model=cwru4%409.9.9", NULL, "");
    assert_int_equal(r.status, 404);
    free(r.body);
    r = call(srv, "GET", "/api/compat", "", NULL, "");
    assert_int_equal(r.status, 400);
    free(r.body);
    mote_http_destroy(srv);
    mote_console_destroy(c);
    mote_graph_close(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_static),
        cmocka_unit_test(test_pipelines_and_jobs),
        cmocka_unit_test(test_compat),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
