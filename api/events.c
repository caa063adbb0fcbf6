/*
 * GET /events; see events.h and README "Live events".
 *
 * The ring. The pump (store/events.c, its own thread) hands over each entry
 * of every bucket's stream; on_entry renders it once, as the SSE text a
 * subscriber receives ("id: ...\nevent: ...\ndata: {...}\n\n"), with the
 * fields topics match on, into the next slot of a ring of RING events
 * (sequence numbers count up for ever; slot = seq % RING). The ring also
 * keeps the position vector after its newest event: the id of an event is
 * that vector, so a subscriber that follows the ring has the same id at the
 * same event as every other. A rwlock guards it: the pump writes, the
 * loops read.
 *
 * The subscribers. Each is a connection of one event loop, answered with a
 * callback response (MHD_create_response_from_callback). libmicrohttpd
 * calls reader() when it can send: it copies what the subscriber has to
 * send (its prelude or replay, then the ring events after its position
 * that its topics match, then a ping when it has been quiet PING_MS) and,
 * with nothing to send, suspends the connection from inside the reader (the
 * one place besides the access handler where libmicrohttpd allows it) and
 * returns 0. After each batch the pump posts a wake to every loop with
 * subscribers (one post per loop, coalesced); on_wake looks at the new
 * events for each suspended subscriber of its loop: one that has something
 * is resumed, the others just move their position. A subscriber whose
 * client does not read stays resumed with libmicrohttpd's buffer full; once
 * it is more than EVENTS_MAX_LAG events behind the ring (or the ring has
 * overwritten its position) its socket is shut down, and only it is
 * dropped. Every loop keeps its subscribers in order of their last write,
 * so the pings due are at the head of the list.
 *
 * Resuming (Last-Event-ID). The handler runs on a coroutine: it takes the
 * ring's head and vector, checks in Redis that every bucket still holds
 * what came after the client's position (XINFO STREAM), reads those
 * entries (XRANGE up to the vector), renders the ones the topics match,
 * and starts the subscriber at that head: no gap, no duplicate. An id ahead
 * of this instance (another instance's pump was further on) becomes a floor
 * below which ring events are skipped.
 */
#define _GNU_SOURCE
#include "events.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../core/evloop.h"
#include "../core/ids.h"
#include "../core/log.h"
#include "../core/timefmt.h"
#include "../store/friends.h"
#include "handlers.h"
#include "http/loop.h"
#include "http/problem.h"
#include "http/request.h"

#define RING 4096              /* events kept for the loops */
#define PING_MS 15000          /* a comment line after this much quiet */
#define RETRY_MS 2000          /* the reconnection delay advised (retry:) */
#define REPLAY_PER_BUCKET 1000 /* events one reconnect may replay per bucket */
#define MAX_TOPICS 16
#define SNDBUF (64 * 1024) /* kernel send buffer of a subscriber's socket */
/* The callback response's own buffer: libmicrohttpd 0.9.75 allocates it with
 * each response (calloc) but never uses it for a chunked body, whose chunks
 * are read straight into the connection's write buffer: 4 kB there were 4 kB
 * per subscriber for nothing. */
#define READER_BLOCK 32

/* Classes of events, by the part of their type before the dot. */
enum {
    C_CLIENT = 1 << 0,
    C_PRESENCE = 1 << 1,
    C_ROOM = 1 << 2,
    C_MESSAGE = 1 << 3,
    C_TYPING = 1 << 4,
    C_NOTIFICATION = 1 << 5,
    C_SESSION = 1 << 6,
    C_FRIENDS = 1 << 7,
};

typedef struct {
    uint64_t seq;
    int bucket;
    store_event_pos_t pos;
    unsigned cls;
    bool user_presence;               /* presence.online/offline: what friends:<id> carries */
    const char *user, *room, *client; /* "" when the event has none */
    int nfriends;                     /* friends.changed: the new list */
    const char **friends;
    int64_t friends_exp;
    char *frame; /* the SSE text; owns the block the pointers above point into */
    size_t len;
} ring_ev_t;

static struct {
    pthread_rwlock_t lock;
    ring_ev_t ev[RING];
    uint64_t head;         /* the next seq */
    store_event_vec_t vec; /* after the event head - 1 */
} ring = {.lock = PTHREAD_RWLOCK_INITIALIZER};

typedef struct {
    unsigned cls; /* events of these classes ... */
    enum { BY_NONE, BY_USER, BY_ROOM, BY_CLIENT, BY_FRIENDS } by;
    const char *id; /* ... whose user, room or client is id */
} topic_t;

typedef struct loopstate loopstate_t;

