-- Extend the leases this worker still holds. A lease whose token changed (expired and
-- requeued, or cancelled) is not extended: the worker learns it lost that job.
-- KEYS[1] job key prefix   KEYS[2] leases
-- ARGV[1] visibility timeout (ms), then pairs: id, token
-- Returns: the positions (1-based, in ARGV pair order) of the leases that are lost;
-- positions, not ids, since one call may carry two attempts of the same job.
local now = now_ms()
local deadline = now + tonumber(ARGV[1])
local lost = {}
for i = 2, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local f = redis.call('HMGET', KEYS[1] .. id, 'state', 'token')
  if f[1] == 'running' and f[2] == token then
    redis.call('ZADD', KEYS[2], 'XX', deadline, id)
  else
    lost[#lost + 1] = i / 2
  end
end
return lost
