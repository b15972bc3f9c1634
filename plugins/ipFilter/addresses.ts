import { BlockList, isIP } from 'node:net'
import { assertConfig } from '../../src/index.ts'

/** An address with its family, as `BlockList` takes it. */
export interface Address {
  address: string
  family: 'ipv4' | 'ipv6'
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/**
 * Reads an address as sockets and proxies write it: `1.2.3.4`, `::1`, `::ffff:1.2.3.4` (an IPv4
 * client on a dual-stack socket: read as IPv4), `fe80::1%eth0`, `[::1]`, `[::1]:443`, `1.2.3.4:80`.
 * `undefined` when it is not an address.
 */
export function parseAddress(value: string): Address | undefined {
  let text = value.trim()
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text)
  if (bracketed) text = bracketed[1]
  else if (/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(text)) text = text.slice(0, text.lastIndexOf(':'))
  const zone = text.indexOf('%')
  if (zone !== -1) text = text.slice(0, zone)
  const mapped = MAPPED_V4.exec(text)
  if (mapped) text = mapped[1]
  const family = isIP(text)
  if (family === 4) return { address: text, family: 'ipv4' }
  if (family === 6) return { address: text.toLowerCase(), family: 'ipv6' }
  return undefined
}

/** Adds one `address` or `address/prefix` entry to `list`; false when it is not one. */
function addEntry(list: BlockList, entry: string): boolean {
  const slash = entry.indexOf('/')
  const address = parseAddress(slash === -1 ? entry : entry.slice(0, slash))
  if (!address || (slash !== -1 && entry.slice(0, slash).trim().startsWith('['))) return false
  if (slash === -1) {
    list.addAddress(address.address, address.family)
    return true
  }
  const prefixText = entry.slice(slash + 1).trim()
  if (!/^\d{1,3}$/.test(prefixText)) return false
  let prefix = Number(prefixText)
  // `::ffff:10.0.0.0/104` is written for IPv6 but names IPv4 clients, which are matched as IPv4.
  if (address.family === 'ipv4' && MAPPED_V4.test(entry.slice(0, slash).trim())) {
    if (prefix < 96) return false
    prefix -= 96
  }
  if (prefix > (address.family === 'ipv4' ? 32 : 128)) return false
  list.addSubnet(address.address, prefix, address.family)
  return true
}

/**
 * Compiles a list of addresses and CIDR ranges into one `BlockList` (node:net), once, when the
 * config loads. Throws a `ConfigError` naming the first bad entry (`plugins.ipFilter.allow[2]`).
 */
export function compileAddresses(entries: readonly string[], field: string): BlockList {
  assertConfig(Array.isArray(entries), field, 'must be a list of addresses and CIDR ranges, like ["10.0.0.0/8", "::1"]')
  const list = new BlockList()
  entries.forEach((entry: unknown, i: number) => {
    assertConfig(typeof entry === 'string' && addEntry(list, entry.trim()), `${field}[${i}]`, `${JSON.stringify(entry)} is not an IPv4/IPv6 address or CIDR range like "10.0.0.0/8" or "2001:db8::/32"`)
  })
  return list
}

/** Whether `address` is in `list`. */
export function inList(list: BlockList, address: Address): boolean {
  return list.check(address.address, address.family)
}
