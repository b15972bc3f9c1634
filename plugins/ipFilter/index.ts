import type { BlockList } from 'node:net'
import { assertConfig, checkKnownKeys, definePlugin, errorResponse, type ForwardContext } from '../../src/index.ts'
import { compileAddresses, inList } from './addresses.ts'
import { clientAddressOf } from './client.ts'

/** Options of the `ipFilter` plugin. Addresses are IPv4 or IPv6, alone or as CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`). */
export interface IpFilterOptions {
  /** Only these clients may pass; everyone else gets 403. Default: everyone (unless denied). */
  allow?: readonly string[]
  /** These clients get 403, even when `allow` lists them. Default: none. */
  deny?: readonly string[]
  /**
   * Proxies whose `X-Forwarded-For` is believed: a list of addresses and ranges, or `true` for
   * loopback only (`127.0.0.0/8`, `::1`: a proxy on the same machine). Default: none, the socket's
   * address is the client's.
   */
  trustProxy?: boolean | readonly string[]
}

const FIELD = 'plugins.ipFilter'
const KNOWN = ['allow', 'deny', 'trustProxy']
const HINTS = { allowlist: 'allow', whitelist: 'allow', denylist: 'deny', blacklist: 'deny', block: 'deny', trustedProxies: 'trustProxy' }
const LOOPBACK = ['127.0.0.0/8', '::1']

/**
 * Allows or refuses clients by address, and names the real client behind trusted proxies in
 * `ctx.clientIp` for the plugins after it (rate limits per IP, logs). Put it first in the chain.
 */
export const ipFilter = definePlugin((options: IpFilterOptions) => {
  assertConfig(typeof options === 'object' && options !== null, FIELD, 'needs options: { allow, deny, trustProxy }')
  checkKnownKeys(options, KNOWN, FIELD, HINTS)
  const { allow: allowed, deny: denied, trustProxy } = options
  assertConfig(allowed !== undefined || denied !== undefined || (trustProxy !== undefined && trustProxy !== false), FIELD, 'sets nothing: give `allow`, `deny` or `trustProxy`')
  assertConfig(allowed === undefined || (Array.isArray(allowed) && allowed.length > 0), `${FIELD}.allow`, 'an empty list would refuse every client; leave `allow` out to allow everyone')
  const allow = allowed && compileAddresses(allowed, `${FIELD}.allow`)
  const deny = denied && compileAddresses(denied, `${FIELD}.deny`)
  assertConfig(trustProxy === undefined || typeof trustProxy === 'boolean' || Array.isArray(trustProxy), `${FIELD}.trustProxy`, 'must be true (loopback proxies), false, or a list of proxy addresses and ranges')
  const trusted: BlockList | undefined = trustProxy === true ? compileAddresses(LOOPBACK, `${FIELD}.trustProxy`)
    : Array.isArray(trustProxy) ? compileAddresses(trustProxy, `${FIELD}.trustProxy`) : undefined

  // Verdicts per client address: a gateway sees the same few addresses again and again, and a
  // BlockList check builds a SocketAddress each time. Bounded, so spoofed variety cannot grow it.
  const verdicts = new Map<string, boolean>()

  function isRefused(client: ReturnType<typeof clientAddressOf>): boolean {
    if (client.address === undefined) return allow !== undefined
    let refused = verdicts.get(client.text)
    if (refused === undefined) {
      refused = (deny !== undefined && inList(deny, client.address)) || (allow !== undefined && !inList(allow, client.address))
      if (verdicts.size >= 10_000) verdicts.clear()
      verdicts.set(client.text, refused)
    }
    return refused
  }

  function onRequest(ctx: ForwardContext): Response | void {
    const client = clientAddressOf(ctx.remoteAddress, ctx.headers['x-forwarded-for'], trusted)
    ctx.clientIp = client.text
    if (isRefused(client)) return errorResponse(403, `Your address (${client.text || 'unknown'}) may not use this gateway.`, 'permission_error', 'ip_forbidden')
  }

  const parts = [allowed && `allow ${allowed.length}`, denied && `deny ${denied.length}`, trusted && `trust proxy ${trustProxy === true ? 'loopback' : (trustProxy as readonly string[]).length}`]
  return { name: 'ipFilter', describe: () => parts.filter(Boolean).join(', '), onRequest }
})
