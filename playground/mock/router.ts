import type { IncomingHttpHeaders } from 'node:http';
// Route table: method + path → handler, dialect (family) and name.
import { anthropicModel, anthropicModels, messages } from './anthropic.ts';
import { speech, transcriptions } from './audio.ts';
import { chatCompletions } from './chat.ts';
import type { Ctx } from './context.ts';
import { echo, health, listRecords } from './echo.ts';
import { cancelBatch, createBatch, deleteFile, fileContent, getBatch, getFile, listBatches, listFiles, uploadFile } from './files.ts';
import { gemini, geminiModel, geminiModels } from './gemini.ts';
import { imageGenerations, mockImage } from './images.ts';
import { completions, embeddings, getModel, listModels, moderations } from './openai.ts';
import { responses } from './responses.ts';
import { sendJson } from './respond.ts';
import { resetState } from './state.ts';
import type { Family } from './types.ts';

export interface Route {
  name: string;
  family: Family;
  handler: (ctx: Ctx) => Promise<void> | void;
}

const exact = new Map<string, Route>();
const patterns: { method: string; re: RegExp; route: Route }[] = [];

function on(method: string, path: string, name: string, family: Family, handler: Route['handler']): void {
  exact.set(`${method} ${path}`, { name, family, handler });
}
function onRe(method: string, re: RegExp, name: string, family: Family, handler: Route['handler']): void {
  patterns.push({ method, re, route: { name, family, handler } });
}

on('POST', '/v1/chat/completions', 'chat.completions', 'openai', chatCompletions);
on('POST', '/v1/completions', 'completions', 'openai', completions);
on('POST', '/v1/embeddings', 'embeddings', 'openai', embeddings);
on('GET', '/v1/models', 'models.list', 'openai', listModels);
on('POST', '/v1/moderations', 'moderations', 'openai', moderations);
on('POST', '/v1/responses', 'responses', 'openai', responses);
on('POST', '/v1/audio/speech', 'audio.speech', 'openai', speech);
on('POST', '/v1/audio/transcriptions', 'audio.transcriptions', 'openai', transcriptions);
on('POST', '/v1/audio/translations', 'audio.translations', 'openai', transcriptions);
on('POST', '/v1/images/generations', 'images.generations', 'openai', imageGenerations);
on('POST', '/v1/files', 'files.create', 'openai', uploadFile);
on('GET', '/v1/files', 'files.list', 'openai', listFiles);
on('POST', '/v1/batches', 'batches.create', 'openai', createBatch);
on('GET', '/v1/batches', 'batches.list', 'openai', listBatches);
on('POST', '/v1/messages', 'anthropic.messages', 'anthropic', messages);
on('GET', '/v1beta/models', 'gemini.models.list', 'gemini', geminiModels);
on('GET', '/__mock/health', 'mock.health', 'none', health);
on('GET', '/__mock/requests', 'mock.requests', 'none', listRecords);
on('POST', '/__mock/reset', 'mock.reset', 'none', (ctx) => {
  resetState(ctx.state);
  sendJson(ctx, 200, { ok: true });
});

onRe('GET', /^\/v1\/models\/([^/]+)$/, 'models.retrieve', 'openai', getModel);
onRe('GET', /^\/v1\/files\/([^/]+)$/, 'files.retrieve', 'openai', getFile);
onRe('DELETE', /^\/v1\/files\/([^/]+)$/, 'files.delete', 'openai', deleteFile);
onRe('GET', /^\/v1\/files\/([^/]+)\/content$/, 'files.content', 'openai', fileContent);
onRe('GET', /^\/v1\/batches\/([^/]+)$/, 'batches.retrieve', 'openai', getBatch);
onRe('POST', /^\/v1\/batches\/([^/]+)\/cancel$/, 'batches.cancel', 'openai', cancelBatch);
onRe('POST', /^\/v1(?:beta)?\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens|embedContent)$/, 'gemini', 'gemini', gemini);
onRe('GET', /^\/v1beta\/models\/([^/:]+)$/, 'gemini.models.retrieve', 'gemini', geminiModel);
onRe('GET', /^\/mock-images\/([^/]+)$/, 'mock.image', 'none', mockImage);
onRe('*', /^\/v1\/echo-headers$/, 'echo', 'none', echo);
onRe('*', /^\/(?:v1\/)?echo(?:\/.*)?$/, 'echo', 'none', echo);

// Anthropic's model list shares OpenAI's path; Anthropic clients always send `anthropic-version`.
const anthropicList: Route = { name: 'anthropic.models.list', family: 'anthropic', handler: anthropicModels };
const anthropicOne: Route = { name: 'anthropic.models.retrieve', family: 'anthropic', handler: anthropicModel };

export function matchRoute(method: string, path: string, headers: IncomingHttpHeaders = {}): { route: Route; params: string[] } | null {
  if (method === 'GET' && headers['anthropic-version'] !== undefined) {
    if (path === '/v1/models') return { route: anthropicList, params: [] };
    const one = /^\/v1\/models\/([^/]+)$/.exec(path);
    if (one) return { route: anthropicOne, params: [one[1]] };
  }
  const r = exact.get(`${method} ${path}`);
  if (r) return { route: r, params: [] };
  for (const p of patterns) {
    if (p.method !== '*' && p.method !== method) continue;
    const m = p.re.exec(path);
    if (m) return { route: p.route, params: m.slice(1) };
  }
  return null;
}
