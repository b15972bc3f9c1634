// Credential extraction and checks per dialect. Magic keys: "sk-bad*" → 401, "sk-ratelimited*" → 429.
import type { Ctx } from './context.ts';
import { sendError } from './respond.ts';

/** The credential a request carries, whatever the dialect (for the record). */
export function credentialOf(ctx: Ctx): string | null {
  const h = ctx.req.headers;
  const auth = h.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    if (m) return m[1].trim();
  }
  const x = h['x-api-key'] ?? h['x-goog-api-key'];
  if (typeof x === 'string' && x) return x;
  if (ctx.rawQuery.includes('key=')) return ctx.query.get('key');
  return null;
}

function bearerOf(ctx: Ctx): string | null {
  const auth = ctx.req.headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m ? m[1].trim() : null;
}

/** Checks the route's credential; answers 401/403/429 and returns false when refused. */
export function checkAuth(ctx: Ctx): boolean {
  if (ctx.family === 'openai') {
    const key = bearerOf(ctx);
    if (!key) {
      sendError(ctx, 401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", { code: null });
      return false;
    }
    if (key.startsWith('sk-bad')) {
      sendError(ctx, 401, `Incorrect API key provided: ${key.slice(0, 8)}****. You can find your API key at https://platform.openai.com/account/api-keys.`, { code: 'invalid_api_key' });
      return false;
    }
    if (key.startsWith('sk-ratelimited')) {
      sendError(ctx, 429, 'Rate limit reached for default-model in organization mock-org on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.', {
        headers: { 'retry-after': '1' },
      });
      return false;
    }
    return true;
  }
  if (ctx.family === 'anthropic') {
    // Anthropic takes `x-api-key`, or `Authorization: Bearer` (what @anthropic-ai/sdk 1.x sends for an apiKey).
    const header = ctx.req.headers['x-api-key'];
    const key = typeof header === 'string' && header ? header : bearerOf(ctx);
    if (!key) {
      sendError(ctx, 401, 'x-api-key header is required');
      return false;
    }
    if (key.startsWith('sk-bad')) {
      sendError(ctx, 401, 'invalid x-api-key');
      return false;
    }
    if (key.startsWith('sk-ratelimited')) {
      sendError(ctx, 429, 'Number of request tokens has exceeded your per-minute rate limit (mock).', { headers: { 'retry-after': '1' } });
      return false;
    }
    return true;
  }
  if (ctx.family === 'gemini') {
    const h = ctx.req.headers['x-goog-api-key'];
    const key = typeof h === 'string' && h ? h : ctx.query.get('key');
    if (!key) {
      sendError(ctx, 403, 'Method doesn\'t allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.');
      return false;
    }
    if (key.startsWith('sk-bad')) {
      sendError(ctx, 400, 'API key not valid. Please pass a valid API key.');
      return false;
    }
    if (key.startsWith('sk-ratelimited')) {
      sendError(ctx, 429, 'Resource has been exhausted (e.g. check quota).', { headers: { 'retry-after': '1' } });
      return false;
    }
    return true;
  }
  return true;
}
