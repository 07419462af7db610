-- Create jobs in Redis and put each where its state says. Idempotent: a job whose hash
-- already exists is left alone, so the submitter and the watchdog's reconciler may both
-- dispatch the same database row and it is queued once.
-- KEYS[1] job key prefix   KEYS[2] queue key prefix   KEYS[3] scheduled   KEYS[4] dlq
-- KEYS[5] notify
-- ARGV: groups of 14: id, type, queue, payload, attempt, limit, max, timeout,
--       created_ms, due_ms, state (queued | scheduled | retrying | dead), ver, run,
--       trace (the submitter's trace context, "" when tracing is off: not stored)
-- Returns: the ids of the jobs created.
local now = now_ms()
local created, woken = {}, 0
for i = 1, #ARGV, 14 do
  local id = ARGV[i]
  local jk = KEYS[1] .. id
  if redis.call('EXISTS', jk) == 0 then
    local queue, due, state = ARGV[i + 2], tonumber(ARGV[i + 9]), ARGV[i + 10]
    if (state == 'scheduled' or state == 'retrying') and due <= now then state = 'queued' end
    redis.call('HSET', jk, 'type', ARGV[i + 1], 'queue', queue, 'payload', ARGV[i + 3],
      'attempt', ARGV[i + 4], 'limit', ARGV[i + 5], 'max', ARGV[i + 6],
      'timeout', ARGV[i + 7], 'created', ARGV[i + 8], 'state', state, 'ver', ARGV[i + 11], 'run', ARGV[i + 12])
    if ARGV[i + 13] ~= '' then redis.call('HSET', jk, 'trace', ARGV[i + 13]) end
    if state == 'queued' then
      redis.call('RPUSH', KEYS[2] .. queue, id)
      woken = woken + 1
    elseif state == 'dead' then
      redis.call('ZADD', KEYS[4], now, id)
    else
      redis.call('ZADD', KEYS[3], due, id)
    end
    created[#created + 1] = id
  end
end
wake(KEYS[5], woken)
return created