typedef struct sub {
    struct sub *prev, *next;   /* the loop's list, oldest write first */
    struct sub *older, *newer; /* the loop's list by age, when streams end (max_stream_ms) */
    int64_t end_ms;            /* when it ends, with max_stream_ms (monotonic) */
    loopstate_t *home;
    struct MHD_Connection *conn;
    uint64_t pos;    /* the next ring event to look at */
    int64_t last_ms; /* last write (monotonic) */
    char *out;       /* to send before anything else: prelude, replay, a cut frame */
    size_t out_len, out_off;
    topic_t *topics; /* NULL: every event */
    int ntopics;
    char *topic_text; /* the topics' ids point into it */
    const char *friends_of;
    char **friends; /* sorted */
    int nfriends;
    int64_t friends_exp;
    store_event_vec_t *floor; /* skip ring events at or before it (NULL: none) */
    bool suspended, draining, shutdown_sent, drop, ping_due;
} sub_t;

struct loopstate {
    core_evloop_t *ev;
    sub_t *head, *tail;
    sub_t *oldest, *newest; /* by age: the next to end first (max_stream_ms) */
    atomic_bool wake_pending;
    atomic_bool drain_pending;
};

static pthread_mutex_t loops_lock = PTHREAD_MUTEX_INITIALIZER;
static loopstate_t *loops[1024];
static int nloops;
static _Thread_local loopstate_t *here;

static atomic_long subscribers;
static atomic_ulong dropped, delivered;
static atomic_bool draining, started;
static int max_lag = 1024;
static int64_t max_stream_ms; /* EVENTS_MAX_STREAM_S; 0: streams never end */

long api_events_subscribers(void) { return atomic_load(&subscribers); }
unsigned long api_events_dropped(void) { return atomic_load(&dropped); }
unsigned long api_events_delivered(void) { return atomic_load(&delivered); }

/* ---- ids ---- */

