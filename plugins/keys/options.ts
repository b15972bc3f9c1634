import { assertConfig, checkKnownKeys, parseDuration, type Duration } from '../../src/index.ts'
import { compileModels, type ModelFilter } from './models.ts'
import { digestOf } from './secret.ts'

export type { Duration } from '../../src/index.ts'

/** What one level may use. */
export interface KeyLevel {
  /** Models callers at this level may use: `'*'` (all, the default), or names and wildcards like `['gpt-4o-mini', 'gpt-3.5*']`. */
  models?: '*' | readonly string[]
  /** The real upstream keys this level draws from, round-robin. At least one. */
  keys: readonly string[]
}

/** One forward key: the secret a client sends, and its level. */
export interface ForwardKey {
  /** The secret the client sends instead of a real key, e.g. `process.env.FK_ALICE`. */
  key: string
  /** Its level (a name in `levels`). Default: the only level, or `'default'`. */
  level?: string
}

/** A forward key in list form, with the name it goes by in logs and limits. */
export interface NamedForwardKey extends ForwardKey {
  /** The caller's name, safe to log (never the secret). */
  name: string
}

/**
 * `require`: only known forward keys get in (401 otherwise).
 * `passthrough`: a known forward key is swapped; any other credential, or none, goes upstream untouched.
 * `open`: a known forward key is swapped per its level; every other request is served from the
 * `default` level's pool, whatever credential it carries (the original openai-forward without FORWARD_KEY).
 */
export type KeysMode = 'require' | 'passthrough' | 'open'

interface KeysOptionsBase {
  /** Forward keys by caller name (`{ alice: { key, level } }`, or `{ alice: 'fk-…' }` for the default level), or a list of `{ name, key, level }`. */
  forwardKeys?: Record<string, string | ForwardKey> | readonly NamedForwardKey[]
  /** What to do with requests that carry no known forward key. Default `require` with forward keys, `open` without. */
  mode?: KeysMode
  /**
   * Request headers the credential is read from and the real key is written to, first one preferred;
   * `authorization` is read and written as `Bearer <key>`. Default per route: `authorization` (openai),
   * `['x-api-key', 'authorization']` (anthropic), `x-goog-api-key` (gemini), `authorization` (other general routes).
   */
  header?: string | readonly string[]
  /** Query parameter that may carry the credential, e.g. `'key'`; `false` for none. Default `'key'` on gemini routes, else none. */
  query?: string | false
  /** How long a real key is set aside after the upstream answered it 401, 403 or 429 (a 429's `Retry-After` wins). Default `'60s'`. */
  coolDown?: Duration
  /**
   * Also accept forward keys made at run time (admin API, dashboard, `aifd keys create`), kept in the
   * gateway's storage by sha256 digest and shared by every instance on one Redis; and count every
   * key's use (requests, tokens, dollars) for the key list. Default `false`.
   */
  runtimeKeys?: boolean
}

/** Options of the `keys` plugin: either `levels`, or `keys` for a single pool. */
export type KeysOptions = KeysOptionsBase & (
  | {
    /** Levels by name: the models each may use and the real keys it draws from. */
    levels: Record<string, KeyLevel>
    keys?: never
  }
  | {
    /** Real upstream keys for a single level named `default` with every model (shorthand for `levels: { default: { keys } }`). */
    keys: readonly string[]
    levels?: never
  }
)

/** A level after checking. */
export interface Level {
  name: string
  models: ModelFilter
  keys: readonly string[]
}

/** A forward key after checking. */
export interface Caller {
  name: string
  level: Level
}

/** Options checked and precomputed, once per loaded config. */
export interface KeysSettings {
  levels: ReadonlyMap<string, Level>
  /** Forward keys by sha256 digest (hex): a lookup that never compares the secret itself. */
  callers: ReadonlyMap<string, Caller>
  mode: KeysMode
  /** The level of requests without a forward key in `open` mode. */
  openLevel: Level | undefined
  headers: readonly string[] | undefined
  query: string | false | undefined
  coolDownMs: number
  runtimeKeys: boolean
}

export const FIELD = 'plugins.keys'
const KNOWN = ['levels', 'keys', 'forwardKeys', 'mode', 'header', 'query', 'coolDown', 'runtimeKeys']
const HINTS = { apiKeys: 'keys', realKeys: 'keys', forward: 'forwardKeys', headers: 'header' }

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const isSecret = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '' && value === value.trim()

function checkLevels(options: KeysOptions): Map<string, Level> {
  const raw: Record<string, KeyLevel> | undefined = options.levels ?? (options.keys !== undefined ? { default: { keys: options.keys } } : undefined)
  assertConfig(!(options.levels !== undefined && options.keys !== undefined), FIELD, 'give either `levels` or `keys`, not both')
  assertConfig(isRecord(raw), options.keys !== undefined ? `${FIELD}.keys` : `${FIELD}.levels`, 'needs the real upstream keys: `keys: [...]` or `levels: { default: { keys: [...] } }`')
  const levels = new Map<string, Level>()
  for (const [name, level] of Object.entries(raw)) {
    const field = options.keys !== undefined ? `${FIELD}.keys` : `${FIELD}.levels.${name}`
    assertConfig(isRecord(level), field, 'must be { models, keys }')
    if (options.keys === undefined) checkKnownKeys(level, ['models', 'keys'], field)
    const keys = options.keys !== undefined ? options.keys : level.keys
    const keysField = options.keys !== undefined ? field : `${field}.keys`
    assertConfig(Array.isArray(keys) && keys.length > 0, keysField, 'needs at least one real upstream key (is the environment variable set?)')
    keys.forEach((key: unknown, i: number) => {
      // Never echo the value: it is a real key.
      assertConfig(isSecret(key), `${keysField}[${i}]`, 'must be a non-empty string without surrounding spaces (is the environment variable set?)')
    })
    assertConfig(new Set(keys).size === keys.length, keysField, 'lists the same key twice')
    levels.set(name, { name, models: compileModels(level.models, `${field}.models`), keys: [...keys] })
  }
  return levels
}

