-- Move jobs onto their queue now: the oldest dead jobs (DLQ replay, with a fresh attempt
-- budget) or the given dead / retrying / scheduled jobs (retry now). ZPOPMIN and ZREM
-- take each job out once, so concurrent replays move each job once.
-- KEYS[1] job key prefix  KEYS[2] queue key prefix  KEYS[3] dlq  KEYS[4] scheduled
-- KEYS[5] outbox  KEYS[6] notify
-- ARGV[1] 'dlq' with ARGV[2] = max jobs, or 'ids' with ARGV[2..] = job ids
-- Returns: the outbox entries of the moved jobs.
local now = now_ms()
local candidates = {}
if ARGV[1] == 'dlq' then
  local popped = redis.call('ZPOPMIN', KEYS[3], tonumber(ARGV[2]))
  for i = 1, #popped, 2 do candidates[#candidates + 1] = popped[i] end
else
  for i = 2, #ARGV do
    local id = ARGV[i]
    local state = redis.call('HGET', KEYS[1] .. id, 'state')
    if state == 'dead' and redis.call('ZREM', KEYS[3], id) == 1 then
      candidates[#candidates + 1] = id
    elseif (state == 'retrying' or state == 'scheduled')
        and redis.call('ZREM', KEYS[4], id) == 1 then
      candidates[#candidates + 1] = id
    end
  end
end
local out = {}
for _, id in ipairs(candidates) do
  local jk = KEYS[1] .. id
  local f = redis.call('HMGET', jk, 'state', 'queue', 'attempt', 'limit', 'max')
  if f[1] == 'dead' or f[1] == 'retrying' or f[1] == 'scheduled' then
    local limit = tonumber(f[4])
    if f[1] == 'dead' then limit = tonumber(f[3]) + tonumber(f[5]) end
    local ver = redis.call('HINCRBY', jk, 'ver', 1)
    redis.call('HSET', jk, 'state', 'queued', 'limit', limit)
    redis.call('RPUSH', KEYS[2] .. f[2], id)
    out[#out + 1] = outbox_add(KEYS[5], now, { id = id, v = ver, status = 'queued',
      limit = limit, attempt = tonumber(f[3]) })
  end
end
wake(KEYS[6], #out)
return out
