/* The console's pipeline API (console.h): dataset specs, saved pipelines
 * and `mote train` child processes. */
#define _XOPEN_SOURCE 700
#include "console_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "train_pipeline.h"

extern char **environ;

enum { LOG_TAIL = 4096, MAX_BODY_JSON = 256 * 1024 };

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void reply_json(mote_http_resp_t *resp, int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s)
        mote_http_json(resp, status, s);
    else
        mote_http_error(resp, 500, "out of memory");
    free(s);
    json_decref(o);
}

/* 1 for a pipeline name: 1-48 of [a-z0-9_-], like a device id. */
static int pipeline_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 48)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* ---- file helpers ---- */

static char *slurp(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* The last `max` bytes of a file. */
static char *tail(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        fseek(f, sz > (long)max ? sz - (long)max : 0, SEEK_SET);
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static int write_json_file(const char *path, json_t *o)
{
    char tmp[1500];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (json_dump_file(o, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        return -1;
    return rename(tmp, path);
}

/* ---- datasets ---- */

static json_t *dataset_entry(const char *dir, const char *sub, const char *file)
{
    char path[2400];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, file);
    json_t *d = json_load_file(path, 0, NULL);
    if (!json_is_object(d) || !json_is_array(json_object_get(d, "recordings"))) {
        json_decref(d);
        return NULL;
    }
    char id[600];
    snprintf(id, sizeof id, "%s/%s", sub, file);
    json_t *e = json_pack("{s:s, s:O*, s:O*, s:O*, s:O*, s:O*, s:I}", "id", id, "name", json_object_get(d, "name"),
                          "description", json_object_get(d, "description"), "classes", json_object_get(d, "classes"),
                          "sample_rate", json_object_get(d, "sample_rate"), "window", json_object_get(d, "window"),
                          "recordings", (json_int_t)json_array_size(json_object_get(d, "recordings")));
    json_decref(d);
    return e;
}

static void scan_sub(const char *dir, const char *sub, json_t *list)
{
    char p[2200];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    DIR *d = opendir(p);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "dataset", 7) != 0 || n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        json_t *entry = dataset_entry(dir, sub, e->d_name);
        if (entry)
            json_array_append_new(list, entry);
    }
    if (d)
        closedir(d);
}

static json_t *list_datasets(const mote_console_t *c)
{
    json_t *list = json_array();
    DIR *d = c->datasets_dir[0] ? opendir(c->datasets_dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            scan_sub(c->datasets_dir, e->d_name, list);
    if (d)
        closedir(d);
    return list;
}

static void on_datasets(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    (void)req;
    reply_json(resp, 200, json_pack("{s:o}", "datasets", list_datasets(user)));
}

/* The absolute path of dataset `id` if it is one list_datasets offers:
 * the builder can only pick, never name an arbitrary server file. */
static int dataset_path(const mote_console_t *c, const char *id, char *out, size_t cap)
{
    json_t *list = list_datasets(c);
    size_t i;
    json_t *e;
    int found = 0;
    json_array_foreach(list, i, e) found |= strcmp(json_string_value(json_object_get(e, "id")), id) == 0;
    json_decref(list);
    char joined[2400];
    snprintf(joined, sizeof joined, "%s/%s", c->datasets_dir, id);
    char *real = found ? realpath(joined, NULL) : NULL;
    int ok = real && strlen(real) < cap;
    if (ok)
        snprintf(out, cap, "%s", real);
    free(real);
    return ok;
}

/* ---- pipelines ---- */

static void pipeline_path(const mote_console_t *c, const char *name, const char *suffix, char *out, size_t cap)
{
    snprintf(out, cap, "%s/pipelines/%s%s", c->work_dir, name, suffix);
}

/* Validate a builder submission and turn it into the CLI config. Returns
 * the config (new reference) or NULL with an error in err. */
static json_t *pipeline_config(const mote_console_t *c, json_t *body, char *name, char *err, size_t errsz)
{
    json_t *cfg = json_object_get(body, "config");
    const char *nm = json_string_value(json_object_get(json_object_get(cfg, "package"), "name"));
    const char *ds = json_string_value(json_object_get(cfg, "dataset"));
    char dpath[1024], file[1400];
    if (!json_is_object(cfg)) {
        snprintf(err, errsz, "config: missing (the JSON `mote train` reads)");
        return NULL;
    }
    if (!pipeline_name_ok(nm)) {
        snprintf(err, errsz, "config.package.name: missing or not 1-48 of [a-z0-9_-]");
        return NULL;
    }
    if (!ds || !dataset_path(c, ds, dpath, sizeof dpath)) {
        snprintf(err, errsz, "config.dataset: '%s' is not one of GET /api/datasets", ds ? ds : "");
        return NULL;
    }
    json_t *out = json_deep_copy(cfg);
    json_object_set_new(out, "dataset", json_string(dpath));
    char *text = json_dumps(out, JSON_COMPACT);
    pipeline_path(c, nm, ".json", file, sizeof file);
    mote_train_config_t *tc = NULL;
    char msg[512];
    mote_status_t st = text ? mote_train_config_parse(file, text, strlen(text), &tc, msg, sizeof msg) : MOTE_ERR_NOMEM;
    free(text);
    mote_train_config_free(tc);
    if (st != MOTE_OK) {
        snprintf(err, errsz, "%s", text ? msg : "out of memory");
        json_decref(out);
        return NULL;
    }
    snprintf(name, 64, "%s", nm);
    return out;
}

static void pipeline_save(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_console_t *c = user;
    json_error_t je;
    json_t *body = req->body_len <= MAX_BODY_JSON ? json_loadb((const char *)req->body, req->body_len, 0, &je) : NULL;
    if (!json_is_object(body)) {
        json_decref(body);
        mote_http_error(resp, 400, "body: want {\"config\": {...}, \"device\": {...}}");
        return;
    }
    char name[64], err[600], dry[8];
    json_t *cfg = pipeline_config(c, body, name, err, sizeof err);
    int dry_run = mote_http_query_get(req->query, "dry_run", dry, sizeof dry) == 1 && strcmp(dry, "1") == 0;
    if (!cfg) {
        json_decref(body);
        mote_http_error(resp, 400, err);
        return;
    }
    char file[1400], dev[1400];
    pipeline_path(c, name, ".json", file, sizeof file);
    pipeline_path(c, name, ".device.json", dev, sizeof dev);
    json_t *device = json_object_get(body, "device");
    int fail = !dry_run && (write_json_file(file, cfg) != 0 ||
                            (json_is_object(device) && write_json_file(dev, device) != 0));
    if (fail) {
        json_decref(cfg);
        json_decref(body);
        mote_http_error(resp, 500, "cannot write the pipeline file");
        return;
    }
    if (!dry_run)
        console_audit(c, "pipeline_saved", req->user, "pipeline %s", name);
    reply_json(resp, dry_run ? 200 : 201,
               json_pack("{s:s, s:b, s:o, s:O*}", "name", name, "saved", !dry_run, "config", cfg, "device",
                         json_is_object(device) ? device : NULL));
    json_decref(body);
}

static void pipeline_list(const mote_console_t *c, mote_http_resp_t *resp)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/pipelines", c->work_dir);
    json_t *list = json_array();
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0 && !strstr(e->d_name, ".device.json") &&
            e->d_name[0] != '.') {
            char nm[64];
            snprintf(nm, sizeof nm, "%.*s", (int)(n - 5), e->d_name);
            if (pipeline_name_ok(nm))
                json_array_append_new(list, json_string(nm));
        }
    }
    if (d)
        closedir(d);
    reply_json(resp, 200, json_pack("{s:o}", "pipelines", list));
}

