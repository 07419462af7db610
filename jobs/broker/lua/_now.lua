local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function wake(notify_key, n)
  -- One token per waiting job (capped): each token wakes one blocked worker.
  if n > 0 then
    for _ = 1, math.min(n, 64) do redis.call('RPUSH', notify_key, '1') end
    redis.call('LTRIM', notify_key, -256, -1)
  end
end

local function outbox_add(outbox_key, now, entry)
  entry.at = now
  local member = cjson.encode(entry)
  redis.call('ZADD', outbox_key, now, member)
  return member
end
