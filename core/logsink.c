/* The log's output buffer; see logsink.h. */
#include "logsink.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Large enough for a few hundred request lines; a full buffer is written by
 * the thread whose line does not fit. */
#define SINK_CAP (64 * 1024)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_t flusher;
static bool buffering, stopping;
static int flush_ms;
static char buf[SINK_CAP];
static size_t len;
static struct timespec first_at; /* when the oldest buffered line came (CLOCK_MONOTONIC) */

static void write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* stdout closed or broken: the lines are dropped, never retried forever */
        p += w;
        n -= (size_t)w;
    }
}

static void drain_locked(void) {
    write_all(buf, len);
    len = 0;
}

static void *flush_loop(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!stopping) {
        if (len == 0) {
            pthread_cond_wait(&cv, &mu);
            continue;
        }
        struct timespec due = first_at;
        due.tv_nsec += (long)(flush_ms % 1000) * 1000000L;
        due.tv_sec += flush_ms / 1000 + due.tv_nsec / 1000000000L;
        due.tv_nsec %= 1000000000L;
        if (pthread_cond_timedwait(&cv, &mu, &due) == ETIMEDOUT)
            drain_locked();
    }
    drain_locked();
    pthread_mutex_unlock(&mu);
    return NULL;
}

bool log_sink_start(int ms) {
    if (ms <= 0)
        return true;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &attr);
    pthread_condattr_destroy(&attr);
    flush_ms = ms;
    pthread_mutex_lock(&mu);
    stopping = false;
    buffering = pthread_create(&flusher, NULL, flush_loop, NULL) == 0;
    pthread_mutex_unlock(&mu);
    return buffering;
}

void log_sink_stop(void) {
    pthread_mutex_lock(&mu);
    bool was = buffering;
    buffering = false;
    stopping = true;
    if (was)
        pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    if (was)
        pthread_join(flusher, NULL);
}

void log_sink_put(const char *line, size_t n, bool now) {
    pthread_mutex_lock(&mu);
    if (!buffering || now || n > SINK_CAP) {
        drain_locked();
        write_all(line, n);
    } else {
        if (len + n > SINK_CAP)
            drain_locked();
        if (len == 0) {
            clock_gettime(CLOCK_MONOTONIC, &first_at);
            pthread_cond_signal(&cv); /* the flusher waits for a first line */
        }
        memcpy(buf + len, line, n);
        len += n;
    }
    pthread_mutex_unlock(&mu);
}
