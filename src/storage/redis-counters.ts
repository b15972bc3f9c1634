import { randomUUID } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { CounterBackend } from './counters.ts'
import type { ConsumeResult, WindowSpec } from './types.ts'

// Every script reads Redis's own clock, so instances with skewed clocks still agree on windows.
const NOW = `local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

// A moving window is a ZSET of entries "<unique>:<cost>" scored by time, plus a running sum of their
// costs under a second key, so a check costs O(entries that expired) instead of O(entries).
// KEYS come in pairs per window: the ZSET (or the fixed counter) and the sum.
const READ_WINDOW = `
local function cost_of(member) return tonumber(string.match(member, ':([^:]+)$')) end
local function read(key, sumkey, win, strategy, now)
  if strategy == 'fixed' then
    local v = tonumber(redis.call('GET', key) or '0')
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then return 0, win end
    return v, ttl
  end
  local stored = redis.call('GET', sumkey)
  local sum = tonumber(stored or '0')
  if not stored then
    -- No running sum (first use, or it expired alone): count once from the entries.
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, now - win, '+inf')) do sum = sum + cost_of(member) end
  end
  local expired = redis.call('ZRANGEBYSCORE', key, '-inf', now - win)
  if stored then for _, member in ipairs(expired) do sum = sum - cost_of(member) end end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win) end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #oldest == 0 then
    redis.call('DEL', sumkey)
    return 0, win
  end
  if #expired > 0 or not stored then redis.call('SET', sumkey, sum, 'PX', win) end
  return sum, tonumber(oldest[2]) + win - now
end`

// For the refusing window: when it has room for the cost (a moving window may need more than its oldest entry to expire).
const WAIT_FOR = `
local function wait_for(key, win, strategy, now, used, cost, limit, fallback)
  if strategy == 'fixed' then return fallback end
  local members = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local left = used
  for j = 1, #members, 2 do
    left = left - cost_of(members[j])
    if left + cost <= limit then return math.max(0, tonumber(members[j + 1]) + win - now) end
  end
  return fallback
end`

const ADD_WINDOW = `
local function add(key, sumkey, win, strategy, cost, at, now, id)
  if strategy == 'fixed' then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      if at == now then redis.call('SET', key, cost, 'PX', win) end
    -- The expiry runs on Redis's command clock and 'now' on TIME: they can differ by a millisecond,
    -- so allow 2 ms, else a settlement made right at the window's start is silently dropped.
    elseif at >= now + ttl - win - 2 then
      redis.call('INCRBYFLOAT', key, cost)
    end
    return
  end
  -- Units counted at a time already outside the window no longer count: nothing to settle.
  if at <= now - win then return end
  redis.call('ZADD', key, at, id .. ':' .. cost)
  redis.call('INCRBYFLOAT', sumkey, cost)
  redis.call('PEXPIRE', key, win)
  redis.call('PEXPIRE', sumkey, win)
end`

/** KEYS: two per window (see above). ARGV: cost, id, then limit, windowMs, strategy per window. */
const CONSUME = `${NOW}
${READ_WINDOW}
${WAIT_FOR}
${ADD_WINDOW}
local cost = tonumber(ARGV[1])
local out = {1, 0, now}
local refused = 0
local n = #KEYS / 2
for i = 1, n do
  local base = 3 + (i - 1) * 3
  local limit = tonumber(ARGV[base]); local win = tonumber(ARGV[base + 1]); local strategy = ARGV[base + 2]
  local used, reset = read(KEYS[2 * i - 1], KEYS[2 * i], win, strategy, now)
  table.insert(out, tostring(used)); table.insert(out, reset)
  if refused == 0 and used + cost > limit then
    refused = i
    out[#out] = wait_for(KEYS[2 * i - 1], win, strategy, now, used, cost, limit, reset)
  end
end
if refused > 0 then out[1] = 0; out[2] = refused; return out end
for i = 1, n do
  local base = 3 + (i - 1) * 3
  add(KEYS[2 * i - 1], KEYS[2 * i], tonumber(ARGV[base + 1]), ARGV[base + 2], cost, now, now, ARGV[2] .. i)
end
return out`

/** KEYS: two per window. ARGV: delta, at, id, then windowMs, strategy per window. */
const ADJUST = `${NOW}
${READ_WINDOW}
${ADD_WINDOW}
local delta = tonumber(ARGV[1]); local at = tonumber(ARGV[2])
for i = 1, #KEYS / 2 do
  local base = 4 + (i - 1) * 2
  local win = tonumber(ARGV[base]); local strategy = ARGV[base + 1]
  -- Expire first, so the running sum never holds entries the ZSET has already dropped.
  read(KEYS[2 * i - 1], KEYS[2 * i], win, strategy, now)
  add(KEYS[2 * i - 1], KEYS[2 * i], win, strategy, delta, at, now, ARGV[3] .. i)
end
return 1`

const INCR = `
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`

type ScriptClient = (Redis | Cluster) & {
  aifdConsume(...args: Array<string | number>): Promise<Array<string | number>>
  aifdAdjust(...args: Array<string | number>): Promise<number>
  aifdIncr(...args: Array<string | number>): Promise<string>
}

/**
 * Counters in Redis: each operation is one Lua script, so it is atomic across every instance.
 * On Redis Cluster all keys of one call must share a slot; callers hash-tag them (`{scope}`).
 */
export class RedisCounters implements CounterBackend {
  #client: ScriptClient

  constructor(client: Redis | Cluster, readonly prefix: string) {
    const scripted = client as ScriptClient
    if (typeof scripted.aifdConsume !== 'function') {
      client.defineCommand('aifdConsume', { lua: CONSUME })
      client.defineCommand('aifdAdjust', { lua: ADJUST })
      client.defineCommand('aifdIncr', { lua: INCR, numberOfKeys: 1 })
    }
    this.#client = scripted
  }

  async incr(key: string, amount: number, ttlMs: number): Promise<number> {
    return Number(await this.#client.aifdIncr(this.prefix + key, amount, Math.max(1, Math.round(ttlMs))))
  }

  async consume(windows: WindowSpec[], cost: number): Promise<ConsumeResult> {
    const args: Array<string | number> = [windows.length * 2, ...this.#keys(windows), cost, randomUUID()]
    for (const w of windows) args.push(w.limit, Math.round(w.windowMs), w.strategy)
    const out = await this.#client.aifdConsume(...args)
    const allowed = Number(out[0]) === 1
    const refusedBy = allowed ? undefined : Number(out[1]) - 1
    const states = windows.map((w, i) => {
      const used = Number(out[3 + i * 2]) + (allowed ? cost : 0)
      return { used, remaining: Math.max(0, w.limit - used), resetMs: Math.max(0, Number(out[4 + i * 2])) }
    })
    return {
      allowed,
      windows: states,
      refusedBy,
      retryAfterMs: refusedBy === undefined ? 0 : states[refusedBy].resetMs,
      at: Number(out[2]),
    }
  }

  /** Two keys per window: its entries and their running sum (same hash tag, so one Cluster slot). */
  #keys(windows: WindowSpec[]): string[] {
    return windows.flatMap((w) => [this.prefix + w.key, `${this.prefix}${w.key}#sum`])
  }

  async adjust(windows: WindowSpec[], delta: number, at: number): Promise<void> {
    if (delta === 0) return
    const args: Array<string | number> = [windows.length * 2, ...this.#keys(windows), delta, at, randomUUID()]
    for (const w of windows) args.push(Math.round(w.windowMs), w.strategy)
    await this.#client.aifdAdjust(...args)
  }
}
