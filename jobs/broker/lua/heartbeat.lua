-- Record a worker's heartbeat on Redis's clock and drop workers silent for too long.
-- KEYS[1] workers (sorted set)  KEYS[2] this worker's info key
-- ARGV[1] worker id  ARGV[2] info JSON  ARGV[3] time to live (ms)
-- Returns: now (ms).
local now = now_ms()
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
return now
