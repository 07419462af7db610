-- Put jobs whose lease deadline passed back on the tail of their own queue, or in the
-- DLQ when that lost attempt was their last. The lost attempt counts and is recorded,
-- so a job that kills its worker ends dead instead of looping. Revoking the token makes
-- the old worker's late renew / ack / fail stale. Safe with several watchdogs: the
-- script is atomic and a lease is removed as it is handled.
-- KEYS[1] job key prefix  KEYS[2] queue key prefix  KEYS[3] leases  KEYS[4] dlq
-- KEYS[5] outbox  KEYS[6] notify
-- ARGV[1] max jobs per call
-- Returns: the outbox entries of the jobs handled.
local now = now_ms()
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out, woken = {}, 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[3], id)
  local jk = KEYS[1] .. id
  local f = redis.call('HMGET', jk, 'state', 'attempt', 'limit', 'queue', 'worker', 'started',
    'run', 'type')
  if f[1] == 'running' then
    local attempt, limit = tonumber(f[2]), tonumber(f[3])
    local ver = redis.call('HINCRBY', jk, 'ver', 1)
    redis.call('HDEL', jk, 'token')
    local state = 'queued'
    if attempt >= limit then
      state = 'dead'
      redis.call('ZADD', KEYS[4], now, id)
    else
      redis.call('RPUSH', KEYS[2] .. f[4], id)
      woken = woken + 1
    end
    redis.call('HSET', jk, 'state', state)
    out[#out + 1] = outbox_add(KEYS[5], now, { id = id, v = ver, attempt = attempt, run = tonumber(f[7] or 1), limit = limit,
      status = state, outcome = 'lease_expired', worker = f[5], started = tonumber(f[6]),
      finished = now, error = 'lease expired: worker ' .. (f[5] or '?') .. ' stopped renewing',
      q = f[4], type = f[8] })
  end
end
wake(KEYS[6], woken)
return out