static size_t put36(char *out, uint64_t v) {
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* "<T>" then ".<field>" per bucket: T the newest ms in base 36, a field
 * empty for a bucket at {0,0}, else T minus its ms in base 36, and "_" and
 * its sequence number when that is not 0. */
size_t api_events_id_format(const store_event_vec_t *v, char *out, size_t cap) {
    if (cap < API_EVENTS_ID_MAX)
        return 0;
    uint64_t top = 0;
    for (int b = 0; b < STORE_BUCKETS; b++)
        if (v->at[b].ms > top)
            top = v->at[b].ms;
    size_t n = put36(out, top);
    for (int b = 0; b < STORE_BUCKETS; b++) {
        out[n++] = '.';
        if (!v->at[b].ms && !v->at[b].seq)
            continue;
        n += put36(out + n, top - v->at[b].ms);
        if (v->at[b].seq) {
            out[n++] = '_';
            n += put36(out + n, v->at[b].seq);
        }
    }
    out[n] = '\0';
    return n;
}

static bool get36(const char **p, uint64_t *v) {
    const char *s = *p;
    uint64_t x = 0;
    int digits = 0;
    for (; (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z'); s++, digits++) {
        if (digits == 13)
            return false;
        x = x * 36 + (uint64_t)(*s <= '9' ? *s - '0' : *s - 'a' + 10);
    }
    *p = s;
    *v = x;
    return digits > 0;
}

bool api_events_id_parse(const char *s, store_event_vec_t *out) {
    uint64_t top;
    if (!s || !get36(&s, &top))
        return false;
    for (int b = 0; b < STORE_BUCKETS; b++) {
        if (*s++ != '.')
            return false;
        out->at[b] = (store_event_pos_t){0, 0};
        if (*s == '.' || !*s)
            continue;
        uint64_t d, seq = 0;
        if (!get36(&s, &d) || d > top)
            return false;
        if (*s == '_' && (++s, !get36(&s, &seq)))
            return false;
        out->at[b] = (store_event_pos_t){top - d, seq};
        if (!out->at[b].ms && !seq)
            return false; /* {0,0} is written as an empty field */
    }
    return *s == '\0';
}

/* ---- rendering (the pump's thread, and replays) ---- */

typedef struct {
    unsigned cls;
    bool user_presence;
    char user[CORE_ID_MAX + 1], room[CORE_ID_MAX + 1], client[CORE_ID_MAX + 1];
    cJSON *friends; /* friends.changed: the array (owned by the parsed tree) */
    int64_t friends_exp;
} fields_t;

static unsigned class_of(const char *type, size_t len) {
    static const struct {
        const char *prefix;
        unsigned cls;
    } classes[] = {{"client.", C_CLIENT},
                   {"presence.", C_PRESENCE},
                   {"room.", C_ROOM},
                   {"message.", C_ROOM | C_MESSAGE},
                   {"typing.", C_ROOM | C_TYPING},
                   {"notification.", C_NOTIFICATION},
                   {"session.", C_SESSION},
                   {"friends.", C_FRIENDS}};
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        size_t n = strlen(classes[i].prefix);
        if (len > n && memcmp(type, classes[i].prefix, n) == 0)
            return classes[i].cls;
    }
    return 0;
}

static void copy_id(const cJSON *o, const char *name, char *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    out[0] = '\0';
    if (cJSON_IsString(v) && core_id_valid(v->valuestring))
        snprintf(out, CORE_ID_MAX + 1, "%s", v->valuestring);
}

/* The SSE text of ev with id (NULL: none) and what topics match on; NULL
 * when ev cannot be one (not an object, a line break in its text). *tree
 * is the parsed data, which the caller frees. */
static char *render(const store_event_t *ev, const char *id, fields_t *f, cJSON **tree,
                    size_t *len) {
    memset(f, 0, sizeof *f);
    *tree = NULL;
    f->cls = class_of(ev->type, ev->type_len);
    if (!f->cls || ev->data_len < 2 || ev->data[0] != '{' || memchr(ev->data, '\n', ev->data_len) ||
        memchr(ev->data, '\r', ev->data_len) || memchr(ev->type, '\n', ev->type_len) ||
        memchr(ev->type, '\r', ev->type_len))
        return NULL;
    cJSON *o = *tree = cJSON_ParseWithLength(ev->data, ev->data_len);
    if (!cJSON_IsObject(o))
        return NULL;
    copy_id(o, "user_id", f->user);
    if (!f->user[0])
        copy_id(o, "sender_id", f->user);
    copy_id(o, "room_id", f->room);
    copy_id(o, "client_id", f->client);
    f->user_presence = f->cls == C_PRESENCE && (ev->type_len == 15 || ev->type_len == 16) &&
                       (memcmp(ev->type, "presence.online", 15) == 0 ||
                        memcmp(ev->type, "presence.offline", 16) == 0);
    if (f->cls == C_FRIENDS) {
        f->friends = cJSON_GetObjectItemCaseSensitive(o, "friends");
        const cJSON *exp = cJSON_GetObjectItemCaseSensitive(o, "expires_at");
        f->friends_exp = cJSON_IsNumber(exp) ? (int64_t)exp->valuedouble : 0;
        if (!cJSON_IsArray(f->friends))
            f->friends = NULL;
    }
    char when[CORE_ISO8601_LEN];
    core_iso8601((int64_t)ev->pos.ms, when);
    size_t cap = ev->data_len + ev->type_len * 2 + (id ? strlen(id) : 0) + 96;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    int n =
        snprintf(s, cap, "%s%s%sevent: %.*s\ndata: {\"type\":\"%.*s\",\"time\":\"%s\"%s%.*s\n\n",
                 id ? "id: " : "", id ? id : "", id ? "\n" : "", (int)ev->type_len, ev->type,
                 (int)ev->type_len, ev->type, when, ev->data_len > 2 ? "," : "",
                 (int)(ev->data_len - 1), ev->data + 1);
    *len = (size_t)n;
    return s;
}

static void ring_free(ring_ev_t *e) {
    free(e->frame);
    memset(e, 0, sizeof *e);
}

/* Moves what f points to into one block after the frame: e's strings. */
static bool ring_fill(ring_ev_t *e, char *frame, size_t len, const fields_t *f) {
    int nf = f->friends ? cJSON_GetArraySize(f->friends) : 0;
    /* the friends' pointers first, aligned for a pointer: the frame's length is any */
    size_t at = (len + 1 + sizeof(char *) - 1) / sizeof(char *) * sizeof(char *);
    size_t need = at + strlen(f->user) + strlen(f->room) + strlen(f->client) + 3 +
                  (size_t)nf * (CORE_ID_MAX + 1 + sizeof(char *));
    char *block = realloc(frame, need);
    if (!block)
        return false;
    char *p = block + at;
    e->friends = (const char **)(void *)p;
    p += (size_t)nf * sizeof(char *);
    e->nfriends = 0;
    for (int i = 0; i < nf; i++) {
        const cJSON *v = cJSON_GetArrayItem(f->friends, i);
        if (!cJSON_IsString(v) || !core_id_valid(v->valuestring))
            continue;
        e->friends[e->nfriends++] = p;
        p = stpcpy(p, v->valuestring) + 1;
    }
    e->user = p;
    p = stpcpy(p, f->user) + 1;
    e->room = p;
    p = stpcpy(p, f->room) + 1;
    e->client = p;
    stpcpy(p, f->client);
    e->frame = block;
    e->len = len;
    e->cls = f->cls;
    e->user_presence = f->user_presence;
    e->friends_exp = f->friends_exp;
    return true;
}

/* The pump's callback: one entry into the ring. */
static void on_entry(const store_event_t *ev, void *arg) {
    (void)arg;
    pthread_rwlock_wrlock(&ring.lock);
    store_event_vec_t vec = ring.vec;
    vec.at[ev->bucket] = ev->pos;
    char id[API_EVENTS_ID_MAX];
    api_events_id_format(&vec, id, sizeof id);
    fields_t f;
    cJSON *tree;
    size_t len = 0;
    char *frame = render(ev, id, &f, &tree, &len);
    ring.vec = vec; /* the position moves on even past an entry that is no event */
    if (frame) {
        ring_ev_t *e = &ring.ev[ring.head % RING];
        ring_free(e);
        if (ring_fill(e, frame, len, &f)) {
            e->seq = ring.head++;
            e->bucket = ev->bucket;
            e->pos = ev->pos;
        } else {
            free(frame);
        }
    }
    pthread_rwlock_unlock(&ring.lock);
    cJSON_Delete(tree);
}

static void on_wake(void *arg);

/* The ring's vector takes each position the pump knows that is further on
 * (the ends of streams it learnt, besides those of the entries). */
static void merge_positions(void) {
    store_event_vec_t p;
    store_events_positions(&p);
    pthread_rwlock_wrlock(&ring.lock);
    for (int b = 0; b < STORE_BUCKETS; b++)
        if (store_event_pos_cmp(p.at[b], ring.vec.at[b]) > 0)
            ring.vec.at[b] = p.at[b];
    pthread_rwlock_unlock(&ring.lock);
}

/* After each batch: wake every loop that has subscribers, once. */
static void on_batch(void *arg) {
    (void)arg;
    merge_positions();
    pthread_mutex_lock(&loops_lock);
    for (int i = 0; i < nloops; i++) {
        loopstate_t *ls = loops[i];
        if (ls->head && !atomic_exchange(&ls->wake_pending, true))
            core_evloop_post(ls->ev, on_wake, ls);
    }
    pthread_mutex_unlock(&loops_lock);
}

/* ---- topics ---- */

static bool has_friend(const sub_t *s, const char *user) {
    int lo = 0, hi = s->nfriends - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(s->friends[mid], user);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return false;
}

static bool topic_match(const sub_t *s, const topic_t *t, const ring_ev_t *e) {
    if (t->by == BY_FRIENDS) {
        if (e->cls == C_FRIENDS)
            return strcmp(e->user, t->id) == 0;
        return e->user_presence && has_friend(s, e->user) &&
               (!s->friends_exp || s->friends_exp > core_now_ms());
    }
    if (!(e->cls & t->cls))
        return false;
    switch (t->by) {
    case BY_USER: return strcmp(e->user, t->id) == 0;
    case BY_ROOM: return strcmp(e->room, t->id) == 0;
    case BY_CLIENT: return strcmp(e->client, t->id) == 0;
    default: return true;
    }
}

static bool matches(const sub_t *s, const ring_ev_t *e) {
    if (s->floor && store_event_pos_cmp(e->pos, s->floor->at[e->bucket]) <= 0)
        return false;
    if (s->ntopics == 0)
        return true;
    for (int i = 0; i < s->ntopics; i++)
        if (topic_match(s, &s->topics[i], e))
            return true;
    return false;
}

static void friends_free(sub_t *s) {
    for (int i = 0; i < s->nfriends; i++)
        free(s->friends[i]);
    free(s->friends);
    s->friends = NULL;
    s->nfriends = 0;
}

static int by_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Takes the list of a friends.changed of the user whose friends s follows. */
static void friends_take(sub_t *s, int n, const char *const *ids, int64_t exp) {
    friends_free(s);
    s->friends = calloc((size_t)(n > 0 ? n : 1), sizeof *s->friends);
    for (int i = 0; s->friends && i < n; i++)
        if ((s->friends[s->nfriends] = strdup(ids[i])))
            s->nfriends++;
    qsort(s->friends, (size_t)s->nfriends, sizeof *s->friends, by_str);
    s->friends_exp = exp;
}

static void follow_friends(sub_t *s, const ring_ev_t *e) {
    if (s->friends_of && e->cls == C_FRIENDS && strcmp(e->user, s->friends_of) == 0)
        friends_take(s, e->nfriends, e->friends, e->friends_exp);
}

/* The topics of ?topics=a,b (NULL: every event) into s; false with why. */
static bool parse_topics(sub_t *s, const char *text, const char **why) {
    static const struct {
        const char *name;
        unsigned cls;
        int by; /* BY_NONE: no id; else the id after ':' is required */
    } names[] = {
        {"clients", C_CLIENT, BY_NONE},
        {"client", C_CLIENT, BY_CLIENT},
        {"presence", C_PRESENCE, BY_NONE},
        {"user", ~0u, BY_USER},
        {"rooms", C_ROOM, BY_NONE},
        {"room", C_ROOM, BY_ROOM},
        {"messages", C_MESSAGE, BY_NONE},
        {"typing", C_TYPING, BY_NONE},
        {"notifications", C_NOTIFICATION, BY_NONE},
        {"notifications", C_NOTIFICATION, BY_USER},
        {"sessions", C_SESSION, BY_NONE},
        {"friends", C_PRESENCE | C_FRIENDS, BY_FRIENDS},
    };
    if (!text)
        return true;
    if (!(s->topic_text = strdup(text)) || !(s->topics = calloc(MAX_TOPICS, sizeof *s->topics))) {
        *why = "out of memory";
        return false;
    }
    for (char *t = s->topic_text, *next; t; t = next) { /* "a,,b": an empty one, refused */
        if ((next = strchr(t, ',')))
            *next++ = '\0';
        char *colon = strchr(t, ':');
        if (colon)
            *colon++ = '\0';
        size_t i = 0;
        for (; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(names[i].name, t) == 0 && (names[i].by != BY_NONE) == (colon != NULL))
                break;
        if (i == sizeof names / sizeof names[0] || (colon && !core_id_valid(colon))) {
            *why =
                "a topic is one of clients, client:<id>, presence, user:<id>, rooms, "
                "room:<id>, messages, typing, notifications, notifications:<userId>, "
                "sessions, friends:<userId> (ids as everywhere)";
            return false;
        }
        if (s->ntopics == MAX_TOPICS || (names[i].by == BY_FRIENDS && s->friends_of)) {
            *why = "at most 16 topics, and one friends:<userId>";
            return false;
        }
        s->topics[s->ntopics++] = (topic_t){names[i].cls, names[i].by, colon};
        if (names[i].by == BY_FRIENDS)
            s->friends_of = colon;
    }
    if (s->ntopics == 0) {
        *why = "topics names none";
        return false;
    }
    return true;
}

/* ---- the subscriber's buffer ---- */

static bool out_add(sub_t *s, const char *text, size_t len) {
    char *b = realloc(s->out, s->out_len + len);
    if (!b)
        return false;
    memcpy(b + s->out_len, text, len);
    s->out = b;
    s->out_len += len;
    return true;
}

static size_t out_take(sub_t *s, char *buf, size_t max) {
    size_t n = s->out_len - s->out_off;
    if (n > max)
        n = max;
    memcpy(buf, s->out + s->out_off, n);
    s->out_off += n;
    if (s->out_off == s->out_len) {
        free(s->out);
        s->out = NULL;
        s->out_len = s->out_off = 0;
    }
    return n;
}

/* ---- the loops ---- */

static void list_remove(sub_t *s) {
    loopstate_t *ls = s->home;
    if (s->prev)
        s->prev->next = s->next;
    else if (ls->head == s)
        ls->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else if (ls->tail == s)
        ls->tail = s->prev;
    s->prev = s->next = NULL;
}

static void list_append(sub_t *s) {
    loopstate_t *ls = s->home;
    s->prev = ls->tail;
    s->next = NULL;
    if (ls->tail)
        ls->tail->next = s;
    else
        ls->head = s;
    ls->tail = s;
}

/* The age list: streams end in the order they began (all last as long). */
static void age_append(sub_t *s) {
    loopstate_t *ls = s->home;
    s->older = ls->newest;
    s->newer = NULL;
    if (ls->newest)
        ls->newest->newer = s;
    else
        ls->oldest = s;
    ls->newest = s;
}

static void age_remove(sub_t *s) {
    loopstate_t *ls = s->home;
    if (s->older)
        s->older->newer = s->newer;
    else if (ls->oldest == s)
        ls->oldest = s->newer;
    if (s->newer)
        s->newer->older = s->older;
    else if (ls->newest == s)
        ls->newest = s->older;
    s->older = s->newer = NULL;
}

static void resume(sub_t *s) {
    if (!s->suspended)
        return;
    s->suspended = false;
    MHD_resume_connection(s->conn);
    api_loop_resumed();
}

/* Marks s dropped (counted once); true the first time. */
static bool mark_drop(sub_t *s) {
    if (s->drop)
        return false;
    s->drop = true;
    atomic_fetch_add(&dropped, 1);
    return true;
}

static void drop(sub_t *s) {
    if (!mark_drop(s))
        return;
    if (s->suspended) {
        resume(s); /* the reader ends it */
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci)
        shutdown(ci->connect_fd, SHUT_RDWR); /* libmicrohttpd sees the end and closes it */
}

/* The new events for each subscriber of the loop (ring read-locked). */
static void on_wake(void *arg) {
    loopstate_t *ls = arg;
    atomic_store(&ls->wake_pending, false);
    pthread_rwlock_rdlock(&ring.lock);
    uint64_t head = ring.head, tail = head > RING ? head - RING : 0;
    for (sub_t *s = ls->head, *next; s; s = next) {
        next = s->next;
        if (!s->suspended) {
            if (s->pos < tail || head - s->pos > (uint64_t)max_lag)
                drop(s); /* its client does not read */
            continue;
        }
        if (s->pos < tail) {
            drop(s);
            continue;
        }
        for (; s->pos < head; s->pos++) {
            const ring_ev_t *e = &ring.ev[s->pos % RING];
            if (matches(s, e)) {
                resume(s);
                break;
            }
            follow_friends(s, e);
        }
    }
    pthread_rwlock_unlock(&ring.lock);
}

static void on_drain(void *arg) {
    loopstate_t *ls = arg;
    atomic_store(&ls->drain_pending, false);
    for (sub_t *s = ls->head; s; s = s->next) {
        s->draining = true;
        resume(s);
    }
}

/* Each turn: the streams past their end get their final event (as on a
 * drain), and the subscribers quiet for PING_MS get a ping. */
static int on_turn(void *arg) {
    loopstate_t *ls = arg;
    int64_t now = core_mono_ms();
    bool resumed = false;
    while (ls->oldest && ls->oldest->end_ms <= now) {
        sub_t *s = ls->oldest;
        age_remove(s);
        s->draining = true;
        resumed |= s->suspended;
        resume(s);
    }
    while (ls->head && ls->head->last_ms + PING_MS <= now) {
        sub_t *s = ls->head;
        list_remove(s);
        s->last_ms = now; /* a busy one is writing already: no ping */
        s->ping_due = s->suspended;
        list_append(s);
        resumed |= s->suspended;
        resume(s);
    }
    if (resumed)
        return 0;
    int64_t wait = ls->head ? ls->head->last_ms + PING_MS - now : -1;
    if (ls->oldest && (wait < 0 || ls->oldest->end_ms - now < wait))
        wait = ls->oldest->end_ms - now;
    return (int)wait;
}

static loopstate_t *loop_here(void) {
    if (here)
        return here;
    core_evloop_t *ev = core_evloop_current();
    loopstate_t *ls = ev ? calloc(1, sizeof *ls) : NULL;
    if (!ls)
        return NULL;
    ls->ev = ev;
    pthread_mutex_lock(&loops_lock);
    bool ok =
        nloops < (int)(sizeof loops / sizeof loops[0]) && core_evloop_on_turn(ev, on_turn, ls);
    if (ok)
        loops[nloops++] = ls;
    pthread_mutex_unlock(&loops_lock);
    if (!ok) {
        free(ls);
        return NULL;
    }
    return here = ls;
}

/* ---- the response ---- */

static const char shutdown_frame[] =
    "event: shutdown\ndata: {\"type\":\"shutdown\",\"retry_ms\":"
    "2000}\n\n";

/* Copies the ring events s has to send into buf (max bytes); a frame that
 * does not fit whole is cut, its rest kept in s->out. */
static size_t from_ring(sub_t *s, char *buf, size_t max) {
    size_t n = 0;
    unsigned long sent = 0;
    pthread_rwlock_rdlock(&ring.lock);
    uint64_t head = ring.head, tail = head > RING ? head - RING : 0;
    if (s->pos < tail)
        mark_drop(s);
    for (; !s->drop && s->pos < head && n < max && !s->out; s->pos++) {
        const ring_ev_t *e = &ring.ev[s->pos % RING];
        follow_friends(s, e);
        if (!matches(s, e))
            continue;
        size_t take = e->len < max - n ? e->len : max - n;
        memcpy(buf + n, e->frame, take);
        n += take;
        sent++;
        if (take < e->len && !out_add(s, e->frame + take, e->len - take))
            mark_drop(s);
    }
    pthread_rwlock_unlock(&ring.lock);
    atomic_fetch_add(&delivered, sent);
    return n;
}

static ssize_t reader(void *cls, uint64_t at, char *buf, size_t max) {
    (void)at;
    sub_t *s = cls;
    size_t n = s->out ? out_take(s, buf, max) : 0;
    if (s->drop)
        return n ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
    if (s->draining && !s->out) {
        if (s->shutdown_sent)
            return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
        if (n + sizeof shutdown_frame - 1 > max)
            return (ssize_t)n;
        memcpy(buf + n, shutdown_frame, sizeof shutdown_frame - 1);
        s->shutdown_sent = true;
        return (ssize_t)(n + sizeof shutdown_frame - 1);
    }
    if (!s->out)
        n += from_ring(s, buf + n, max - n);
    if (s->drop)
        return n ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
    int64_t now = core_mono_ms();
    if (n == 0 && (s->ping_due || now - s->last_ms >= PING_MS) && max >= 8) {
        memcpy(buf, ": ping\n\n", 8);
        n = 8;
    }
    s->ping_due = false;
    if (n == 0) {
        s->suspended = true;
        MHD_suspend_connection(s->conn);
        return 0;
    }
    s->last_ms = now;
    list_remove(s);
    list_append(s);
    return (ssize_t)n;
}

static void sub_free(void *cls) {
    sub_t *s = cls;
    if (s->home) {
        list_remove(s);
        age_remove(s);
    }
    friends_free(s);
    free(s->floor);
    free(s->out);
    free(s->topic_text);
    free(s->topics);
    free(s);
    atomic_fetch_sub(&subscribers, 1);
}

/* ---- the handler ---- */

typedef struct {
    sub_t *s;
    store_event_vec_t vec;
    int replayed;
} replay_t;

static void on_replayed(const store_event_t *ev, void *arg) {
    replay_t *rp = arg;
    rp->vec.at[ev->bucket] = ev->pos;
    char id[API_EVENTS_ID_MAX];
    api_events_id_format(&rp->vec, id, sizeof id);
    fields_t f;
    cJSON *tree;
    size_t len = 0;
    char *frame = render(ev, id, &f, &tree, &len);
    ring_ev_t e = {.bucket = ev->bucket, .pos = ev->pos};
    if (frame && ring_fill(&e, frame, len, &f)) {
        follow_friends(rp->s, &e);
        if (matches(rp->s, &e) && out_add(rp->s, e.frame, e.len))
            rp->replayed++;
        free(e.frame);
    } else {
        free(frame);
    }
    cJSON_Delete(tree);
}

static void add_reset(sub_t *s, const store_event_vec_t *at, const char *why) {
    char id[API_EVENTS_ID_MAX], frame[API_EVENTS_ID_MAX + 256];
    api_events_id_format(at, id, sizeof id);
    int n =
        snprintf(frame, sizeof frame,
                 "id: %s\nevent: reset\ndata: {\"type\":\"reset\",\"reason\":\"%s\"}\n\n", id, why);
    out_add(s, frame, (size_t)n);
}

/* The replay after the client's last id: every event of (from, upto] the
 * topics match, or a reset when that is not all in Redis any more. */
static store_status_t replay(sub_t *s, const store_event_vec_t *from,
                             const store_event_vec_t *upto) {
    store_event_vec_t lo = *from;
    bool ahead = false;
    for (int b = 0; b < STORE_BUCKETS; b++)
        if (store_event_pos_cmp(from->at[b], upto->at[b]) > 0)
            ahead = true;
    if (ahead && (s->floor = malloc(sizeof *s->floor)))
        *s->floor = *from; /* this instance is behind the one that gave the id */
    store_events_kept_t kept[STORE_BUCKETS];
    store_status_t st = store_events_check(&lo, upto, kept);
    for (int b = 0; st == STORE_OK && b < STORE_BUCKETS; b++)
        if (kept[b] == STORE_EVENTS_LOST) {
            add_reset(s, upto, "retention");
            return STORE_OK;
        }
    replay_t rp = {.s = s, .vec = lo};
    bool more = false;
    if (st == STORE_OK)
        st = store_events_range(&lo, upto, REPLAY_PER_BUCKET, on_replayed, &rp, &more);
    if (st == STORE_OK && more) {
        free(s->out);
        s->out = NULL;
        s->out_len = s->out_off = 0;
        add_reset(s, upto, "too_many");
    }
    return st;
}

static bool sse_headers(struct MHD_Response *resp) {
    return MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream") ==
               MHD_YES &&
           MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES &&
           MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES &&
           MHD_add_response_header(resp, "X-Accel-Buffering", "no") == MHD_YES;
}

static void start_stream(api_req_t *r, sub_t *s) {
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, READER_BLOCK, reader, s, sub_free);
    if (!resp || !sse_headers(resp)) {
        if (resp)
            MHD_destroy_response(resp); /* frees s */
        else
            sub_free(s);
        api_problem(r, 503, "out of memory: try again");
        return;
    }
    s->conn = r->conn;
    s->last_ms = core_mono_ms();
    list_append(s);
    if (max_stream_ms > 0) {
        s->end_ms = s->last_ms + max_stream_ms;
        age_append(s);
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    int sndbuf = SNDBUF;
    if (ci)
        setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    api_reply(r, 200, resp);
}

void api_events_get(api_req_t *r) {
    if (r->method == API_HEAD) { /* the headers a GET would have, no stream */
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (resp && sse_headers(resp))
            api_reply(r, 200, resp);
        else if (resp)
            MHD_destroy_response(resp);
        return;
    }
    loopstate_t *ls = loop_here();
    if (!ls || !r->conn) {
        api_problem(r, 503, "the event stream is served by the event loops only");
        return;
    }
    if (atomic_load(&draining)) {
        api_problem(r, 503, "this instance is shutting down: connect to another");
        api_reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return;
    }
    const char *last = api_header(r, "Last-Event-ID");
    if (!last)
        last = api_query(r, "last_event_id");
    sub_t *s = calloc(1, sizeof *s);
    if (!s) {
        api_problem(r, 503, "out of memory: try again");
        return;
    }
    atomic_fetch_add(&subscribers, 1);
    s->home = ls;
    const char *why = NULL;
    if (!parse_topics(s, api_query(r, "topics"), &why)) {
        sub_free(s);
        api_problem(r, 400, "query parameter 'topics': %s", why);
        return;
    }
    store_event_vec_t known;
    if (!atomic_load(&started) || !store_events_positions(&known)) {
        sub_free(s);
        api_problem(r, 503, "the event streams are not readable yet (Redis)");
        api_reply_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
        return;
    }
    pthread_rwlock_rdlock(&ring.lock);
    s->pos = ring.head;
    store_event_vec_t upto = ring.vec;
    pthread_rwlock_unlock(&ring.lock);
    char text[64];
    int n = snprintf(text, sizeof text, "retry: %d\n\n", RETRY_MS);
    out_add(s, text, (size_t)n);
    store_status_t st = STORE_OK;
    if (s->friends_of) {
        store_friends_t f;
        st = store_friends_get(s->friends_of, &f);
        if (st == STORE_OK) {
            const char **p = calloc((size_t)(f.n > 0 ? f.n : 1), sizeof *p);
            for (int i = 0; p && i < f.n; i++)
                p[i] = f.ids[i];
            friends_take(s, p ? f.n : 0, p, f.expires_at_ms);
            free(p);
            store_friends_free(&f);
        }
    }
    store_event_vec_t from;
    if (st == STORE_OK && last) {
        if (api_events_id_parse(last, &from))
            st = replay(s, &from, &upto);
        else
            add_reset(s, &upto, "unknown_id");
    }
    if (st != STORE_OK) {
        sub_free(s);
        api_problem_store(r, st, "the event streams");
        return;
    }
    start_stream(r, s);
}

/* ---- start and stop ---- */

bool api_events_start(const config_t *cfg) {
    max_lag = cfg->events_max_lag < RING / 2 ? cfg->events_max_lag : RING / 2;
    max_stream_ms = (int64_t)cfg->events_max_stream_s * 1000;
    store_events_configure(cfg->events_retain_per_bucket, cfg->redis_timeout_ms);
    if (!store_events_start(on_entry, on_batch, NULL, NULL)) {
        log_event(LOG_ERROR, "cannot start the event pump thread");
        return false;
    }
    merge_positions();
    atomic_store(&started, true);
    return true;
}

void api_events_drain(void) {
    atomic_store(&draining, true);
    pthread_mutex_lock(&loops_lock);
    for (int i = 0; i < nloops; i++)
        if (!atomic_exchange(&loops[i]->drain_pending, true))
            core_evloop_post(loops[i]->ev, on_drain, loops[i]);
    pthread_mutex_unlock(&loops_lock);
}

void api_events_stop(void) {
    store_events_stop();
    atomic_store(&started, false);
    pthread_rwlock_wrlock(&ring.lock);
    for (int i = 0; i < RING; i++)
        ring_free(&ring.ev[i]);
    pthread_rwlock_unlock(&ring.lock);
}
