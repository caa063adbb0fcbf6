/* Compact JSON text out: a writer, and a cJSON tree printed with it; see
 * jsonout.h. */
#include "jsonout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decimal.h"
#include "utf8.h"

static bool reserve(core_jsonw_t *w, size_t more) {
    if (w->failed)
        return false;
    if (w->n + more + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->n + more + 1)
        cap *= 2;
    char *p = realloc(w->p, cap);
    if (!p) {
        w->failed = true;
        return false;
    }
    w->p = p;
    w->cap = cap;
    return true;
}

static void put(core_jsonw_t *w, const char *s, size_t n) {
    if (!reserve(w, n))
        return;
    memcpy(w->p + w->n, s, n);
    w->n += n;
}

static void put_c(core_jsonw_t *w, char c) {
    if (reserve(w, 1))
        w->p[w->n++] = c;
}

/* A JSON string, through the one escaper (core/utf8.h): valid UTF-8 with no
 * control character, whatever bytes s holds. Room for the whole of what is
 * left is reserved first, so a string with nothing to escape (most) is
 * written in one pass. */
static void put_string(core_jsonw_t *w, const char *s) {
    put_c(w, '"');
    size_t n = s ? strlen(s) : 0, done = 0;
    while (done < n && reserve(w, n - done + CORE_UTF8_ESC_MAX)) {
        size_t used;
        w->n += core_utf8_escape(s + done, n - done, CORE_UTF8_JSON, w->p + w->n, w->cap - 1 - w->n,
                                 &used);
        done += used;
    }
    put_c(w, '"');
}

static void put_int(core_jsonw_t *w, long long v) {
    char buf[CORE_DECIMAL_MAX];
    size_t n = core_decimal(v, buf);
    put(w, buf, n);
}

static void put_number(core_jsonw_t *w, double d) {
    if (d != d || d - d != 0) { /* NaN, or an infinity */
        put(w, "null", 4);
        return;
    }
    /* below 2^53 every integer is exact; 1e15 keeps to what %1.15g would
     * also print as plain digits */
    if (d > -1e15 && d < 1e15 && (double)(long long)d == d) {
        put_int(w, (long long)d);
        return;
    }
    /* cJSON's way: 15 significant digits if they read back the same, else 17 */
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%1.15g", d);
    if (strtod(buf, NULL) != d)
        n = snprintf(buf, sizeof buf, "%1.17g", d);
    put(w, buf, (size_t)n);
}

static bool bit_get(const uint64_t *bits, int d) { return bits[d / 64] >> (d % 64) & 1; }

static void bit_set(uint64_t *bits, int d, bool on) {
    if (on)
        bits[d / 64] |= 1ULL << (d % 64);
    else
        bits[d / 64] &= ~(1ULL << (d % 64));
}

/* Before a value (or a key): the comma that separates it from the previous
 * item of its container. */
static void separate(core_jsonw_t *w) {
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (bit_get(w->has_item, w->depth - 1))
            put_c(w, ',');
        bit_set(w->has_item, w->depth - 1, true);
    }
}

void core_jsonw_init(core_jsonw_t *w) {
    w->p = NULL;
    w->n = w->cap = 0;
    w->failed = w->after_key = false;
    w->depth = 0; /* the bits of a depth are set when it opens */
}

static void open_container(core_jsonw_t *w, char c) {
    separate(w);
    if (w->depth == CORE_JSONW_DEPTH) {
        w->failed = true;
        return;
    }
    bit_set(w->has_item, w->depth, false);
    bit_set(w->is_object, w->depth, c == '{');
    w->depth++;
    put_c(w, c);
}

void core_jsonw_object(core_jsonw_t *w) { open_container(w, '{'); }

void core_jsonw_array(core_jsonw_t *w) { open_container(w, '['); }

void core_jsonw_end(core_jsonw_t *w) {
    if (w->depth == 0 || w->after_key) {
        w->failed = true;
        return;
    }
    w->depth--;
    put_c(w, bit_get(w->is_object, w->depth) ? '}' : ']');
}

void core_jsonw_key(core_jsonw_t *w, const char *key) {
    separate(w);
    put_string(w, key);
    put_c(w, ':');
    w->after_key = true;
}

void core_jsonw_string(core_jsonw_t *w, const char *s) {
    separate(w);
    put_string(w, s);
}

void core_jsonw_int(core_jsonw_t *w, long long v) {
    separate(w);
    put_int(w, v);
}

void core_jsonw_number(core_jsonw_t *w, double v) {
    separate(w);
    put_number(w, v);
}

void core_jsonw_bool(core_jsonw_t *w, bool v) {
    separate(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void core_jsonw_null(core_jsonw_t *w) {
    separate(w);
    put(w, "null", 4);
}

void core_jsonw_string_or_null(core_jsonw_t *w, const char *s) {
    if (s && *s)
        core_jsonw_string(w, s);
    else
        core_jsonw_null(w);
}

void core_jsonw_discard(core_jsonw_t *w) {
    free(w->p);
    core_jsonw_init(w);
}

char *core_jsonw_finish(core_jsonw_t *w, size_t *len) {
    if (w->depth != 0 || w->after_key || !reserve(w, 0) || w->n == 0) {
        core_jsonw_discard(w);
        return NULL;
    }
    w->p[w->n] = '\0';
    if (len)
        *len = w->n;
    char *text = w->p;
    core_jsonw_init(w);
    return text;
}

static void put_item(core_jsonw_t *w, const cJSON *item) {
    switch (item->type & 0xFF) {
    case cJSON_False: core_jsonw_bool(w, false); return;
    case cJSON_True: core_jsonw_bool(w, true); return;
    case cJSON_NULL: core_jsonw_null(w); return;
    case cJSON_Number: core_jsonw_number(w, item->valuedouble); return;
    case cJSON_String: core_jsonw_string(w, item->valuestring); return;
    case cJSON_Raw:
        separate(w);
        if (item->valuestring)
            put(w, item->valuestring, strlen(item->valuestring));
        else
            w->failed = true; /* cJSON fails on it too */
        return;
    case cJSON_Array:
    case cJSON_Object: {
        bool object = (item->type & 0xFF) == cJSON_Object;
        if (object)
            core_jsonw_object(w);
        else
            core_jsonw_array(w);
        for (const cJSON *c = item->child; c; c = c->next) {
            if (object)
                core_jsonw_key(w, c->string);
            put_item(w, c);
        }
        core_jsonw_end(w);
        return;
    }
    default: w->failed = true; /* an invalid item: no valid text */
    }
}

void core_jsonw_take_tree(core_jsonw_t *w, cJSON *item) {
    if (item)
        put_item(w, item);
    else
        w->failed = true;
    cJSON_Delete(item);
}

char *core_json_print(const cJSON *item, size_t *len) {
    if (!item)
        return NULL;
    core_jsonw_t w;
    core_jsonw_init(&w);
    put_item(&w, item);
    return core_jsonw_finish(&w, len);
}
