/* mote user: manage the web console's users file (src/fleet/auth.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <sodium.h>
#include "auth.h"
#include "cli.h"

static const char help_text[] =
    "usage: mote user add NAME --role viewer|engineer|admin --users FILE\n\n"
    "Add a console user to FILE, or replace the user's role and password.\n"
    "The password is read from the first line of standard input (8-256\n"
    "bytes), so it never appears in the process list or shell history:\n"
    "  printf '%s\\n' \"$PW\" | mote user add alice --role engineer --users users.txt\n"
    "FILE holds \"NAME ROLE ARGON2ID-HASH\" lines and is written atomically,\n"
    "mode 0600. A running moted reads it at every login.\n";

typedef struct user_args {
    const char *name, *role, *users;
} user_args_t;

static int parse_args(int argc, char **argv, user_args_t *a)
{
    if (argc < 1 || strcmp(argv[0], "add") != 0)
        return cli_usage("user", "want 'add NAME --role R --users FILE'");
    for (int i = 1; i < argc; i++) {
        const char *v;
        int r;
        if ((r = cli_opt(argc, argv, &i, "--role", &v)) != 0) {
            if (r < 0)
                return cli_usage("user", "--role needs viewer, engineer or admin");
            a->role = v;
        } else if ((r = cli_opt(argc, argv, &i, "--users", &v)) != 0) {
            if (r < 0)
                return cli_usage("user", "--users needs a file");
            a->users = v;
        } else if (argv[i][0] == '-' || a->name) {
            return cli_usage("user", "unexpected '%s'", argv[i]);
        } else {
            a->name = argv[i];
        }
    }
    if (!a->name || !a->role || !a->users)
        return cli_usage("user", "NAME, --role and --users are required");
    if (!mote_auth_name_ok(a->name))
        return cli_usage("user", "user name must be 1-%d of [A-Za-z0-9_.-]", MOTE_AUTH_NAME_MAX);
    if (!mote_auth_role_ok(a->role))
        return cli_usage("user", "role '%s': want viewer, engineer or admin", a->role);
    return CLI_OK;
}

/* The first line of stdin without its line end; -1 if too long or absent. */
static int read_password(char *buf, size_t cap)
{
    if (!fgets(buf, (int)cap, stdin))
        return -1;
    size_t n = strcspn(buf, "\r\n");
    /* No line end within cap bytes and more input: longer than allowed. */
    if (buf[n] == '\0' && n + 1 == cap && !feof(stdin))
        return -1;
    buf[n] = '\0';
    return 0;
}

static int run(int argc, char **argv)
{
    user_args_t a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    char pw[MOTE_AUTH_PASS_MAX + 3], err[512];
    if (read_password(pw, sizeof pw) != 0) {
        cli_error("<stdin>", MOTE_ERR_FORMAT, "want the password on the first line (%d-%d bytes)",
                  MOTE_AUTH_PASS_MIN, MOTE_AUTH_PASS_MAX);
        return CLI_FAIL;
    }
    mote_status_t st = mote_auth_user_set(a.users, a.name, a.role, pw, err, sizeof err);
    sodium_memzero(pw, sizeof pw);
    if (st != MOTE_OK) {
        cli_error(a.users, st, "%s", err);
        return st == MOTE_ERR_ARG ? CLI_USAGE : CLI_FAIL;
    }
    fprintf(stderr, "mote user: %s is now %s in %s\n", a.name, a.role, a.users);
    return CLI_OK;
}

const cli_cmd_t cli_cmd_user = {"user", "add a web console user (password from stdin)", help_text, run};
