-- Forget outbox entries the database now holds. A succeeded or cancelled job's hash is
-- deleted too, but only if no later transition happened (same version): the database is
-- now its record. The reconciler relies on this order (database first, then delete).
-- KEYS[1] job key prefix  KEYS[2] outbox
-- ARGV: groups of 3: outbox entry, id, version to delete at ('' to keep the hash)
-- Returns: the number of entries removed.
local removed = 0
for i = 1, #ARGV, 3 do
  removed = removed + redis.call('ZREM', KEYS[2], ARGV[i])
  if ARGV[i + 2] ~= '' then
    local jk = KEYS[1] .. ARGV[i + 1]
    local f = redis.call('HMGET', jk, 'state', 'ver')
    if (f[1] == 'succeeded' or f[1] == 'cancelled') and f[2] == ARGV[i + 2] then
      redis.call('DEL', jk)
    end
  end
end
return removed
