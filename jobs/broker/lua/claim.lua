-- Claim up to ARGV[1] jobs, strictly by priority (queues in ARGV order), FIFO within a
-- queue. Pop and lease happen in this one script, so no crash can lose a job between them.
-- KEYS[1] job key prefix   KEYS[2] queue key prefix   KEYS[3] leases   KEYS[4] token seq
-- ARGV[1] max jobs   ARGV[2] worker id   ARGV[3] visibility timeout (ms)
-- ARGV[4..] queue names, highest priority first
-- Returns: {now_ms, then per job: id, token, attempt, ver, type, payload, timeout, queue,
--           created_ms, run, trace}
local now = now_ms()
-- Fencing tokens must never repeat, also after Redis lost its data (the counter goes
-- with it): restarted at 1, a job re-dispatched from the database could be claimed
-- with the very token its pre-loss attempt still holds, and that worker's late ack
-- would be accepted (found by tests/chaos/test_state_machine.py). A missing counter
-- restarts from Redis's clock in microseconds, above every token handed out before.
if redis.call('EXISTS', KEYS[4]) == 0 then
  redis.call('SET', KEYS[4], string.format('%.0f', now * 1000))
end
local max, worker, visibility = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local out, got = { now }, 0
for q = 4, #ARGV do
  local queue = ARGV[q]
  while got < max do
    local id = redis.call('LPOP', KEYS[2] .. queue)
    if not id then break end
    local jk = KEYS[1] .. id
    local f = redis.call('HMGET', jk, 'state', 'type', 'payload', 'timeout', 'created', 'run',
      'trace')
    -- An id whose hash is gone or not queued was cancelled meanwhile: drop it.
    if f[1] == 'queued' then
      local attempt = redis.call('HINCRBY', jk, 'attempt', 1)
      local ver = redis.call('HINCRBY', jk, 'ver', 1)
      local token = redis.call('INCR', KEYS[4])
      redis.call('HSET', jk, 'state', 'running', 'token', token, 'worker', worker,
        'started', now)
      redis.call('ZADD', KEYS[3], now + visibility, id)
      for _, v in ipairs({ id, token, attempt, ver, f[2], f[3], f[4], queue, f[5], f[6] or '1',
          f[7] or '' }) do
        out[#out + 1] = v
      end
      got = got + 1
    end
  end
end
return out
