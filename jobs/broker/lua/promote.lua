-- Move scheduled and retrying jobs whose time has come onto their queues; each move is an
-- outbox entry, so the database shows the job queued (not retrying) while it waits.
-- KEYS[1] job key prefix  KEYS[2] queue key prefix  KEYS[3] scheduled  KEYS[4] notify
-- KEYS[5] outbox
-- ARGV[1] max jobs per call
-- Returns: {number promoted, ms until the next scheduled job is due or -1 if none,
--           then the outbox entries}.
local now = now_ms()
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local moved, entries = 0, {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[3], id)
  local jk = KEYS[1] .. id
  local f = redis.call('HMGET', jk, 'state', 'queue')
  if f[1] == 'scheduled' or f[1] == 'retrying' then
    redis.call('HSET', jk, 'state', 'queued')
    redis.call('RPUSH', KEYS[2] .. f[2], id)
    moved = moved + 1
    local ver = redis.call('HINCRBY', jk, 'ver', 1)
    entries[#entries + 1] = outbox_add(KEYS[5], now, { id = id, v = ver, status = 'queued' })
  end
end
wake(KEYS[4], moved)
local next_due = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local wait = -1
if next_due[2] then wait = math.max(0, tonumber(next_due[2]) - now) end
local out = { moved, wait }
for _, e in ipairs(entries) do out[#out + 1] = e end
return out
