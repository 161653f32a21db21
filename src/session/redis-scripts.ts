import { createHash } from 'node:crypto';

/**
 * Lua run atomically inside Redis. Every script declares the keys it touches (KEYS[1] the session
 * hash, KEYS[2] its message list; both share the `{id}` hash tag, so they live in one Cluster slot).
 */
export interface RedisScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

function script(name: string, source: string): RedisScript {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** The error-reply prefix scripts use when the stored history cannot be read at all. */
export const CORRUPT_REPLY_PREFIX = 'ESESSIONCORRUPT';

/**
 * Older versions kept the whole history as one string holding a JSON array. `migrate` turns such
 * a value into a list in one atomic step, so no append can slip between reading the old value and
 * writing the list: an append's RPUSH either fails with WRONGTYPE before it (and is retried after
 * it) or lands on the finished list. Elements are cut out of the original text rather than
 * decoded and re-encoded: cjson cannot tell `[]` from `{}` and rounds numbers.
 */
const MIGRATE_FUNCTIONS = String.raw`
local function split_json_array(s)
  local items = {}
  local open = string.find(s, '[', 1, true)
  local start = open + 1
  local i = start
  local depth = 0
  while true do
    local p = string.find(s, '[%[%]{}",]', i)
    if not p then break end
    local c = string.sub(s, p, p)
    if c == '"' then
      local q = p + 1
      while true do
        local r = string.find(s, '["\\]', q)
        if string.sub(s, r, r) == '\\' then q = r + 2 else q = r + 1 break end
      end
      i = q
    elseif c == '[' or c == '{' then
      depth = depth + 1
      i = p + 1
    elseif depth > 0 then
      if c ~= ',' then depth = depth - 1 end
      i = p + 1
    else
      local item = string.match(string.sub(s, start, p - 1), '^%s*(.-)%s*$')
      if item ~= '' then items[#items + 1] = item end
      if c == ']' then break end
      start = p + 1
      i = p + 1
    end
  end
  return items
end

local function migrate(meta_key, list_key)
  if redis.call('TYPE', list_key).ok ~= 'string' then return end
  local raw = redis.call('GET', list_key)
  local ok, decoded = pcall(cjson.decode, raw)
  if not ok or type(decoded) ~= 'table' or not string.find(raw, '^%s*%[') then
    return error({err = '${CORRUPT_REPLY_PREFIX} the messages value is a string but not a JSON array'})
  end
  local items = split_json_array(raw)
  redis.call('DEL', list_key)
  for i = 1, #items, 1000 do
    redis.call('RPUSH', list_key, unpack(items, i, math.min(i + 999, #items)))
  end
  local ttl = redis.call('PTTL', meta_key)
  if ttl > 0 and #items > 0 then redis.call('PEXPIRE', list_key, ttl) end
end
`;

/**
 * Converts an old string history into a list (no-op when it is a list already or missing). The
 * append and load transactions run it after Redis answered WRONGTYPE, then try once more.
 */
export const MIGRATE = script(
  'migrate',
  `${MIGRATE_FUNCTIONS}
migrate(KEYS[1], KEYS[2])
return 1
`,
);

/** ARGV: ttl seconds, agent, created_at, metadata JSON. */
export const CREATE = script(
  'create',
  String.raw`
redis.call('HSET', KEYS[1], 'agent', ARGV[2], 'created_at', ARGV[3], 'last_active', ARGV[3], 'metadata', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
`,
);

/**
 * KEYS: hash, list, idempotency hash. ARGV: ttl seconds, last_active. Returns the session's
 * agent, or nil when the session is missing. The idempotency records live as long as the session.
 */
export const TOUCH = script(
  'touch',
  String.raw`
local agent = redis.call('HGET', KEYS[1], 'agent')
if not agent then return false end
redis.call('HSET', KEYS[1], 'last_active', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[1])
return agent
`,
);

/** KEYS: every key of the session. Returns its agent (for its index entry), or nil when there was nothing to delete. */
export const DELETE = script(
  'delete',
  String.raw`
local agent = redis.call('HGET', KEYS[1], 'agent')
redis.call('DEL', unpack(KEYS))
return agent
`,
);

/**
 * The end of a turn, in one atomic step: the fence check, the idempotency record, the messages
 * (each given the next seq), the activity stamp, the lease release and the index entry. Nothing
 * is stored for a missing session (what it left behind is removed) or a stale fence. An old
 * string history is converted first; a hash with `seq` has had an append (which converted it)
 * or a migration (which wrote a list), so only a hash without it asks for the key's type.
 * KEYS: hash, list, lease, idempotency hash, [agent index]. ARGV: ttl seconds, last_active,
 * fence ('' none), lease token ('' none), idempotency key ('' none), its record, index score
 * ('' no index), session id, the running summary as JSON ('' unchanged), then one JSON object
 * per message (without seq).
 * Returns {'ok', last seq, agent} | {'missing'} | {'fenced', current fence} | {'used', record}.
 */
export const APPEND = script(
  'append',
  `${MIGRATE_FUNCTIONS}
local h = redis.call('HMGET', KEYS[1], 'agent', 'fence', 'seq')
local agent = h[1]
if not agent then
  -- What a session that expired or was deleted left behind: its list (the hash expired first)
  -- and its index entry. Removing them is safe, and keeps a listing from showing it.
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  if ARGV[7] ~= '' then redis.call('ZREM', KEYS[5], ARGV[8]) end
  return {'missing'}
end
if ARGV[3] ~= '' then
  local fence = h[2] or '0'
  if fence ~= ARGV[3] then return {'fenced', fence} end
end
if ARGV[5] ~= '' then
  local earlier = redis.call('HGET', KEYS[4], ARGV[5])
  if earlier then return {'used', earlier} end
end
if not h[3] then migrate(KEYS[1], KEYS[2]) end
-- A message's seq is its place in the list (counting from 1): the list only ever grows, so the
-- numbers strictly increase, and a history stored before seq existed continues where it is.
local seq = redis.call('LLEN', KEYS[2])
local batch = {}
for i = 10, #ARGV do
  seq = seq + 1
  batch[#batch + 1] = '{"seq":' .. string.format('%d', seq) .. ',' .. string.sub(ARGV[i], 2)
  if #batch == 1000 then
    redis.call('RPUSH', KEYS[2], unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('RPUSH', KEYS[2], unpack(batch)) end
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[1], 'last_active', ARGV[2], 'seq', seq, 'summary', ARGV[9])
else
  redis.call('HSET', KEYS[1], 'last_active', ARGV[2], 'seq', seq)
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[5], ARGV[6]) end
redis.call('EXPIRE', KEYS[4], ARGV[1])
if ARGV[4] ~= '' then
  -- Every taking of the lease bumps the fence: with the fence still this turn's, the lease is
  -- this turn's or has lapsed untaken, so it can go without reading it first.
  if ARGV[3] ~= '' or redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
end
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[5], 'XX', ARGV[7], ARGV[8]) end
return {'ok', seq, agent}
`,
);

/**
 * The start of a turn, in one atomic step: the session (HGETALL: missing means not found), its
 * idempotency record for the key (replay or conflict), then the lease. The lease is free when no
 * live token holds it and no earlier waiter is queued (interrupt takes it regardless). A busy
 * enqueue keeps its place: a ticket from the hash's counter orders the queue, and a deadline
 * (refreshed by every poll) drops waiters that went away. The queue and its deadlines are made,
 * refreshed and emptied together, so without a queue there are no waiters to look at. Taking the
 * lease bumps the fence and returns the history page with it; the page is read before anything
 * is written, so a history of the wrong type fails the script before it took the lease.
 * KEYS: hash, list, lease, queue, waiters, idempotency hash. ARGV: token, lease ttl ms, mode,
 * waiter ttl ms, idempotency key ('' none), request hash, LRANGE start, LRANGE stop, then
 * optionally what the caller holds of the history already: the list index of its first element,
 * the index just past its last, and the created_at of the session they came from. A history only
 * ever grows, so the elements it holds that the page would start with are not sent again.
 * Returns {'missing'} or {STATUS, hash fields, ...}: {'replay', h, response} | {'conflict', h} |
 * {'busy', h, lease pttl ms} | {'acquired', h, fence, interrupted token or '', total, page,
 * list index of the page's first element}. The hash comes with every answer so the caller can
 * check whose session it is before using any.
 */
export const BEGIN_TURN = script(
  'begin_turn',
  `${MIGRATE_FUNCTIONS}
local h = redis.call('HGETALL', KEYS[1])
local has_agent = false
local has_seq = false
local created = nil
for i = 1, #h, 2 do
  local f = h[i]
  if f == 'agent' then has_agent = true elseif f == 'seq' then has_seq = true elseif f == 'created_at' then created = h[i + 1] end
end
if not has_agent then return {'missing'} end
if ARGV[5] ~= '' then
  local rec = redis.call('HGET', KEYS[6], ARGV[5])
  if rec then
    -- This request is answered either way: it gives up any place it had in the queue.
    redis.call('ZREM', KEYS[4], ARGV[1])
    redis.call('ZREM', KEYS[5], ARGV[1])
    local nl = string.find(rec, '\\n', 1, true)
    if string.sub(rec, 1, nl - 1) == ARGV[6] then return {'replay', h, string.sub(rec, nl + 1)} end
    return {'conflict', h}
  end
end
local token = ARGV[1]
local mode = ARGV[3]
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local holder = redis.call('GET', KEYS[3])
local queued = redis.call('EXISTS', KEYS[4]) == 1
local now = nil
local head = nil
if queued then
  now = clock()
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)) do
    redis.call('ZREM', KEYS[4], gone)
    redis.call('ZREM', KEYS[5], gone)
  end
  head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
end
local free = mode == 'interrupt' or ((not holder or holder == token) and (not head or head == token))
if not free then
  if mode == 'enqueue' then
    now = now or clock()
    if not redis.call('ZSCORE', KEYS[4], token) then
      redis.call('ZADD', KEYS[4], redis.call('HINCRBY', KEYS[1], 'tickets', 1), token)
    end
    redis.call('ZADD', KEYS[5], now + tonumber(ARGV[4]), token)
    redis.call('PEXPIRE', KEYS[4], ARGV[4])
    redis.call('PEXPIRE', KEYS[5], ARGV[4])
  end
  local left = 0
  if holder then left = redis.call('PTTL', KEYS[3]) end
  return {'busy', h, left}
end
if not has_seq then migrate(KEYS[1], KEYS[2]) end
local total = redis.call('LLEN', KEYS[2])
local start = tonumber(ARGV[7])
local stop = tonumber(ARGV[8])
if start < 0 then start = math.max(0, total + start) end
if stop < 0 then stop = total + stop end
if ARGV[11] and created == ARGV[11] then
  local held_from = tonumber(ARGV[9])
  local held_to = tonumber(ARGV[10])
  if start >= held_from and start <= held_to and held_to <= total then start = held_to end
end
local page = {}
if start <= stop then page = redis.call('LRANGE', KEYS[2], start, stop) end
if queued then
  redis.call('ZREM', KEYS[4], token)
  redis.call('ZREM', KEYS[5], token)
end
redis.call('SET', KEYS[3], token, 'PX', ARGV[2])
local fence = redis.call('HINCRBY', KEYS[1], 'fence', 1)
local interrupted = ''
if holder and holder ~= token then interrupted = holder end
return {'acquired', h, fence, interrupted, total, page, start}
`,
);

/**
 * The idempotency record of a request without a session: a hash of `hash`, `token` while the
 * first attempt runs (with a short TTL, renewed) and `response` once it answered (with a long TTL).
 * KEYS: record. ARGV: request hash, token, claim ttl ms.
 * Returns {'claimed'} | {'running', pttl} | {'replay', response} | {'conflict'}.
 */
export const CLAIM_REQUEST = script(
  'claim_request',
  String.raw`
local h = redis.call('HMGET', KEYS[1], 'hash', 'token', 'response')
if h[1] then
  if h[1] ~= ARGV[1] then return {'conflict'} end
  if h[3] then return {'replay', h[3]} end
  return {'running', redis.call('PTTL', KEYS[1])}
end
redis.call('HSET', KEYS[1], 'hash', ARGV[1], 'token', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {'claimed'}
`,
);

/** KEYS: record. ARGV: token, then a ttl: (complete) response and ttl seconds, (renew) ttl ms, (release) nothing. */
export const SETTLE_REQUEST = script(
  'settle_request',
  String.raw`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
if ARGV[2] == 'complete' then
  redis.call('HSET', KEYS[1], 'response', ARGV[3])
  redis.call('HDEL', KEYS[1], 'token')
  redis.call('EXPIRE', KEYS[1], ARGV[4])
elseif ARGV[2] == 'renew' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
else
  redis.call('DEL', KEYS[1])
end
return 1
`,
);

/** KEYS: lease. ARGV: token, ttl ms. 1 when the lease was still this token's and is extended, else 0. */
export const RENEW_LEASE = script(
  'renew_lease',
  String.raw`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
);

/** KEYS: lease, queue, waiters. ARGV: token. Drops the lease when it is this token's, and the token's place in the queue. */
export const RELEASE_LEASE = script(
  'release_lease',
  String.raw`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
`,
);