static void pipeline_get(const mote_console_t *c, const char *name, mote_http_resp_t *resp)
{
    char file[1400], dev[1400];
    pipeline_path(c, name, ".json", file, sizeof file);
    pipeline_path(c, name, ".device.json", dev, sizeof dev);
    json_t *cfg = json_load_file(file, 0, NULL);
    if (!cfg) {
        mote_http_error(resp, 404, "no such pipeline");
        return;
    }
    reply_json(resp, 200,
               json_pack("{s:s, s:o, s:o*}", "name", name, "config", cfg, "device", json_load_file(dev, 0, NULL)));
}

/* ---- jobs ---- */

static console_job_t *job_find(mote_console_t *c, int id)
{
    for (int i = 0; i < MOTE_CONSOLE_MAX_JOBS; i++)
        if (c->jobs[i].id == id && id > 0)
            return &c->jobs[i];
    return NULL;
}

/* A free slot, else the oldest finished job's. Caller holds mu. */
static console_job_t *job_slot(mote_console_t *c)
{
    console_job_t *old = NULL;
    for (int i = 0; i < MOTE_CONSOLE_MAX_JOBS; i++) {
        console_job_t *j = &c->jobs[i];
        if (j->id == 0)
            return j;
        if (j->state != JOB_RUNNING && (!old || j->id < old->id))
            old = j;
    }
    return old;
}

