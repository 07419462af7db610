-- Delete jobs from Redis before their database rows go (jobs/bulk_actions.py). A running
-- job is refused: its worker holds a lease and would report into a missing row; cancel
-- it first. Every other job is cut down to a tombstone (state 'deleted', expiring after
-- ARGV[1] ms), also one Redis did not hold: until the rows are gone a reconciler pass
-- would otherwise find them missing here and dispatch them again. A queued job's id
-- stays in its list (LREM is O(queue length) per id); claim drops an id whose hash is
-- not 'queued', so the list shrinks as workers reach it.
-- KEYS[1] job key prefix  KEYS[2] scheduled  KEYS[3] dlq
-- ARGV[1] tombstone lifetime (ms); ARGV[2..] job ids
-- Returns: the ids refused because they are running.
local ttl = tonumber(ARGV[1])
local refused = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local jk = KEYS[1] .. id
  local f = redis.call('HMGET', jk, 'state', 'ver')
  if f[1] == 'running' then
    refused[#refused + 1] = id
  else
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('DEL', jk)
    redis.call('HSET', jk, 'state', 'deleted', 'ver', (tonumber(f[2]) or 0) + 1)
    redis.call('PEXPIRE', jk, ttl)
  end
end
return refused
