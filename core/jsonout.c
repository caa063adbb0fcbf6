/* Compact JSON text from a cJSON tree; see jsonout.h. */
#include "jsonout.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *p;
    size_t n, cap;
    bool failed; /* out of memory: everything after is dropped */
} out_t;

static bool reserve(out_t *o, size_t more) {
    if (o->failed)
        return false;
    if (o->n + more + 1 <= o->cap)
        return true;
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->n + more + 1)
        cap *= 2;
    char *p = realloc(o->p, cap);
    if (!p) {
        o->failed = true;
        return false;
    }
    o->p = p;
    o->cap = cap;
    return true;
}

static void put(out_t *o, const char *s, size_t n) {
    if (!reserve(o, n))
        return;
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void put_c(out_t *o, char c) {
    if (reserve(o, 1))
        o->p[o->n++] = c;
}

/* A JSON string, escaped as cJSON escapes (UTF-8 passes through). */
static void put_string(out_t *o, const char *s) {
    static const char hex[] = "0123456789abcdef";
    put_c(o, '"');
    if (s) {
        const char *run = s; /* bytes that need no escape are copied in runs */
        for (; *s; s++) {
            unsigned char c = (unsigned char)*s;
            if (c >= 0x20 && c != '"' && c != '\\')
                continue;
            put(o, run, (size_t)(s - run));
            run = s + 1;
            char esc[6] = {'\\', 0};
            size_t n = 2;
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            default:
                memcpy(esc + 1, "u00", 3);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                n = 6;
            }
            put(o, esc, n);
        }
        put(o, run, (size_t)(s - run));
    }
    put_c(o, '"');
}

static void put_number(out_t *o, double d) {
    char buf[32];
    if (d != d || d - d != 0) { /* NaN, or an infinity */
        put(o, "null", 4);
        return;
    }
    /* below 2^53 every integer is exact; 1e15 keeps to what %1.15g would
     * also print as plain digits */
    if (d > -1e15 && d < 1e15 && (double)(long long)d == d) {
        long long v = (long long)d;
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
        size_t i = sizeof buf;
        do
            buf[--i] = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
            buf[--i] = '-';
        put(o, buf + i, sizeof buf - i);
        return;
    }
    /* cJSON's way: 15 significant digits if they read back the same, else 17 */
    int n = snprintf(buf, sizeof buf, "%1.15g", d);
    if (strtod(buf, NULL) != d)
        n = snprintf(buf, sizeof buf, "%1.17g", d);
    put(o, buf, (size_t)n);
}

static void put_value(out_t *o, const cJSON *item) {
    switch (item->type & 0xFF) {
    case cJSON_False: put(o, "false", 5); return;
    case cJSON_True: put(o, "true", 4); return;
    case cJSON_NULL: put(o, "null", 4); return;
    case cJSON_Number: put_number(o, item->valuedouble); return;
    case cJSON_String: put_string(o, item->valuestring); return;
    case cJSON_Raw:
        if (item->valuestring)
            put(o, item->valuestring, strlen(item->valuestring));
        else
            o->failed = true; /* cJSON fails on it too */
        return;
    case cJSON_Array:
    case cJSON_Object: {
        bool object = (item->type & 0xFF) == cJSON_Object;
        put_c(o, object ? '{' : '[');
        for (const cJSON *c = item->child; c; c = c->next) {
            if (c != item->child)
                put_c(o, ',');
            if (object) {
                put_string(o, c->string);
                put_c(o, ':');
            }
            put_value(o, c);
        }
        put_c(o, object ? '}' : ']');
        return;
    }
    default: o->failed = true; /* an invalid item: no valid text */
    }
}

char *core_json_print(const cJSON *item, size_t *len) {
    if (!item)
        return NULL;
    out_t o = {0};
    put_value(&o, item);
    if (!reserve(&o, 0)) {
        free(o.p);
        return NULL;
    }
    o.p[o.n] = '\0';
    if (len)
        *len = o.n;
    return o.p;
}
