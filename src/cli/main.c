/* mote command-line tool: dispatch to subcommands and global help. */
#include <string.h>
#include "cli.h"

extern const cli_cmd_t cli_cmd_size; /* cmd_size.c */
extern const cli_cmd_t cli_cmd_user; /* cmd_user.c */
extern const cli_cmd_t cli_cmd_graph; /* cmd_graph.c */
extern const cli_cmd_t cli_cmd_ledger, cli_cmd_key; /* cmd_ledger.c, cmd_key.c */
extern const cli_cmd_t cli_cmd_fed; /* cmd_fed.c */
extern const cli_cmd_t cli_cmd_fleet; /* cmd_fleet.c */
static const cli_cmd_t *const cmds[] = { &cli_cmd_inspect, &cli_cmd_run, &cli_cmd_bench,
                                          &cli_cmd_train, &cli_cmd_eval, &cli_cmd_learn,
                                          &cli_cmd_size, &cli_cmd_ledger, &cli_cmd_key, &cli_cmd_graph, &cli_cmd_fed, &cli_cmd_user,
                                          &cli_cmd_fleet };
enum { N_CMDS = sizeof cmds / sizeof cmds[0] };

static const cli_cmd_t *find_cmd(const char *name)
{
    for (int i = 0; i < N_CMDS; i++)
        if (strcmp(cmds[i]->name, name) == 0)
            return cmds[i];
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mote COMMAND [ARGS...]\n"
               "       mote help COMMAND | mote COMMAND --help | mote --version\n\n"
               "Load, inspect and run int8/int16 TensorFlow Lite models like TFLite Micro.\n\n"
               "commands:\n");
    for (int i = 0; i < N_CMDS; i++)
        fprintf(f, "  %-9s %s\n", cmds[i]->name, cmds[i]->summary);
    fprintf(f, "\nexit status: 0 success, 1 failure (bad model, I/O), 2 usage error\n");
}

/* `mote help [COMMAND]` */
static int help(int argc, char **argv)
{
    if (argc < 1) {
        usage(stdout);
        return CLI_OK;
    }
    const cli_cmd_t *c = find_cmd(argv[0]);
    if (!c) {
        fprintf(stderr, "mote help: unknown command '%s'\n", argv[0]);
        usage(stderr);
        return CLI_USAGE;
    }
    fputs(c->help, stdout);
    return CLI_OK;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *a = argv[1];
    if (cli_is_help(a))
        return help(0, NULL);
    if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
        printf("mote %s\n", MOTE_CLI_VERSION);
        return CLI_OK;
    }
    if (strcmp(a, "help") == 0)
        return help(argc - 2, argv + 2);
    const cli_cmd_t *c = find_cmd(a);
    if (!c) {
        fprintf(stderr, "mote: unknown command '%s'\n", a);
        usage(stderr);
        return CLI_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(c->help, stdout);
            return CLI_OK;
        }
    }
    return c->run(argc - 2, argv + 2);
}

int main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);
    /* Data written to a full disk or closed pipe must not look like success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "mote: stdout: %s: write failed\n", mote_status_str(MOTE_ERR_IO));
        return CLI_FAIL;
    }
    return rc;
}
