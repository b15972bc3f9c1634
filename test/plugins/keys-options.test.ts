// The keys plugin's option checks: every mistake fails when the config loads, naming the field,
// and never quoting a key.
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/index.ts'
import { keys } from '../../plugins/index.ts'
import type { KeysOptions } from '../../plugins/keys/index.ts'

function refusal(options: unknown): ConfigError {
  try {
    keys(options as KeysOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error('expected a ConfigError')
}

const levels = { default: { keys: ['sk-real-1'] }, basic: { models: ['gpt-4o-mini'], keys: ['sk-real-2'] } }

describe('keys options', () => {
  it('names a forward key whose level does not exist', () => {
    const error = refusal({ levels, forwardKeys: { alice: { key: 'fk-a', level: 'default' }, bob: { key: 'fk-b', level: 'premium' } } })
    expect(error.field).toBe('plugins.keys.forwardKeys.bob.level')
    expect(error.message).toContain('"premium"')
  })

  it('refuses a misspelled option with the closest known name, and a runtimeKeys that is not a boolean', () => {
    const error = refusal({ levels, forwardKey: { alice: 'fk-a' } })
    expect(error.field).toBe('plugins.keys.forwardKey')
    expect(error.message).toContain('did you mean "forwardKeys"?')
    expect(refusal({ levels, runtimeKeys: 'yes' }).field).toBe('plugins.keys.runtimeKeys')
  })

  it('accepts runtimeKeys alone: requests need a key made at run time', () => {
    expect(keys({ levels, runtimeKeys: true }).describe!()).toContain('require, runtime keys')
  })

  it('refuses an empty pool, or a key that is not set', () => {
    expect(refusal({ keys: [] }).field).toBe('plugins.keys.keys')
    expect(refusal({ levels: { default: { keys: [] } } }).field).toBe('plugins.keys.levels.default.keys')
    expect(refusal({ keys: ['sk-real-1', undefined] }).field).toBe('plugins.keys.keys[1]')
    expect(refusal({}).field).toBe('plugins.keys.levels')
  })

  it('refuses duplicate forward keys without quoting them', () => {
    const error = refusal({ levels, forwardKeys: { alice: 'fk-same-secret', bob: { key: 'fk-same-secret', level: 'basic' } } })
    expect(error.field).toBe('plugins.keys.forwardKeys.bob.key')
    expect(error.message).not.toContain('fk-same-secret')
    expect(refusal({ levels, forwardKeys: [{ name: 'a', key: 'fk-1', level: 'basic' }, { name: 'a', key: 'fk-2', level: 'basic' }] }).field).toBe('plugins.keys.forwardKeys[1]')
  })

  it('refuses a forward key that is also a real key', () => {
    const error = refusal({ levels, forwardKeys: { mallory: { key: 'sk-real-2', level: 'default' } } })
    expect(error.field).toBe('plugins.keys.forwardKeys.mallory.key')
    expect(error.message).not.toContain('sk-real-2')
  })

  it('needs a level for forward keys when several levels exist and none is "default"', () => {
    const twoLevels = { a: { keys: ['sk-1'] }, b: { keys: ['sk-2'] } }
    expect(refusal({ levels: twoLevels, forwardKeys: { alice: 'fk-a' } }).field).toBe('plugins.keys.forwardKeys.alice.level')
    expect(refusal({ levels: twoLevels }).field).toBe('plugins.keys.levels')
  })

  it('checks models, mode, header, query and coolDown', () => {
    expect(refusal({ levels: { default: { models: [], keys: ['sk-1'] } } }).field).toBe('plugins.keys.levels.default.models')
    expect(refusal({ levels: { default: { models: ['gpt-4o', 7], keys: ['sk-1'] } } }).field).toBe('plugins.keys.levels.default.models[1]')
    expect(refusal({ keys: ['sk-1'], mode: 'require' }).field).toBe('plugins.keys.mode')
    expect(refusal({ keys: ['sk-1'], forwardKeys: { a: 'fk-a' }, mode: 'strict' }).field).toBe('plugins.keys.mode')
    expect(refusal({ keys: ['sk-1'], header: 'bad header' }).field).toBe('plugins.keys.header')
    expect(refusal({ keys: ['sk-1'], query: '' }).field).toBe('plugins.keys.query')
    expect(refusal({ keys: ['sk-1'], coolDown: 'soon' }).field).toBe('plugins.keys.coolDown')
    expect(refusal({ keys: ['sk-1'], levels }).field).toBe('plugins.keys')
  })

  it('accepts the shapes it documents', () => {
    expect(keys({ keys: ['sk-1', 'sk-2'] }).describe?.()).toBe('0 forward keys, 1 level, 2 upstream keys, open')
    const plugin = keys({ levels, forwardKeys: [{ name: 'alice', key: 'fk-a' }, { name: 'bob', key: 'fk-b', level: 'basic' }], coolDown: '5m' })
    expect(plugin.describe?.()).toBe('2 forward keys, 2 levels, 2 upstream keys, require')
    expect(plugin.describe?.()).not.toMatch(/sk-|fk-/)
  })
})
