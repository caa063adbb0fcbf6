/*
 * Reading JSON request bodies. Each call validates one thing and, when it is
 * wrong, replies the 4xx problem naming it and returns false; the handler then
 * simply returns. Nothing has been written anywhere at that point.
 */
#ifndef API_INPUT_H
#define API_INPUT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "request.h"

/* True when the Content-Type value ct names type ("application/json"),
 * ignoring case and parameters. */
bool api_content_type_is(const char *ct, const char *type);

/* Parses the body as a JSON object into *out (caller frees with cJSON_Delete).
 * When !required, an absent or empty body gives true with *out = NULL.
 * Replies 415 when the Content-Type is not application/json, 400 when the
 * body is not a JSON object. */
bool api_body_json(api_req_t *r, bool required, cJSON **out);

/* String field name of obj, of min..max bytes. Absent (or null) and not
 * required: true with *out = NULL. */
bool api_field_string(api_req_t *r, const cJSON *obj, const char *name, bool required, size_t min,
                      size_t max, const char **out);

/* Like api_field_string, and the value must be a valid id. */
bool api_field_id(api_req_t *r, const cJSON *obj, const char *name, bool required,
                  const char **out);

/* Optional string field that must be one of allowed (NULL-terminated list). */
bool api_field_enum(api_req_t *r, const cJSON *obj, const char *name, const char *const *allowed,
                    const char **out);

#endif
