/* JSON body validation; see input.h. */
#include "input.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../../core/ids.h"
#include "../../core/utf8.h"
#include "problem.h"

bool api_content_type_is(const char *ct, const char *type) {
    if (!ct)
        return false;
    size_t n = strlen(type);
    if (strncasecmp(ct, type, n) != 0)
        return false;
    const char *rest = ct + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == '\0' || *rest == ';';
}

/* cJSON turns \u0000 into a NUL that silently cuts a string short; such a
 * string could smuggle "a\u0000<anything>" in as "a". Refuse them outright. */
static bool has_escaped_nul(const char *s, size_t n) {
    for (size_t i = 0; i + 6 <= n; i++) {
        if (s[i] == '\\' && s[i + 1] == 'u' && s[i + 2] == '0' && s[i + 3] == '0' &&
            s[i + 4] == '0' && s[i + 5] == '0')
            return true;
        if (s[i] == '\\')
            i++; /* skip the escaped character, so "\\\\u0000" is not a match */
    }
    return false;
}

/* The first place in item's members or elements (their names or their string
 * values) whose text is not valid UTF-8: its path ("name", "location.label",
 * "[3].note") appended to path at len. True when there is one. */
static bool find_bad_utf8(const cJSON *item, char *path, size_t cap, size_t len) {
    int index = 0;
    for (const cJSON *c = item->child; c; c = c->next, index++) {
        if (c->string)
            snprintf(path + len, cap - len, "%s%s", len ? "." : "", c->string);
        else
            snprintf(path + len, cap - len, "[%d]", index);
        size_t at = strlen(path);
        if ((c->string && !core_utf8_valid(c->string, strlen(c->string))) ||
            (cJSON_IsString(c) && !core_utf8_valid(c->valuestring, strlen(c->valuestring))) ||
            find_bad_utf8(c, path, cap, at))
            return true;
        path[len] = '\0';
    }
    return false;
}

/* Parses len bytes as one JSON value (whitespace around it allowed), refusing
 * any NUL, raw or escaped as \u0000, and text that is not UTF-8 (RFC 8259
 * requires it; cJSON takes any byte inside a string). NULL with why set for a
 * 400, naming the field whose text is not UTF-8. */
static cJSON *parse_value(const char *body, size_t len, char *why) {
    if (memchr(body, '\0', len) || has_escaped_nul(body, len)) {
        snprintf(why, API_ERR_MAX, "the JSON body must not contain NUL characters");
        return NULL;
    }
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (json && end) {
        while (end < body + len && strchr(" \t\r\n", *end))
            end++;
        if (end != body + len) {
            cJSON_Delete(json);
            json = NULL;
        }
    }
    if (!json) {
        snprintf(why, API_ERR_MAX, "the body is not valid JSON");
        return NULL;
    }
    /* one pass over the bytes; the tree is searched only to name the field */
    if (!core_utf8_valid(body, len)) {
        char path[128] = "";
        if (find_bad_utf8(json, path, sizeof path, 0))
            snprintf(why, API_ERR_MAX, "field '%s' is not valid UTF-8", path);
        else
            snprintf(why, API_ERR_MAX, "the JSON body is not valid UTF-8");
        cJSON_Delete(json);
        return NULL;
    }
    return json;
}

cJSON *api_json_object_parse(const char *body, size_t len, char *why) {
    cJSON *json = parse_value(body, len, why);
    if (json && !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        snprintf(why, API_ERR_MAX, "the body must be a JSON object");
        return NULL;
    }
    return json;
}

/* The body parsed as any JSON value, or as an object only; see input.h. */
static bool body_parse(api_req_t *r, bool required, bool object, cJSON **out) {
    *out = NULL;
    if (r->body_len == 0) {
        if (!required)
            return true;
        api_problem(r, 400, "a JSON body is required");
        return false;
    }
    const char *ct = api_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!api_content_type_is(ct, "application/json")) {
        api_problem(r, 415, "Content-Type must be application/json, not '%.100s'",
                    ct ? ct : "(none)");
        return false;
    }
    char why[API_ERR_MAX];
    *out = object ? api_json_object_parse(r->body, r->body_len, why)
                  : parse_value(r->body, r->body_len, why);
    if (!*out)
        api_problem(r, 400, "%s", why);
    return *out != NULL;
}

bool api_body_parse(api_req_t *r, bool required, cJSON **out) {
    return body_parse(r, required, false, out);
}

bool api_body_json(api_req_t *r, bool required, cJSON **out) {
    return body_parse(r, required, true, out);
}

bool api_check_string(const cJSON *obj, const char *name, bool required, size_t min, size_t max,
                      const char **out, char *err) {
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            snprintf(err, API_ERR_MAX, "field '%s' is required", name);
        return !required;
    }
    size_t len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
    if (!cJSON_IsString(v))
        snprintf(err, API_ERR_MAX, "field '%s' must be a string", name);
    else if (!core_utf8_valid(v->valuestring, len))
        snprintf(err, API_ERR_MAX, "field '%s' is not valid UTF-8", name);
    else if (len < min || len > max)
        snprintf(err, API_ERR_MAX, "field '%s' must be %zu to %zu bytes long", name, min, max);
    else
        *out = v->valuestring;
    return *out != NULL;
}

bool api_check_number(const cJSON *obj, const char *name, bool required, double min, double max,
                      double *out, bool *present, char *err) {
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    *present = false;
    if (!v || cJSON_IsNull(v)) {
        if (required)
            snprintf(err, API_ERR_MAX, "field '%s' is required", name);
        return !required;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        snprintf(err, API_ERR_MAX, "field '%s' must be a number", name);
    else if (v->valuedouble < min || v->valuedouble > max)
        snprintf(err, API_ERR_MAX, "field '%s' must be from %g to %g", name, min, max);
    else
        *present = true;
    if (*present)
        *out = v->valuedouble;
    return *present;
}

bool api_field_string(api_req_t *r, const cJSON *obj, const char *name, bool required, size_t min,
                      size_t max, const char **out) {
    char err[API_ERR_MAX];
    if (api_check_string(obj, name, required, min, max, out, err))
        return true;
    api_problem(r, 400, "%s", err);
    return false;
}

bool api_field_id(api_req_t *r, const cJSON *obj, const char *name, bool required,
                  const char **out) {
    if (!api_field_string(r, obj, name, required, 0, (size_t)-1, out))
        return false;
    if (*out && !core_id_valid(*out)) {
        api_problem(r, 400, "field '%s' must match ^[A-Za-z0-9._-]{1,128}$ and not be '.' or '..'",
                    name);
        return false;
    }
    return true;
}

bool api_field_number(api_req_t *r, const cJSON *obj, const char *name, bool required, double min,
                      double max, double *out, bool *present) {
    char err[API_ERR_MAX];
    if (api_check_number(obj, name, required, min, max, out, present, err))
        return true;
    api_problem(r, 400, "%s", err);
    return false;
}

bool api_field_enum(api_req_t *r, const cJSON *obj, const char *name, const char *const *allowed,
                    const char **out) {
    if (!api_field_string(r, obj, name, false, 0, (size_t)-1, out))
        return false;
    if (!*out)
        return true;
    char list[256] = "";
    size_t used = 0;
    for (const char *const *a = allowed; *a; a++) {
        if (strcmp(*a, *out) == 0)
            return true;
        int n = snprintf(list + used, sizeof list - used, "%s'%s'", used ? ", " : "", *a);
        if (n > 0 && (size_t)n < sizeof list - used)
            used += (size_t)n;
    }
    api_problem(r, 400, "field '%s' must be one of %s", name, list);
    return false;
}
