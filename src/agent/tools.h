/* mote agent: subcommands of mote-agent besides running a device.
 *
 *   keygen --out PREFIX                     fleet key pair (PREFIX.sk, PREFIX.pk)
 *   bundle --key SK --name N --version V --target CLASS --out FILE FILES...
 *   cmd --key SK --dev ID --seq N OP ...    a signed command on stdout (binary)
 *   serve --broker H:P --bundle FILE...     answer chunk requests (a stand-in
 *                                           manager for tests and bring-up)
 *
 * Each returns the process exit status: 0 success, 1 failure, 2 usage. */
#ifndef MOTE_TOOLS_H
#define MOTE_TOOLS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int mote_tools_keygen(int argc, char **argv);
int mote_tools_bundle(int argc, char **argv);
int mote_tools_cmd(int argc, char **argv);
int mote_tools_serve(int argc, char **argv);

/* "HOST:PORT" into host (cap bytes) and port. 0 on success. */
int mote_tools_parse_broker(const char *s, char *host, size_t cap, int *port);

#ifdef __cplusplus
}
#endif
#endif
