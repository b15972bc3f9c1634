const OPEN_BRACE = 0x7b

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09
}

/**
 * `bytes`, a JSON object exactly as the client sent it, with the fields `names` of `body` added
 * before its closing brace. The rest of the body is copied, not re-serialised: a chat history can
 * be megabytes, and the client's own formatting and number spelling go upstream unchanged.
 * A field whose value JSON cannot hold (`undefined`, a function) is left out, as `JSON.stringify` would.
 */
export function appendFields(bytes: Buffer, body: Record<string, unknown>, names: readonly string[]): Buffer {
  // The body parsed as an object, so its last non-blank byte is its closing brace.
  let close = bytes.length - 1
  while (close > 0 && isSpace(bytes[close])) close--
  let before = close - 1
  while (before > 0 && isSpace(bytes[before])) before--
  let comma = bytes[before] !== OPEN_BRACE
  let added = ''
  for (const name of names) {
    const value = JSON.stringify(body[name])
    if (value === undefined) continue
    added += `${comma ? ',' : ''}${JSON.stringify(name)}:${value}`
    comma = true
  }
  if (added === '') return bytes
  return Buffer.concat([bytes.subarray(0, close), Buffer.from(added), bytes.subarray(close)])
}
