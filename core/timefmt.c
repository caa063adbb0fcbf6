/* ISO 8601 and HTTP date formatting; see timefmt.h. */
#define _GNU_SOURCE
#include "timefmt.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t core_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t core_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec core_mono_deadline(int64_t ms) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

static int64_t floor_div(int64_t a, int64_t b) {
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* UTC calendar fields of ms (tm_year, tm_mon, tm_mday, tm_hour, tm_min,
 * tm_sec, tm_wday). Pure arithmetic (H. Hinnant's civil_from_days) rather
 * than gmtime_r, which takes glibc's global time-zone lock: these run on
 * every request (the request log, heartbeats, frame headers), in every
 * worker thread at once. */
static void split(int64_t ms, struct tm *tm, int *millis) {
    /* Past +-2^53 ms (285 616 years) no clock or JSON number agrees anyway;
     * clamping there keeps every step below in range (ms * 1000 and the year). */
    const int64_t limit = INT64_C(1) << 53;
    ms = ms > limit ? limit : ms < -limit ? -limit : ms;
    int64_t secs = floor_div(ms, 1000), days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    *millis = (int)(ms - secs * 1000);
    memset(tm, 0, sizeof *tm);
    tm->tm_hour = (int)(sod / 3600);
    tm->tm_min = (int)(sod / 60 % 60);
    tm->tm_sec = (int)(sod % 60);
    tm->tm_wday = (int)(days - floor_div(days + 4, 7) * 7 + 4); /* 1970-01-01: a Thursday */
    int64_t z = days + 719468, era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* March is 0 */
    tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
    tm->tm_year = (int)(yoe + era * 400 + (tm->tm_mon < 2) - 1900);
}

/* Writes v (0 <= v < 10^n) as exactly n digits; returns the end. */
static char *put_digits(char *p, int v, int n) {
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

/* Both formats are written by hand: snprintf cost ten times as much, and
 * they are on every request. Years outside 0..9999 take the slow way, which
 * prints them as printf's %04d does. */
void core_iso8601(int64_t ms, char out[CORE_ISO8601_LEN]) {
    struct tm tm;
    int millis;
    split(ms, &tm, &millis);
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) {
        snprintf(out, CORE_ISO8601_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
        return;
    }
    char *p = put_digits(out, year, 4);
    *p++ = '-';
    p = put_digits(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = put_digits(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, millis, 3);
    *p++ = 'Z';
    *p = '\0';
}

void core_http_date(int64_t ms, char out[CORE_HTTP_DATE_LEN]) {
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    int millis;
    split(ms, &tm, &millis);
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) {
        snprintf(out, CORE_HTTP_DATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], year, tm.tm_hour, tm.tm_min, tm.tm_sec);
        return;
    }
    char *p = out;
    memcpy(p, days[tm.tm_wday], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put_digits(p, tm.tm_mday, 2);
    *p++ = ' ';
    memcpy(p, months[tm.tm_mon], 3);
    p += 3;
    *p++ = ' ';
    p = put_digits(p, year, 4);
    *p++ = ' ';
    p = put_digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, tm.tm_sec, 2);
    memcpy(p, " GMT", 5);
}

/* Reads exactly n digits; returns -1 when they are not all there. */
static int digits(const char **p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

static bool expect(const char **p, char c) {
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool core_iso8601_parse(const char *s, int64_t *ms) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s)
        return false;
    const char *p = s;
    int y = digits(&p, 4);
    if (y < 0 || !expect(&p, '-'))
        return false;
    int mo = digits(&p, 2);
    if (mo < 1 || mo > 12 || !expect(&p, '-'))
        return false;
    int d = digits(&p, 2);
    int dim = mdays[mo - 1] + (mo == 2 && leap(y));
    if (d < 1 || d > dim || !(expect(&p, 'T') || expect(&p, 't')))
        return false;
    int h = digits(&p, 2);
    if (h < 0 || h > 23 || !expect(&p, ':'))
        return false;
    int mi = digits(&p, 2);
    if (mi < 0 || mi > 59 || !expect(&p, ':'))
        return false;
    int sec = digits(&p, 2);
    if (sec < 0 || sec > 60)
        return false;
    int frac = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                frac = frac * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return false;
        for (; n < 3; n++)
            frac *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        int oh = digits(&p, 2);
        if (oh < 0 || oh > 23 || !expect(&p, ':'))
            return false;
        int om = digits(&p, 2);
        if (om < 0 || om > 59)
            return false;
        offset_min = sign * (oh * 60 + om);
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    int64_t secs = (int64_t)timegm(&tm) - (int64_t)offset_min * 60;
    *ms = secs * 1000 + frac;
    return true;
}
