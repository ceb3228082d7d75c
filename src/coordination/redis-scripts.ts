import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { KEPT_ENTRY_OVERHEAD } from './coordination.js';

/**
 * The Lua scripts of RedisCoordination: each operation that reads then writes shared state is one
 * script, so it is atomic across instances. Time is Redis server time (`TIME`), never an instance's
 * clock. Every key a script touches is passed in KEYS (key layout: see redis.ts).
 */

/** A Lua script run by its SHA1 (EVALSHA), sent whole (EVAL) once when Redis has not seen it (e.g. after a restart). */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/** Server time in whole milliseconds. */
const NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** Drops places whose lease has run out. */
const PRUNE = `
local function prune(places, now)
  redis.call('ZREMRANGEBYSCORE', places, '-inf', now)
end
`;

/** KEYS: places. ARGV: member, limit, leaseMs. Returns 1 when the place was taken, 0 at the limit. */
export const ACQUIRE = new LuaScript('acquire', `${NOW_MS}${PRUNE}
local now = now_ms()
prune(KEYS[1], now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
return 1
`);

/** KEYS: places. Returns the members of the live places. */
export const COUNTS = new LuaScript('counts', `${NOW_MS}${PRUNE}
prune(KEYS[1], now_ms())
return redis.call('ZRANGE', KEYS[1], 0, -1)
`);

/**
 * What an instance holds, in one layout for RENEW and GIVE_BACK.
 * KEYS: places, then one owner key per claim, then one CallSid key per live call.
 * ARGV: instanceId, leaseMs, number of places, number of claims, the place members, then for each
 * live call the CallSid record's expected value (`live|<member>`).
 */
const HOLDINGS = `
local me, lease = ARGV[1], tonumber(ARGV[2])
local nPlaces, nClaims = tonumber(ARGV[3]), tonumber(ARGV[4])
local nCalls = #KEYS - 1 - nClaims
`;

/**
 * Renews every lease the instance holds, and puts back whatever is missing (after a Redis restart):
 * places, claims (unless another instance has claimed the key since), live CallSid records (unless
 * the CallSid was announced again since). Returns the 0-based indexes of the claims lost to another.
 */
export const RENEW = new LuaScript('renew', `${NOW_MS}${HOLDINGS}
local expiry = now_ms() + lease
for i = 1, nPlaces do redis.call('ZADD', KEYS[1], expiry, ARGV[4 + i]) end
local lost = {}
for i = 1, nClaims do
  local owner = redis.call('GET', KEYS[1 + i])
  if owner == false or owner == me then
    redis.call('SET', KEYS[1 + i], me, 'PX', lease)
  else
    lost[#lost + 1] = i - 1
  end
end
for i = 1, nCalls do
  local key, want = KEYS[1 + nClaims + i], ARGV[4 + nPlaces + i]
  local value = redis.call('GET', key)
  if value == false or value == want then redis.call('SET', key, want, 'PX', lease) end
end
return lost
`);

/** Gives back places, claims (only this instance's) and live CallSid records (only those of these places). */
export const GIVE_BACK = new LuaScript('give_back', `${HOLDINGS}
for i = 1, nPlaces do redis.call('ZREM', KEYS[1], ARGV[4 + i]) end
for i = 1, nClaims do
  if redis.call('GET', KEYS[1 + i]) == me then redis.call('DEL', KEYS[1 + i]) end
end
for i = 1, nCalls do
  local key = KEYS[1 + nClaims + i]
  if redis.call('GET', key) == ARGV[4 + nPlaces + i] then redis.call('DEL', key) end
end
return 1
`);

/**
 * Remembers a CallSid in the sorted set `key` until `now + forMs` (never earlier than it was), drops
 * those forgotten, the oldest past `max`, and keeps the set itself no longer than its last member.
 */
const REMEMBER_FN = `
local function remember(key, callSid, now, forMs, max)
  local forgetAt = now + forMs
  local was = redis.call('ZSCORE', key, callSid)
  if not was or tonumber(was) < forgetAt then redis.call('ZADD', key, forgetAt, callSid) end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local over = redis.call('ZCARD', key) - max
  if over > 0 then redis.call('ZREMRANGEBYRANK', key, 0, over - 1) end
  if redis.call('PTTL', key) < forMs then redis.call('PEXPIRE', key, forMs) end
end
`;

