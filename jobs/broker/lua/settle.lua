-- Forget outbox entries the database now holds. A succeeded or cancelled job's hash is
-- cut down to a tombstone (state and version, expiring after ARGV[1] ms), but only if no
-- later transition happened (same version): the database is now its record. The
-- reconciler relies on this order (database first, then the hash goes). The tombstone,
-- rather than nothing, is for an enqueue retried late (a submitter whose reply was lost
-- to a Redis restart): it must find the job and leave it alone, not queue it again.
-- KEYS[1] job key prefix  KEYS[2] outbox
-- ARGV[1] tombstone lifetime (ms); then groups of 3: outbox entry, id, version to
--         forget the job at ('' to keep the hash)
-- Returns: the number of entries removed.
local removed = 0
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV, 3 do
  removed = removed + redis.call('ZREM', KEYS[2], ARGV[i])
  if ARGV[i + 2] ~= '' then
    local jk = KEYS[1] .. ARGV[i + 1]
    local f = redis.call('HMGET', jk, 'state', 'ver')
    if (f[1] == 'succeeded' or f[1] == 'cancelled') and f[2] == ARGV[i + 2] then
      redis.call('DEL', jk)
      redis.call('HSET', jk, 'state', f[1], 'ver', f[2])
      redis.call('PEXPIRE', jk, ttl)
    end
  end
end
return removed
