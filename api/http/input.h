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

/* Parses len bytes as one JSON object (whitespace around it allowed),
 * refusing any NUL, raw or escaped as \u0000, and any text that is not valid
 * UTF-8 (RFC 8259 requires it, and cJSON would take it). Returns the object
 * (caller frees with cJSON_Delete), or NULL with the message for a 400 in why
 * (API_ERR_MAX bytes; it names the field whose text is not UTF-8). Pure: no
 * request, no reply. */
cJSON *api_json_object_parse(const char *body, size_t len, char *why);

/* Parses the body as any JSON value into *out (caller frees), with the same
 * replies as api_body_json below but no check of the value's type. */
bool api_body_parse(api_req_t *r, bool required, cJSON **out);

/* Parses the body as a JSON object into *out (caller frees with cJSON_Delete).
 * When !required, an absent or empty body gives true with *out = NULL.
 * Replies 415 when the Content-Type is not application/json, 400 when the
 * body is not a JSON object or not valid UTF-8 (naming the field). */
bool api_body_json(api_req_t *r, bool required, cJSON **out);

/* The checks behind the api_field_* calls, for callers that collect errors
 * instead of replying (one bad row of a batch): false with a message naming
 * the field in err, which holds API_ERR_MAX bytes. */
#define API_ERR_MAX 192
bool api_check_string(const cJSON *obj, const char *name, bool required, size_t min, size_t max,
                      const char **out, char *err);
bool api_check_number(const cJSON *obj, const char *name, bool required, double min, double max,
                      double *out, bool *present, char *err);

/* String field name of obj, of min..max bytes. Absent (or null) and not
 * required: true with *out = NULL. */
bool api_field_string(api_req_t *r, const cJSON *obj, const char *name, bool required, size_t min,
                      size_t max, const char **out);

/* Like api_field_string, and the value must be a valid id. */
bool api_field_id(api_req_t *r, const cJSON *obj, const char *name, bool required,
                  const char **out);

/* Number field name of obj in [min, max] (finite). Absent (or null) and not
 * required: true with *present = false. */
bool api_field_number(api_req_t *r, const cJSON *obj, const char *name, bool required, double min,
                      double max, double *out, bool *present);

/* Optional string field that must be one of allowed (NULL-terminated list). */
bool api_field_enum(api_req_t *r, const cJSON *obj, const char *name, const char *const *allowed,
                    const char **out);

#endif
