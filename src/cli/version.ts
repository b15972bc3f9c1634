import { readFileSync } from 'node:fs'

/** The package's version, read from its package.json (works from src/ and from dist/src/). */
export function packageVersion(): string {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'openai-forward' && pkg.version) return pkg.version
    } catch {}
  }
  return '0.0.0'
}