/**
 * A webhook announces a call. KEYS: places, CallSid record, token record, remembered CallSids.
 * ARGV: has CallSid ('1'/'0'), limit, ttlMs, new place member, new token, CallSid, announced call
 * (JSON), rememberMs, resume ('1'/'0'), most CallSids remembered.
 * The CallSid record is `pending|<token>` until the stream takes the call, then `live|<place member>`.
 * Returns {'repeated', token} | {'live'} | {'ended'} | {'busy'} | {'issued', token}.
 */
export const ANNOUNCE = new LuaScript('announce', `${NOW_MS}${PRUNE}${REMEMBER_FN}
local now = now_ms()
local hasSid = ARGV[1] == '1'
if hasSid then
  local record = redis.call('GET', KEYS[2])
  if record then
    if string.sub(record, 1, 8) == 'pending|' then return {'repeated', string.sub(record, 9)} end
    local score = redis.call('ZSCORE', KEYS[1], string.sub(record, 6))
    if score and tonumber(score) > now then return {'live'} end
    redis.call('DEL', KEYS[2])
  end
  if ARGV[9] ~= '1' then
    local forgetAt = redis.call('ZSCORE', KEYS[4], ARGV[6])
    if forgetAt and tonumber(forgetAt) > now then return {'ended'} end
  end
end
prune(KEYS[1], now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return {'busy'} end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[4])
redis.call('HSET', KEYS[3], 'callSid', ARGV[6], 'place', ARGV[4], 'call', ARGV[7])
redis.call('PEXPIRE', KEYS[3], ttl)
if hasSid then
  redis.call('SET', KEYS[2], 'pending|' .. ARGV[5], 'PX', ttl)
  remember(KEYS[4], ARGV[6], now, tonumber(ARGV[8]), tonumber(ARGV[10]))
end
return {'issued', ARGV[5]}
`);

/** KEYS: remembered CallSids. ARGV: CallSid, rememberMs, most CallSids remembered. */
export const REMEMBER = new LuaScript('remember', `${NOW_MS}${REMEMBER_FN}
remember(KEYS[1], ARGV[1], now_ms(), tonumber(ARGV[2]), tonumber(ARGV[3]))
return 1
`);

/**
 * A media stream takes its call. KEYS: places, token record, the stream's CallSid record.
 * ARGV: the stream's CallSid ('' when none), leaseMs.
 * Returns {'unknown'} | {'other_call'} | {'taken', place member, announced call (JSON)}; the token is
 * spent, the place's lease now runs from now, and the stream's CallSid is marked live.
 */
export const TAKE = new LuaScript('take', `${NOW_MS}
local record = redis.call('HMGET', KEYS[2], 'callSid', 'place', 'call')
if not record[2] then return {'unknown'} end
if record[1] ~= '' and record[1] ~= ARGV[1] then return {'other_call'} end
redis.call('DEL', KEYS[2])
local lease = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now_ms() + lease, record[2])
if ARGV[1] ~= '' then redis.call('SET', KEYS[3], 'live|' .. record[2], 'PX', lease) end
return {'taken', record[2], record[3]}
`);

/**
 * The books of kept messages (KEYS index, costs, total: see redis.ts): `forget_lapsed` drops the lists
 * whose last message lapsed (Redis expired them) from the books; `prune_head` drops a list's lapsed
 * messages from its head (they came first); `unbook` takes a list out of the books (claimed).
 * An entry is `<expiry ms>|<message>` and costs #message + ENTRY_OVERHEAD bytes (keptCost).
 */
const KEPT_BOOKS = `
local function entry_cost(entry)
  local bar = string.find(entry, '|', 1, true)
  return #entry - bar + ${KEPT_ENTRY_OVERHEAD}, tonumber(string.sub(entry, 1, bar - 1))
end
local function unbook(index, costs, total, list)
  local cost = tonumber(redis.call('HGET', costs, list) or '0')
  if cost > 0 then redis.call('DECRBY', total, cost) end
  redis.call('HDEL', costs, list)
  redis.call('ZREM', index, list)
end
local function forget_lapsed(index, costs, total, now)
  for _, list in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. now, 'LIMIT', 0, 500)) do
    unbook(index, costs, total, list)
    redis.call('DEL', list)
  end
end
local function prune_head(costs, total, list, now)
  for _ = 1, 1000 do
    local head = redis.call('LINDEX', list, 0)
    if not head then return end
    local cost, expiry = entry_cost(head)
    if expiry > now then return end
    redis.call('LPOP', list)
    redis.call('HINCRBY', costs, list, -cost)
    redis.call('DECRBY', total, cost)
  end
end
`;

