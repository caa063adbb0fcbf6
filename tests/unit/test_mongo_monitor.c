/* Unit tests for mongo/monitor.c: command names map to a fixed set of
 * operations (anything else is "other"), and what is recorded is what
 * api/metrics.c reads: the latency per operation and its failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../mongo/monitor.h"

static void names(void **state) {
    (void)state;
    const char *known[] = {"insert",        "find",      "getMore", "update",        "delete",
                           "findAndModify", "aggregate", "count",   "createIndexes", "ping"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        mongo_cmd_t c = mongo_cmd_of(known[i]);
        assert_int_not_equal(c, MONGO_CMD_OTHER);
        assert_string_equal(mongo_cmd_name(c), known[i]);
    }
    assert_int_equal(mongo_cmd_of("findandmodify"), MONGO_CMD_OTHER); /* names are exact */
    assert_int_equal(mongo_cmd_of("killCursors"), MONGO_CMD_OTHER);
    assert_int_equal(mongo_cmd_of(""), MONGO_CMD_OTHER);
    assert_int_equal(mongo_cmd_of(NULL), MONGO_CMD_OTHER);
    assert_string_equal(mongo_cmd_name(MONGO_CMD_OTHER), "other");
    assert_string_equal(mongo_cmd_name((mongo_cmd_t)99), "other");
}

static void recording(void **state) {
    (void)state;
    mongo_monitor_record(MONGO_CMD_FIND, 0.002, false);
    mongo_monitor_record(MONGO_CMD_FIND, 0.2, true);
    mongo_monitor_record((mongo_cmd_t)-3, 1, true); /* out of range: other */
    core_hist_read_t r;
    core_hist_read(mongo_monitor_latency(MONGO_CMD_FIND), &r);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.le[2], 1); /* <= 2.5 ms */
    assert_true(r.sum > 0.2019 && r.sum < 0.2021);
    assert_int_equal(mongo_monitor_failures(MONGO_CMD_FIND), 1);
    assert_int_equal(mongo_monitor_failures(MONGO_CMD_INSERT), 0);
    core_hist_read(mongo_monitor_latency(MONGO_CMD_OTHER), &r);
    assert_int_equal(r.count, 1);
    assert_int_equal(mongo_monitor_failures(MONGO_CMD_OTHER), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(recording),
    };
    return cmocka_run_group_tests_name("unit: mongo command monitor", tests, NULL, NULL);
}
