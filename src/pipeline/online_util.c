/* mote pipeline: helpers of the replay engine that the training pipeline
 * does not have (online_internal.h). */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include "online_internal.h"

int32_t onl_find(char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return (int32_t)i;
    return -1;
}
