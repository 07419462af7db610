-- Move jobs onto their queue now: the oldest dead jobs (DLQ replay) or the given dead /
-- retrying / scheduled jobs (retry now). A replayed or retried job starts a new run with
-- a fresh attempt budget (max attempts past its latest attempt number). ZPOPMIN and ZREM
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
  local f = redis.call('HMGET', jk, 'state', 'queue', 'attempt', 'limit', 'max', 'run', 'type')
  if f[1] == 'dead' or f[1] == 'retrying' or f[1] == 'scheduled' then
    local attempt, limit, run = tonumber(f[3]), tonumber(f[4]), tonumber(f[6] or 1)
    -- q and type are for the caller's event (jobs/events.py); the database ignores them.
    local e = { id = id, status = 'queued', attempt = attempt, run = run, q = f[2], type = f[7] }
    -- A dead or retrying job starts a new run with a fresh budget; a scheduled one
    -- (waiting for its first run_at) just runs sooner.
    if f[1] ~= 'scheduled' then
      run, limit = run + 1, attempt + tonumber(f[5])
      e.run, e.run_base = run, attempt
    end
    e.limit = limit
    e.v = redis.call('HINCRBY', jk, 'ver', 1)
    redis.call('HSET', jk, 'state', 'queued', 'limit', limit, 'run', run)
    redis.call('RPUSH', KEYS[2] .. f[2], id)
    out[#out + 1] = outbox_add(KEYS[5], now, e)
  end
end
wake(KEYS[6], #out)
return out
