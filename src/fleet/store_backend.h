/* mote fleet: the store's backend constructors (internal to store*.c). */
#ifndef MOTE_STORE_BACKEND_H
#define MOTE_STORE_BACKEND_H

#include "store.h"

/* Open a SQLite file (created if absent). */
mote_status_t mote_store_sqlite_open(const char *path, const mote_store_backend_t **be, void **db, char *err,
                                     size_t errsz);
/* Connect to PostgreSQL with a libpq connection URI. */
mote_status_t mote_store_pg_open(const char *url, const mote_store_backend_t **be, void **db, char *err,
                                 size_t errsz);

#endif
