/* The log's output buffer; see logsink.h.
 *
 * Two buffers: lines are appended to one under the lock, and the flusher
 * swaps it for the other and writes it outside the lock, so a thread that
 * logs waits for a memcpy, never for stdout (a slow disk, a full pipe to a
 * log collector). Writes never overlap: the flusher marks itself writing,
 * and a thread that writes itself (not on an event loop: a line logged
 * "now", a full buffer) waits until it is not, and writes under the lock.
 * An event loop's thread never writes: its "now" lines wake the flusher at
 * once, and a line that finds the buffer full while the flusher is still
 * writing the other is dropped and counted (the count is logged when stdout
 * takes lines again) rather than stall every connection of the loop. */
#include "logsink.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evloop.h"

/* Room for a flush interval of request lines at tens of thousands of
 * requests a second; the flusher is woken early from HIGH_WATER on. */
#define SINK_CAP (512 * 1024)
#define HIGH_WATER (64 * 1024)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;      /* the flusher waits on it */
static pthread_cond_t idle_cv; /* writers wait on it for the flusher to finish */
static pthread_t flusher;
static bool buffering, stopping, writing, urgent;
static int flush_ms;
static log_sink_dropped_fn on_dropped;
static char bufs[2][SINK_CAP];
static char *buf = bufs[0]; /* the one lines go to; the other is the flusher's */
static size_t len;
static unsigned long dropped;    /* lines an event loop could not buffer */
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

/* Under mu, not writing: writes what is buffered, here. */
static void drain_locked(void) {
    write_all(buf, len);
    len = 0;
}

static void wait_idle_locked(void) {
    while (writing)
        pthread_cond_wait(&idle_cv, &mu);
}

/* The flusher's batch: swaps the buffers and writes the full one with the
 * lock released. */
static void flush_batch_locked(void) {
    char *out = buf;
    size_t n = len;
    buf = buf == bufs[0] ? bufs[1] : bufs[0];
    len = 0;
    urgent = false;
    unsigned long lost = dropped;
    dropped = 0;
    writing = true;
    pthread_mutex_unlock(&mu);
    write_all(out, n);
    pthread_mutex_lock(&mu);
    writing = false;
    pthread_cond_broadcast(&idle_cv);
    if (lost && on_dropped) { /* said through the log itself, not while writing */
        pthread_mutex_unlock(&mu);
        on_dropped(lost);
        pthread_mutex_lock(&mu);
    }
}

static void *flush_loop(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!stopping) {
        if (len == 0 && !dropped) {
            pthread_cond_wait(&cv, &mu);
            continue;
        }
        struct timespec due = first_at;
        due.tv_nsec += (long)(flush_ms % 1000) * 1000000L;
        due.tv_sec += flush_ms / 1000 + due.tv_nsec / 1000000000L;
        due.tv_nsec %= 1000000000L;
        if (urgent || pthread_cond_timedwait(&cv, &mu, &due) == ETIMEDOUT)
            flush_batch_locked();
    }
    wait_idle_locked();
    drain_locked();
    pthread_mutex_unlock(&mu);
    return NULL;
}

bool log_sink_start(int ms, log_sink_dropped_fn dropped_fn) {
    if (ms <= 0)
        return true;
    on_dropped = dropped_fn;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_cond_init(&idle_cv, NULL);
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
    bool loop = core_evloop_current() != NULL; /* never waits for stdout */
    pthread_mutex_lock(&mu);
    if (!buffering || (!loop && (now || n > SINK_CAP))) {
        wait_idle_locked();
        drain_locked();
        write_all(line, n);
        pthread_mutex_unlock(&mu);
        return;
    }
    if (len + n > SINK_CAP) {
        if (loop) {
            dropped++;
            urgent = true;
            pthread_cond_signal(&cv);
            pthread_mutex_unlock(&mu);
            return;
        }
        wait_idle_locked();
        drain_locked();
    }
    if (len == 0)
        clock_gettime(CLOCK_MONOTONIC, &first_at);
    memcpy(buf + len, line, n);
    len += n;
    if ((now || len >= HIGH_WATER) && !urgent) {
        urgent = true;
        pthread_cond_signal(&cv);
    } else if (len == n) {
        pthread_cond_signal(&cv); /* the flusher waits for a first line */
    }
    pthread_mutex_unlock(&mu);
}
