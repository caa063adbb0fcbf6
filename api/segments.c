/* /road-segments: per-cell road quality computed from observations by the
 * background aggregator (mongo/segments.c, mongo/aggregator.c). */
#include <limits.h>
#include <stdio.h>

#include "../core/geohash.h"
#include "../core/timefmt.h"
#include "../mongo/segments.h"
#include "handlers.h"
#include "http/input.h"
#include "http/problem.h"
#include "http/params.h"

static cJSON *segment_json(const mongo_segment_t *s) {
    char ts[CORE_ISO8601_LEN];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "geohash", s->cell);
    cJSON_AddNumberToObject(j, "count", (double)s->count);
    cJSON_AddNumberToObject(j, "quality_sum", s->quality_sum);
    cJSON_AddNumberToObject(j, "avg_quality", s->avg_quality);
    cJSON *c = cJSON_AddObjectToObject(j, "center");
    cJSON_AddNumberToObject(c, "latitude", s->latitude);
    cJSON_AddNumberToObject(c, "longitude", s->longitude);
    core_iso8601(s->updated_at_ms, ts);
    cJSON_AddStringToObject(j, "updated_at", ts);
    return j;
}

/* One road segment of a page. */
static void put_segment(core_jsonw_t *w, const void *item) {
    core_jsonw_take_tree(w, segment_json(item));
}

void api_segments_get(api_req_t *r) {
    const char *cell = api_param(r, 0);
    if (!core_geohash_valid(cell, MONGO_SEGMENT_PRECISION)) {
        api_problem(r, 400,
                    "a road segment is a geohash of %d characters from "
                    "0123456789bcdefghjkmnpqrstuvwxyz",
                    MONGO_SEGMENT_PRECISION);
        return;
    }
    mongo_segment_t s;
    const char *why = NULL;
    store_status_t st = mongo_segments_get(cell, &s, &why);
    if (st != STORE_OK) {
        char what[64];
        snprintf(what, sizeof what, "road segment %s", cell);
        api_problem_mongo_why(r, st, what, why);
        return;
    }
    api_reply_json(r, 200, segment_json(&s));
}

void api_segments_list(api_req_t *r) {
    mongo_segment_query_t q = {0};
    int min_count;
    if (!api_query_bbox(r, &q.has_bbox, &q.min_lon, &q.min_lat, &q.max_lon, &q.max_lat) ||
        !api_query_int(r, "min_count", 1, 1, INT_MAX, &min_count) ||
        !api_query_int(r, "limit", API_PAGE_DEFAULT, 1, API_PAGE_MAX, &q.limit))
        return;
    q.min_count = (long long)min_count;
    q.cursor = api_query(r, "cursor");
    if ((q.cursor || api_query_has(r, "cursor")) &&
        !core_geohash_valid(q.cursor, MONGO_SEGMENT_PRECISION)) {
        api_problem(r, 400, "query parameter 'cursor' is not a valid cursor");
        return;
    }
    mongo_segment_page_t page;
    store_status_t st = mongo_segments_find(&q, &page);
    if (st != STORE_OK) {
        api_problem_mongo(r, st, "the road segment list");
        return;
    }
    /* no total: counting the matches is a pass over all of them */
    api_reply_page(r, page.items, page.n, sizeof(mongo_segment_t), put_segment, -1,
                   page.next_cursor);
    mongo_segment_page_free(&page);
}
