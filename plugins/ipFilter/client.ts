import type { BlockList } from 'node:net'
import { inList, parseAddress, type Address } from './addresses.ts'

/**
 * The client's address. The socket's peer, unless that peer is a trusted proxy: then
 * `X-Forwarded-For` is read from the right (each proxy appends the address it saw), skipping
 * trusted hops; the first untrusted hop is the client. Entries left of it are whatever the client
 * wrote and are never believed. A hop that is not an address ends the walk at the last one read.
 */
export function clientAddressOf(remote: string, forwardedFor: string | string[] | undefined, trusted: BlockList | undefined): { text: string; address: Address | undefined } {
  const peer = parseAddress(remote)
  if (!peer || !trusted || !inList(trusted, peer) || forwardedFor === undefined) return { text: peer?.address ?? remote, address: peer }
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',')
  let current = peer
  for (let i = hops.length - 1; i >= 0; i--) {
    if (hops[i].trim() === '') continue
    const hop = parseAddress(hops[i])
    if (!hop) break
    current = hop
    if (!inList(trusted, hop)) break
  }
  return { text: current.address, address: current }
}