function forwardKeyList(options: KeysOptions): Array<{ name: string; entry: unknown; field: string }> {
  const raw = options.forwardKeys
  if (raw === undefined) return []
  if (Array.isArray(raw)) {
    return raw.map((entry, i) => {
      assertConfig(isRecord(entry) && typeof entry.name === 'string' && entry.name !== '', `${FIELD}.forwardKeys[${i}].name`, 'must be the caller\'s name (safe to log)')
      return { name: entry.name as string, entry, field: `${FIELD}.forwardKeys[${i}]` }
    })
  }
  assertConfig(isRecord(raw), `${FIELD}.forwardKeys`, 'must be { name: { key, level } } or a list of { name, key, level }')
  return Object.entries(raw).map(([name, entry]) => ({ name, entry, field: `${FIELD}.forwardKeys.${name}` }))
}

function checkCallers(options: KeysOptions, levels: ReadonlyMap<string, Level>): Map<string, Caller> {
  const fallback = levels.size === 1 ? [...levels.values()][0] : levels.get('default')
  const callers = new Map<string, Caller>()
  const names = new Set<string>()
  for (const { name, entry, field } of forwardKeyList(options)) {
    const spec = typeof entry === 'string' ? { key: entry } : entry
    assertConfig(isRecord(spec), field, 'must be the forward key, or { key, level }')
    checkKnownKeys(spec, Array.isArray(options.forwardKeys) ? ['name', 'key', 'level'] : ['key', 'level'], field)
    assertConfig(!names.has(name), field, `names the caller "${name}" twice`)
    names.add(name)
    assertConfig(isSecret(spec.key), `${field}.key`, 'must be a non-empty string without surrounding spaces (is the environment variable set?)')
    let level = fallback
    if (spec.level !== undefined) {
      level = typeof spec.level === 'string' ? levels.get(spec.level) : undefined
      assertConfig(level, `${field}.level`, `${JSON.stringify(spec.level)} is not a level; levels are ${[...levels.keys()].map((l) => `"${l}"`).join(', ')}`)
    }
    assertConfig(level, `${field}.level`, 'is needed when there are several levels and none is named "default"')
    const digest = digestOf(spec.key)
    const twin = callers.get(digest)
    assertConfig(twin === undefined, `${field}.key`, `is the same forward key as "${twin?.name}"; each caller needs its own`)
    callers.set(digest, { name, level })
  }
  // A forward key that is also a real key would let a client send the real key and be "known".
  for (const level of levels.values()) {
    for (const key of level.keys) {
      const caller = callers.get(digestOf(key))
      assertConfig(caller === undefined, `${FIELD}.forwardKeys.${caller?.name}.key`, 'is also a real upstream key; forward keys must differ from real keys')
    }
  }
  return callers
}

function checkLocation(options: KeysOptions): Pick<KeysSettings, 'headers' | 'query'> {
  let headers: readonly string[] | undefined
  if (options.header !== undefined) {
    const list = typeof options.header === 'string' ? [options.header] : options.header
    assertConfig(Array.isArray(list) && list.length > 0, `${FIELD}.header`, 'must be a header name or a non-empty list of them')
    headers = list.map((name: unknown, i: number) => {
      assertConfig(typeof name === 'string' && /^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name), `${FIELD}.header${typeof options.header === 'string' ? '' : `[${i}]`}`, `${JSON.stringify(name)} is not a header name`)
      return name.toLowerCase()
    })
  }
  const query = options.query
  assertConfig(query === undefined || query === false || (typeof query === 'string' && query !== ''), `${FIELD}.query`, 'must be a query parameter name like "key", or false')
  return { headers, query }
}

/** Checks the options, naming the field of the first problem; returns what the hooks need. */
export function resolveKeysOptions(options: KeysOptions): KeysSettings {
  assertConfig(isRecord(options), FIELD, 'needs options: { keys } or { levels, forwardKeys }')
  checkKnownKeys(options, KNOWN, FIELD, HINTS)
  const levels = checkLevels(options)
  const callers = checkCallers(options, levels)
  const runtimeKeys = options.runtimeKeys ?? false
  assertConfig(typeof runtimeKeys === 'boolean', `${FIELD}.runtimeKeys`, 'must be true or false')
  const mode = options.mode ?? (callers.size > 0 || runtimeKeys ? 'require' : 'open')
  assertConfig(mode === 'require' || mode === 'passthrough' || mode === 'open', `${FIELD}.mode`, 'must be "require", "passthrough" or "open"')
  assertConfig(mode === 'open' || callers.size > 0 || runtimeKeys, `${FIELD}.mode`, `"${mode}" needs forwardKeys or runtimeKeys (without them no request could use the pool); use "open" to serve every request from the pool`)
  let openLevel: Level | undefined
  if (mode === 'open') {
    openLevel = levels.size === 1 ? [...levels.values()][0] : levels.get('default')
    assertConfig(openLevel, `${FIELD}.levels`, 'needs a level named "default" in "open" mode: requests without a forward key use it')
  }
  const coolDown = options.coolDown ?? '60s'
  const coolDownMs = parseDuration(coolDown)
  assertConfig(coolDownMs !== undefined && coolDownMs > 0, `${FIELD}.coolDown`, `${JSON.stringify(coolDown)} is not a duration like "60s" or a number of milliseconds`)
  return { levels, callers, mode, openLevel, ...checkLocation(options), coolDownMs, runtimeKeys }
}