/**
 * Claims keys, all or none. KEYS: owner, kept messages of each key, in pairs; then the kept books
 * (index, costs, total). ARGV: instanceId, leaseMs.
 * Returns nil when another instance holds any of them, else the kept messages still in time (key by
 * key, oldest first), which are removed.
 */
export const CLAIM = new LuaScript('claim', `${NOW_MS}${KEPT_BOOKS}
local index, costs, total = KEYS[#KEYS - 2], KEYS[#KEYS - 1], KEYS[#KEYS]
local pairs_end = #KEYS - 3
for i = 1, pairs_end, 2 do
  local owner = redis.call('GET', KEYS[i])
  if owner and owner ~= ARGV[1] then return false end
end
local now = now_ms()
local kept = {}
for i = 1, pairs_end, 2 do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', tonumber(ARGV[2]))
  for _, entry in ipairs(redis.call('LRANGE', KEYS[i + 1], 0, -1)) do
    local bar = string.find(entry, '|', 1, true)
    if tonumber(string.sub(entry, 1, bar - 1)) > now then kept[#kept + 1] = string.sub(entry, bar + 1) end
  end
  redis.call('DEL', KEYS[i + 1])
  unbook(index, costs, total, KEYS[i + 1])
end
return kept
`);

/**
 * Finds who holds a key, or keeps the message for its next holder. KEYS: owner, kept messages, then
 * the kept books (index, costs, total). ARGV: keep ('1'/'0'), message (JSON), keepMs, most messages
 * kept per key, most bytes kept in all, this message's cost.
 * Lapsed messages are dropped first (every key's lapsed list, this key's lapsed head); a message past
 * either bound is not kept. The list and the books expire with the last message they hold, so nothing
 * outlives what it counts.
 * Returns {'owner', instanceId} | {'kept'} | {'full', 'key' | 'store'} | {'absent'}.
 */
export const ASK = new LuaScript('ask', `${NOW_MS}${KEPT_BOOKS}
local owner = redis.call('GET', KEYS[1])
if owner then return {'owner', owner} end
if ARGV[1] ~= '1' then return {'absent'} end
local list, index, costs, total = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now = now_ms()
forget_lapsed(index, costs, total, now)
local expires = redis.call('ZSCORE', index, list)
if expires and redis.call('EXISTS', list) == 1 then
  prune_head(costs, total, list, now)
else
  -- Not in the books (or lapsed at this very millisecond): whatever is there was counted out already.
  if expires then unbook(index, costs, total, list) end
  expires = nil
  redis.call('DEL', list)
end
if redis.call('LLEN', list) >= tonumber(ARGV[4]) then return {'full', 'key'} end
local cost = tonumber(ARGV[6])
if tonumber(redis.call('GET', total) or '0') + cost > tonumber(ARGV[5]) then return {'full', 'store'} end
local expiry = now + tonumber(ARGV[3])
redis.call('RPUSH', list, expiry .. '|' .. ARGV[2])
if not expires or expiry > tonumber(expires) then
  redis.call('ZADD', index, expiry, list)
  redis.call('PEXPIREAT', list, expiry)
else
  redis.call('PEXPIREAT', list, tonumber(expires))
end
redis.call('HINCRBY', costs, list, cost)
redis.call('INCRBY', total, cost)
local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
for _, books in ipairs({index, costs, total}) do redis.call('PEXPIREAT', books, tonumber(last[2])) end
return {'kept'}
`);

/**
 * A token bucket (the semantics of RateLimiter in src/http/rate-limit.ts, on server time).
 * KEYS: bucket. ARGV: limit, windowMs, 'hit' | 'peek'. A missing bucket is full; a bucket full again
 * is forgotten (PEXPIRE windowMs: it refills within that). Returns 0 when within the budget, else the
 * milliseconds until the next request would be.
 */
export const RATE = new LuaScript('rate', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local perMs = limit / window
local tokens = limit
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
if state[1] then
  tokens = math.min(limit, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * perMs)
end
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) / perMs) end
if ARGV[3] == 'peek' then return wait end
if wait == 0 then tokens = tokens - 1 end
if tokens >= limit then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.3f', now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(window))
end
return wait
`);
