-- Cancel a job wherever it is. A running job's token is revoked, so its worker's late
-- result is refused and the final state stays cancelled.
-- KEYS[1] job key prefix  KEYS[2] queue key prefix  KEYS[3] scheduled  KEYS[4] leases
-- KEYS[5] dlq  KEYS[6] outbox
-- ARGV[1] id
-- Returns: {'cancelled', outbox entry} | {'terminal', state} | {'missing', ''}
local now = now_ms()
local id = ARGV[1]
local jk = KEYS[1] .. id
local f = redis.call('HMGET', jk, 'state', 'queue', 'attempt', 'worker', 'started', 'run')
local state = f[1]
if not state then return { 'missing', '' } end
if state == 'succeeded' or state == 'cancelled' then return { 'terminal', state } end
local e = { id = id, status = 'cancelled', attempt = tonumber(f[3]), run = tonumber(f[6] or 1),
  finished = now }
if state == 'queued' then
  redis.call('LREM', KEYS[2] .. f[2], 0, id)
elseif state == 'scheduled' or state == 'retrying' then
  redis.call('ZREM', KEYS[3], id)
elseif state == 'running' then
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', jk, 'token')
  e.outcome, e.worker, e.started = 'cancelled', f[4], tonumber(f[5])
  e.error = 'cancelled while running'
elseif state == 'dead' then
  redis.call('ZREM', KEYS[5], id)
end
e.v = redis.call('HINCRBY', jk, 'ver', 1)
redis.call('HSET', jk, 'state', 'cancelled')
return { 'cancelled', outbox_add(KEYS[6], now, e) }
