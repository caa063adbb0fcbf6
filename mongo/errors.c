/* MongoDB errors, classified; see errors.h. */
#include "errors.h"

bool mongo_error_duplicate(uint32_t code) { return code == 11000 || code == 11001; }

bool mongo_error_of_connection(const bson_error_t *e) {
    return e->domain == MONGOC_ERROR_STREAM || e->domain == MONGOC_ERROR_PROTOCOL;
}

bool mongo_error_unconfirmed(const bson_error_t *e) {
    return mongo_error_of_connection(e) && e->code != MONGOC_ERROR_STREAM_CONNECT &&
           e->code != MONGOC_ERROR_STREAM_NAME_RESOLUTION &&
           e->code != MONGOC_ERROR_STREAM_NOT_ESTABLISHED;
}
