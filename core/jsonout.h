/*
 * JSON text from a cJSON tree, compact (no whitespace), as
 * cJSON_PrintUnformatted writes it, for less: cJSON 1.7.15 prints every
 * number with sprintf("%1.15g") and reads it back with sscanf to check it
 * survived, about 3 000 instructions per number; a /redis/stats answer (14
 * numbers) spent a third of its time there. Integral numbers (every count,
 * size and millisecond time this service sends) are written here digit by
 * digit; only the others take cJSON's way, except that 17 digits are written
 * whenever 15 do not read back exactly (cJSON accepts 15 within an epsilon,
 * so 9007199254740992 came out as 9.00719925474099e+15).
 */
#ifndef CORE_JSONOUT_H
#define CORE_JSONOUT_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The tree as compact JSON text, NUL-terminated, in a malloc()ed buffer the
 * caller frees with free(); its length (without the NUL) in *len when len is
 * not NULL. NULL when memory runs out or item is NULL. NaN and infinities
 * are written as null, as cJSON writes them. */
char *core_json_print(const cJSON *item, size_t *len);

#endif
