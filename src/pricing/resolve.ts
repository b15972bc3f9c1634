import { readFileSync } from 'node:fs'
import { dirname, resolve as resolvePath } from 'node:path'
import { ConfigError } from '../config/errors.ts'
import { checkKnownKeys } from '../config/known-keys.ts'
import { BUILTIN_PRICES } from './builtin.ts'
import { PriceTable } from './table.ts'
import type { ModelPrice } from './types.ts'

/** The config's `prices`: entries by model name or pattern, or the path of a JSON file holding them. */
export type PricesConfig = string | Record<string, ModelPrice>

const PRICE_FIELDS = ['input', 'cachedInput', 'cacheWrite', 'output', 'request'] as const

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function checkPrice(value: unknown, field: string): ModelPrice {
  if (!isObject(value)) throw new ConfigError(field, 'must be { input, output } in US dollars per million tokens (optional: cachedInput, cacheWrite, request)')
  checkKnownKeys(value, PRICE_FIELDS, field)
  for (const name of PRICE_FIELDS) {
    const price = value[name]
    if (price === undefined && (name !== 'input' && name !== 'output')) continue
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0) {
      throw new ConfigError(`${field}.${name}`, `must be a price ≥ 0 in US dollars${name === 'request' ? ' per request' : ' per million tokens'}, got ${JSON.stringify(price)}`)
    }
  }
  return value as unknown as ModelPrice
}

function readPriceFile(file: string, configFile: string | undefined): unknown {
  const path = resolvePath(configFile ? dirname(configFile) : process.cwd(), file)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError('prices', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ConfigError('prices', `${path} is not valid JSON: ${(error as Error).message}`)
  }
}

/**
 * The price table of a config: the built-in prices, overridden and extended by `prices` (an object,
 * or a JSON file of the same shape, relative to the config file). A `$schema` key in a file is ignored.
 */
export function resolvePrices(value: unknown, configFile: string | undefined): PriceTable {
  if (value === undefined) return new PriceTable(BUILTIN_PRICES)
  const given = typeof value === 'string' ? readPriceFile(value, configFile) : value
  const where = typeof value === 'string' ? `prices (${value})` : 'prices'
  if (!isObject(given)) throw new ConfigError(where, 'must be an object of model name (or pattern like "gpt-4o*") → { input, output }')
  const entries: Record<string, ModelPrice> = { ...BUILTIN_PRICES }
  for (const [model, price] of Object.entries(given)) {
    if (model === '$schema') continue
    if (model === '' || (model.indexOf('*') !== -1 && model.indexOf('*') !== model.length - 1)) {
      throw new ConfigError(`${where}.${model}`, 'must be a model name, or a prefix ending in one "*" (like "gpt-4o*")')
    }
    entries[model] = checkPrice(price, `${where}.${model}`)
  }
  return new PriceTable(entries)
}