static int job_spawn(mote_console_t *c, console_job_t *j, const char *cfg)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, j->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {"mote", "train", (char *)cfg, "--out", j->out_dir, "--threads", "1", NULL};
    int rc = posix_spawn(&j->pid, c->mote_exe, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

static void pipeline_train(mote_console_t *c, const char *name, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    char cfg[1400];
    pipeline_path(c, name, ".json", cfg, sizeof cfg);
    if (!c->mote_exe[0]) {
        mote_http_error(resp, 503, "training is not configured on this moted (no mote binary)");
        return;
    }
    if (access(cfg, R_OK) != 0) {
        mote_http_error(resp, 404, "no such pipeline: save it first");
        return;
    }
    pthread_mutex_lock(&c->mu);
    console_job_t *j = c->running < c->max_running ? job_slot(c) : NULL;
    int id = 0, rc = -1;
    if (j) {
        memset(j, 0, sizeof *j);
        id = j->id = c->next_id++;
        snprintf(j->pipeline, sizeof j->pipeline, "%s", name);
        j->started_ms = now_ms();
        /* The start time keeps job ids, which restart with moted, from
         * reusing an earlier run's folder. */
        snprintf(j->out_dir, sizeof j->out_dir, "%s/runs/%s-%lld-%d", c->work_dir, name,
                 (long long)(j->started_ms / 1000), id);
        snprintf(j->log_path, sizeof j->log_path, "%s.log", j->out_dir);
        snprintf(j->user, sizeof j->user, "%s", req->user ? req->user : "");
        rc = job_spawn(c, j, cfg);
        if (rc == 0) {
            j->state = JOB_RUNNING;
            c->running++;
        } else {
            j->id = 0;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (!j) {
        mote_http_error(resp, 409, "a training is already running: wait for it or cancel it");
        return;
    }
    if (rc != 0) {
        mote_http_error(resp, 500, "cannot start mote train");
        return;
    }
    console_audit(c, "training_started", req->user, "pipeline %s, job %d", name, id);
    reply_json(resp, 202, json_pack("{s:i, s:s}", "job", id, "pipeline", name));
}

static void on_pipelines_get(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    const char *rest = req->path + strlen("/api/pipelines");
    if (*rest == '\0' || strcmp(rest, "/") == 0)
        pipeline_list(user, resp);
    else if (pipeline_name_ok(rest + 1))
        pipeline_get(user, rest + 1, resp);
    else
        mote_http_error(resp, 404, "no such pipeline");
}

static void on_pipelines_post(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    const char *rest = req->path + strlen("/api/pipelines");
    char name[64];
    const char *slash = *rest == '/' ? strchr(rest + 1, '/') : NULL;
    if (*rest == '\0') {
        pipeline_save(user, req, resp);
        return;
    }
    if (slash && strcmp(slash, "/train") == 0 && (size_t)(slash - rest - 1) < sizeof name) {
        snprintf(name, sizeof name, "%.*s", (int)(slash - rest - 1), rest + 1);
        if (pipeline_name_ok(name)) {
            pipeline_train(user, name, req, resp);
            return;
        }
    }
    mote_http_error(resp, 404, "POST /api/pipelines or /api/pipelines/NAME/train");
}

void mote_console_parse_progress(const char *log, size_t len, int *epoch, int *epochs)
{
    *epoch = *epochs = 0;
    for (size_t i = 0; i + 6 < len; i++) {
        int a, b;
        if (memcmp(log + i, "epoch ", 6) != 0)
            continue;
        /* sscanf needs a terminated string: copy a short window. */
        char w[32];
        size_t n = len - i < sizeof w - 1 ? len - i : sizeof w - 1;
        memcpy(w, log + i, n);
        w[n] = '\0';
        if (sscanf(w, "epoch %d/%d", &a, &b) == 2 && a >= 0 && b > 0 && a <= b) {
            *epoch = a;
            *epochs = b;
        }
    }
}

static const char *state_name(job_state_t s)
{
    static const char *const names[] = {"running", "done", "failed", "cancelled"};
    return names[s];
}

static json_t *job_json(const console_job_t *j, int detail)
{
    json_t *o = json_pack("{s:i, s:s, s:s, s:i, s:I, s:I, s:s}", "id", j->id, "pipeline", j->pipeline, "state",
                          state_name(j->state), "exit", j->exit_code, "started_ms", (json_int_t)j->started_ms,
                          "ended_ms", (json_int_t)j->ended_ms, "user", j->user);
    char *log = tail(j->log_path, LOG_TAIL);
    int e = 0, n = 0;
    if (log)
        mote_console_parse_progress(log, strlen(log), &e, &n);
    json_object_set_new(o, "epoch", json_integer(e));
    json_object_set_new(o, "epochs", json_integer(n));
    /* The package folder, for POST /api/models {"dir": ...} once done. */
    json_object_set_new(o, "out", json_string(j->out_dir));
    if (detail && log)
        json_object_set_new(o, "log", json_string_nocheck(log));
    free(log);
    if (detail && j->state == JOB_DONE) {
        char p[1400];
        snprintf(p, sizeof p, "%s/metrics.json", j->out_dir);
        json_t *m = json_load_file(p, 0, NULL);
        if (m)
            json_object_set_new(o, "metrics", m);
    }
    return o;
}

static void job_files(mote_console_t *c, console_job_t *copy, const char *file, mote_http_resp_t *resp)
{
    (void)c;
    char rel[300];
    snprintf(rel, sizeof rel, "/%s", file);
    const char *type = mote_console_mime(rel);
    int allowed = type && (strstr(type, "svg") || strstr(type, "json") || strstr(type, "png"));
    if (!mote_console_path_ok(rel) || strchr(file, '/') || !allowed) {
        mote_http_error(resp, 404, "no such output file");
        return;
    }
    char p[1400];
    snprintf(p, sizeof p, "%s/%s", copy->out_dir, file);
    size_t len = 0;
    char *buf = slurp(p, MOTE_CONSOLE_MAX_FILE, &len);
    if (!buf) {
        mote_http_error(resp, 404, "no such output file");
        return;
    }
    resp->status = 200;
    resp->body = buf;
    resp->body_len = len;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", type);
    console_headers(resp, "X-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'none'; "
                          "style-src 'unsafe-inline'\r\n");
}

static void on_jobs_get(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_console_t *c = user;
    const char *rest = req->path + strlen("/api/jobs");
    if (*rest == '\0') {
        json_t *list = json_array();
        pthread_mutex_lock(&c->mu);
        for (int i = 0; i < MOTE_CONSOLE_MAX_JOBS; i++)
            if (c->jobs[i].id)
                json_array_append_new(list, job_json(&c->jobs[i], 0));
        pthread_mutex_unlock(&c->mu);
        reply_json(resp, 200, json_pack("{s:o}", "jobs", list));
        return;
    }
    char *end = NULL;
    long id = strtol(rest + 1, &end, 10);
    pthread_mutex_lock(&c->mu);
    console_job_t *j = id > 0 && id < 1000000000 ? job_find(c, (int)id) : NULL;
    console_job_t copy;
    if (j)
        copy = *j;
    pthread_mutex_unlock(&c->mu);
    if (!j || !end || (*end && strncmp(end, "/files/", 7) != 0))
        mote_http_error(resp, 404, "no such job");
    else if (*end)
        job_files(c, &copy, end + 7, resp);
    else
        reply_json(resp, 200, job_json(&copy, 1));
}

static void on_jobs_post(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_console_t *c = user;
    char *end = NULL;
    long id = strtol(req->path + strlen("/api/jobs/"), &end, 10);
    if (strncmp(req->path, "/api/jobs/", 10) != 0 || !end || strcmp(end, "/cancel") != 0) {
        mote_http_error(resp, 404, "POST /api/jobs/ID/cancel");
        return;
    }
    pthread_mutex_lock(&c->mu);
    console_job_t *j = id > 0 && id < 1000000000 ? job_find(c, (int)id) : NULL;
    int running = j && j->state == JOB_RUNNING;
    if (running)
        kill(j->pid, SIGTERM);
    pthread_mutex_unlock(&c->mu);
    if (!j)
        mote_http_error(resp, 404, "no such job");
    else if (!running)
        mote_http_error(resp, 409, "the job is not running");
    else {
        console_audit(c, "training_cancel", req->user, "job %ld", id);
        mote_http_json(resp, 202, "{\"cancelling\":true}");
    }
}

/* ---- reaper ---- */

/* 1 when job j ended (its state is set). Caller holds mu. */
static int reap_one(mote_console_t *c, console_job_t *j)
{
    int status = 0;
    pid_t r = waitpid(j->pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return 0;
    if (r < 0) { /* reaped elsewhere (SIGCHLD ignored?): the result is lost */
        j->ended_ms = now_ms();
        j->exit_code = -1;
        j->state = JOB_FAILED;
        c->running--;
        return 1;
    }
    j->ended_ms = now_ms();
    j->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)
        j->state = JOB_CANCELLED;
    else
        j->state = j->exit_code == 0 ? JOB_DONE : JOB_FAILED;
    c->running--;
    return 1;
}

/* Audit what ended, outside the lock (the hook may take its time). */
static void report_ended(mote_console_t *c, const console_job_t *ended, int n)
{
    static const char *const kinds[] = {"training_running", "training_done", "training_failed", "training_cancelled"};
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < n; i++)
        console_audit(c, kinds[ended[i].state], ended[i].user, "pipeline %s, job %d, exit %d", ended[i].pipeline,
                      ended[i].id, ended[i].exit_code);
    pthread_mutex_lock(&c->mu);
}

static void *reaper(void *arg)
{
    mote_console_t *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping || c->running > 0) {
        console_job_t ended[4];
        int n = 0;
        for (int i = 0; i < MOTE_CONSOLE_MAX_JOBS && n < 4; i++)
            if (c->jobs[i].id && c->jobs[i].state == JOB_RUNNING && reap_one(c, &c->jobs[i]))
                ended[n++] = c->jobs[i];
        if (n) {
            report_ended(c, ended, n);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int console_jobs_start(mote_console_t *c)
{
    if (pthread_create(&c->reaper, NULL, reaper, c) != 0)
        return -1;
    c->reaper_started = 1;
    return 0;
}

void console_jobs_stop(mote_console_t *c)
{
    if (!c->reaper_started)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    for (int i = 0; i < MOTE_CONSOLE_MAX_JOBS; i++)
        if (c->jobs[i].id && c->jobs[i].state == JOB_RUNNING)
            kill(c->jobs[i].pid, SIGTERM);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->reaper, NULL);
    c->reaper_started = 0;
}

mote_status_t mote_console_api_routes(mote_console_t *c, mote_http_t *srv)
{
    mote_status_t st = mote_http_route(srv, "GET", "/api/datasets", "viewer", on_datasets, c);
    if (st == MOTE_OK)
        st = mote_http_route(srv, "GET", "/api/pipelines", "viewer", on_pipelines_get, c);
    if (st == MOTE_OK)
        st = mote_http_route(srv, "POST", "/api/pipelines", "engineer", on_pipelines_post, c);
    if (st == MOTE_OK)
        st = mote_http_route(srv, "GET", "/api/jobs", "viewer", on_jobs_get, c);
    if (st == MOTE_OK)
        st = mote_http_route(srv, "POST", "/api/jobs", "engineer", on_jobs_post, c);
    if (st == MOTE_OK)
        st = mote_http_route(srv, "GET", "/api/compat", "viewer", console_on_compat, c);
    return st;
}
