/* JSON body validation; see input.h. */
#include "input.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/ids.h"
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

bool api_body_json(api_req_t *r, bool required, cJSON **out) {
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
    if (memchr(r->body, '\0', r->body_len) || has_escaped_nul(r->body, r->body_len)) {
        api_problem(r, 400, "the JSON body must not contain NUL characters");
        return false;
    }
    const char *end = NULL;
    cJSON *json = cJSON_ParseWithLengthOpts(r->body, r->body_len, &end, 0);
    if (json && end) {
        while (end < r->body + r->body_len && strchr(" \t\r\n", *end))
            end++;
        if (end != r->body + r->body_len) {
            cJSON_Delete(json);
            json = NULL;
        }
    }
    if (!json) {
        api_problem(r, 400, "the body is not valid JSON");
        return false;
    }
    if (!cJSON_IsObject(json)) {
        cJSON_Delete(json);
        api_problem(r, 400, "the body must be a JSON object");
        return false;
    }
    *out = json;
    return true;
}

bool api_field_string(api_req_t *r, const cJSON *obj, const char *name, bool required, size_t min,
                      size_t max, const char **out) {
    const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return true;
        api_problem(r, 400, "field '%s' is required", name);
        return false;
    }
    if (!cJSON_IsString(v)) {
        api_problem(r, 400, "field '%s' must be a string", name);
        return false;
    }
    size_t len = strlen(v->valuestring);
    if (len < min || len > max) {
        api_problem(r, 400, "field '%s' must be %zu to %zu bytes long", name, min, max);
        return false;
    }
    *out = v->valuestring;
    return true;
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
