import { invalid } from './errors.ts'

/** An image part's URL: a `data:` URL split into its type and base64 data, or a web URL. */
export type ImageSource = { kind: 'base64'; mediaType: string; data: string } | { kind: 'url'; url: string }

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s

/** The image of an OpenAI `image_url` part. */
export function imageSource(part: any, field: string): ImageSource {
  const url = typeof part?.image_url === 'string' ? part.image_url : part?.image_url?.url
  if (typeof url !== 'string' || url === '') throw invalid(`${field}.image_url.url`, 'must be an image URL or a data: URL')
  const data = DATA_URL.exec(url)
  if (data) return { kind: 'base64', mediaType: data[1], data: data[2] }
  if (/^https?:\/\//i.test(url)) return { kind: 'url', url }
  throw invalid(`${field}.image_url.url`, 'must be an http(s) URL or a base64 data: URL')
}

/** The text of a message's `content`: a string, or its text parts joined (other parts refused). */
export function textContent(content: unknown, field: string): string {
  if (typeof content === 'string') return content
  if (content === null || content === undefined) return ''
  if (!Array.isArray(content)) throw invalid(field, 'must be a string or a list of parts')
  let text = ''
  content.forEach((part, i) => {
    if (part?.type !== 'text' || typeof part.text !== 'string') throw invalid(`${field}[${i}]`, 'must be a text part here')
    text += part.text
  })
  return text
}

/** A tool call's `arguments` (a JSON text) as the object providers want. */
export function parseArguments(text: unknown, field: string): Record<string, unknown> {
  if (text === undefined || text === null || text === '') return {}
  if (typeof text !== 'string') throw invalid(field, 'must be a JSON text')
  try {
    const value = JSON.parse(text)
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value
  } catch {}
  throw invalid(field, 'must be a JSON object text')
}
