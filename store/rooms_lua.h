/*
 * Lua shared by the scripts that keep a room alive (the join in
 * store/rooms.c, the send in store/messages.c). Private to store/: a script
 * that needs it starts with STORE_ROOMS_LUA. Every key it touches is in the
 * room's bucket.
 *
 * touch_room(participants, active, index, room, ends): the room lives until
 * `ends` (ms; `until` is a Lua keyword): its participants set expires then,
 * it is in rooms:active:{b}, and its score in rooms:expiry:{b} (index) is
 * `ends`. The participants' own indexes of rooms (user:{b}:<user>:rooms, in
 * their buckets) are the caller's, written before the script runs
 * (store_rooms_index_users).
 */
#ifndef STORE_ROOMS_LUA_H
#define STORE_ROOMS_LUA_H

#define STORE_ROOMS_LUA                                                                            \
    "local function touch_room(participants, active, index, room, ends)\n"                         \
    "  redis.call('PEXPIREAT', participants, ends)\n"                                              \
    "  redis.call('ZADD', active, 0, room)\n"                                                      \
    "  redis.call('ZADD', index, ends, room)\n"                                                    \
    "end\n"

#endif
