-- Record the end of attempts, fenced by token: a late result from a worker that lost its
-- lease (expired, cancelled, timed out) is refused here and changes nothing.
-- Each accepted outcome becomes an outbox entry that is written to the database and then
-- settled; the watchdog writes entries a dead worker left behind.
-- KEYS[1] job key prefix  KEYS[2] queue key prefix  KEYS[3] leases  KEYS[4] scheduled
-- KEYS[5] dlq  KEYS[6] outbox  KEYS[7] notify
-- ARGV: groups of 8: id, token, outcome (succeeded | failed | timeout | interrupted),
--       result JSON or error message, traceback, started_ms, finished_ms,
--       retry delay ms (failed/timeout; < 0: no retry)
-- Returns: per job a pair {new state, outbox entry} or, refused, {'stale', 'state attempt'}:
-- the job's state and attempt number now ('missing 0' when Redis holds no job), or
-- {'accepted', ''} for an outcome this script took before (a call retried because its
-- reply was lost: its entry is in the outbox already, for the watchdog to write).
local now = now_ms()
local out, woken = {}, 0
for i = 1, #ARGV, 8 do
  local id, token, outcome = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local jk = KEYS[1] .. id
  local f = redis.call('HMGET', jk, 'state', 'token', 'attempt', 'limit', 'queue', 'worker',
    'run', 'done')
  if f[8] == token then
    out[#out + 1] = 'accepted'
    out[#out + 1] = ''
  elseif f[1] ~= 'running' or f[2] ~= token then
    out[#out + 1] = 'stale'
    out[#out + 1] = (f[1] or 'missing') .. ' ' .. (f[3] or '0')
  else
    local attempt, limit, queue = tonumber(f[3]), tonumber(f[4]), f[5]
    local ver = redis.call('HINCRBY', jk, 'ver', 1)
    redis.call('ZREM', KEYS[3], id)
    redis.call('HDEL', jk, 'token')
    redis.call('HSET', jk, 'done', token)
    local e = { id = id, v = ver, attempt = attempt, run = tonumber(f[7] or 1), outcome = outcome,
      worker = f[6],
      started = tonumber(ARGV[i + 5]), finished = tonumber(ARGV[i + 6]) }
    local state
    if outcome == 'succeeded' then
      state = 'succeeded'
      e.result = ARGV[i + 3]
    elseif outcome == 'interrupted' then
      -- Released by a stopping worker: back to the head of its queue, budget untouched.
      state = 'queued'
      limit = limit + 1
      redis.call('HSET', jk, 'limit', limit)
      redis.call('LPUSH', KEYS[2] .. queue, id)
      woken = woken + 1
    else
      e.error, e.tb = ARGV[i + 3], ARGV[i + 4]
      local delay = tonumber(ARGV[i + 7])
      if attempt >= limit or delay < 0 then
        state = 'dead'
        redis.call('ZADD', KEYS[5], now, id)
      else
        state = 'retrying'
        e.due = now + delay
        redis.call('ZADD', KEYS[4], e.due, id)
      end
    end
    redis.call('HSET', jk, 'state', state)
    e.status, e.limit = state, limit
    out[#out + 1] = state
    out[#out + 1] = outbox_add(KEYS[6], now, e)
  end
end
wake(KEYS[7], woken)
return out
