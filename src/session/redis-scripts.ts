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

/** ARGV: ttl seconds, last_active. Returns the session's agent, or nil when the session is missing. */
export const TOUCH = script(
  'touch',
  String.raw`
local agent = redis.call('HGET', KEYS[1], 'agent')
if not agent then return false end
redis.call('HSET', KEYS[1], 'last_active', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return agent
`,
);

/** Returns the session's agent (for its index entry), or nil when there was nothing to delete. */
export const DELETE = script(
  'delete',
  String.raw`
local agent = redis.call('HGET', KEYS[1], 'agent')
redis.call('DEL', KEYS[1], KEYS[2])
return agent
`,
);
