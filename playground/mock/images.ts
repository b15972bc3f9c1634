// POST /v1/images/generations (b64_json or url) and GET /mock-images/:name (serves the url form).
import type { Ctx } from './context.ts';
import { sendBytes, sendJson } from './respond.ts';
import { intOr, nowSec, sha256Hex } from './util.ts';

/** A valid 1x1 PNG. */
export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const PNG_B64 = PNG_1X1.toString('base64');

export async function imageGenerations(ctx: Ctx): Promise<void> {
  const body = ctx.json();
  const prompt = typeof body.prompt === 'string' ? body.prompt : '';
  const model = typeof body.model === 'string' ? body.model : 'dall-e-2';
  const n = intOr(body.n, 1, 1, 10);
  const asUrl = body.response_format === 'url' || (body.response_format === undefined && model.startsWith('dall-e'));
  const data = [];
  for (let i = 0; i < n; i++) {
    const item: Record<string, string> = asUrl
      ? { url: `${ctx.baseUrl}/mock-images/img-${sha256Hex(`${prompt}:${i}`).slice(0, 16)}.png` }
      : { b64_json: PNG_B64 };
    if (model === 'dall-e-3') item.revised_prompt = prompt;
    data.push(item);
  }
  sendJson(ctx, 200, { created: nowSec(), data });
}

export async function mockImage(ctx: Ctx): Promise<void> {
  sendBytes(ctx, 200, 'image/png', PNG_1X1);
}
