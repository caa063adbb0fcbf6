/*
 * Lua shared by the scripts that read rooms or keep them alive
 * (store/rooms.c, and the send in store/messages.c). Private to store/: a
 * script that needs these functions starts with STORE_ROOMS_LUA.
 *
 * online(index, user, now): the one truth of "connected". True while the
 * user's expiry in online_users (index) is after now (ms): exactly whom
 * store/presence.c lists and counts as online, and whom a send does not
 * queue offline messages for. No key of its own says who of a room's
 * participants is connected, so when presence ends (DELETE, or its TTL
 * running out with no call at all) every answer changes at the same moment.
 *
 * count_online(index, users, now): how many of users are online().
 *
 * touch_room(participants, active, index, room, ends, head, tail): the
 * room lives until `ends` (ms; `until` is a Lua keyword): its participants
 * set expires then, it is in rooms:active, its score in rooms:expiry (index)
 * is `ends`, and the rooms set of each participant (head .. user .. tail)
 * expires no earlier, so a user's list of rooms outlives every room in it.
 * Returns the participants.
 */
#ifndef STORE_ROOMS_LUA_H
#define STORE_ROOMS_LUA_H

#define STORE_ROOMS_LUA                                                                            \
    "local function online(index, user, now)\n"                                                    \
    "  local s = redis.call('ZSCORE', index, user)\n"                                              \
    "  return s ~= false and tonumber(s) > tonumber(now)\n"                                        \
    "end\n"                                                                                        \
    "local function count_online(index, users, now)\n"                                             \
    "  local n = 0\n"                                                                              \
    "  for _, u in ipairs(users) do\n"                                                             \
    "    if online(index, u, now) then n = n + 1 end\n"                                            \
    "  end\n"                                                                                      \
    "  return n\n"                                                                                 \
    "end\n"                                                                                        \
    "local function touch_room(participants, active, index, room, ends, head, tail)\n"             \
    "  redis.call('PEXPIREAT', participants, ends)\n"                                              \
    "  redis.call('ZADD', active, 0, room)\n"                                                      \
    "  redis.call('ZADD', index, ends, room)\n"                                                    \
    "  local ps = redis.call('SMEMBERS', participants)\n"                                          \
    "  for _, p in ipairs(ps) do redis.call('PEXPIREAT', head .. p .. tail, ends) end\n"           \
    "  return ps\n"                                                                                \
    "end\n"

#endif
