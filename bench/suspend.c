/*
 * The cost of libmicrohttpd's suspend/resume, the mechanism an asynchronous
 * Redis path would need (bench/README.md, "What stands in the way"). A
 * server with the service's daemon flags and thread pool answers every
 * request with an empty 204, either at once (mode 0) or after suspending the
 * connection and handing it to another thread, which resumes it (mode 1):
 * what a worker would do while a batch of Redis commands is in flight, minus
 * Redis. bench/suspend.sh drives both with wrk and prints the CPU per request.
 *
 *   suspend MODE PORT      serves 127.0.0.1:PORT until killed
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define QUEUE_MAX 4096

static int mode;
static struct MHD_Response *empty;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct MHD_Connection *queue[QUEUE_MAX];
static int queued;

/* Resumes what the workers suspended, everything queued at each wake-up (as
 * a Redis I/O thread would, one batch of replies at a time). */
static void *resumer(void *arg) {
    (void)arg;
    static struct MHD_Connection *batch[QUEUE_MAX];
    for (;;) {
        pthread_mutex_lock(&mu);
        while (queued == 0)
            pthread_cond_wait(&cv, &mu);
        int n = queued;
        memcpy(batch, queue, (size_t)n * sizeof *queue);
        queued = 0;
        pthread_mutex_unlock(&mu);
        for (int i = 0; i < n; i++)
            MHD_resume_connection(batch[i]);
    }
    return NULL;
}

/* Called with the headers (state 0), when the request is complete (1), and
 * again after a resume (2). */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls) {
    (void)cls, (void)url, (void)method, (void)version, (void)upload, (void)upload_size;
    intptr_t state = (intptr_t)*con_cls;
    if (state == 0) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (mode == 1 && state == 1) {
        *con_cls = (void *)2;
        MHD_suspend_connection(c);
        pthread_mutex_lock(&mu);
        if (queued == QUEUE_MAX) {
            pthread_mutex_unlock(&mu);
            MHD_resume_connection(c);
            return MHD_YES;
        }
        if (queued++ == 0)
            pthread_cond_signal(&cv);
        queue[queued - 1] = c;
        pthread_mutex_unlock(&mu);
        return MHD_YES;
    }
    *con_cls = NULL;
    return MHD_queue_response(c, 204, empty);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: suspend MODE PORT\n");
        return 2;
    }
    mode = atoi(argv[1]);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)atoi(argv[2])),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    empty = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    pthread_t t;
    if (!empty || pthread_create(&t, NULL, resumer, NULL) != 0)
        return 1;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME, 0,
        NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(2 * sysconf(_SC_NPROCESSORS_ONLN)), MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "suspend: cannot listen on port %s\n", argv[2]);
        return 1;
    }
    pause();
    return 0;
}
