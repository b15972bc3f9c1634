// The aifd dashboard: plain ES modules, no build step, no network beyond this admin server.
import { drawChart } from './charts.js'
import { escapeHtml, renderMarkdown } from './markdown.js'

const $ = (selector, root = document) => root.querySelector(selector)
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)]
const MAX_ROWS = 200
const TOKEN_KEY = 'aifd-admin-token'

// ---- token: from ?token= on first load, then kept for this tab only, sent as a header ----------

let token = takeTokenFromUrl() ?? sessionStorage.getItem(TOKEN_KEY)

function takeTokenFromUrl() {
  const url = new URL(location.href)
  const value = url.searchParams.get('token')
  if (value === null) return null
  url.searchParams.delete('token')
  history.replaceState(null, '', url.pathname + url.search + url.hash)
  sessionStorage.setItem(TOKEN_KEY, value)
  return value
}

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } })
  if (response.status === 401) throw new Unauthorized('token refused')
  return response
}

async function apiJson(path, init) {
  const response = await api(path, init)
  const body = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`)
  return body
}

function showLogin(message) {
  events?.close()
  $('#app').hidden = true
  $('#login').hidden = false
  $('#login-error').textContent = message ?? ''
  setLive('locked', 'bad')
  $('#login-token').focus()
}

$('#login-form').addEventListener('submit', (e) => {
  e.preventDefault()
  token = $('#login-token').value.trim()
  sessionStorage.setItem(TOKEN_KEY, token)
  start()
})

// ---- formatting ------------------------------------------------------------------------------

const fmtMs = (ms) => (ms === null || ms === undefined ? '–' : ms < 1 ? '<1 ms' : ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`)
const fmtNum = (n, digits = 1) => (n === null || n === undefined ? '–' : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : Number.isInteger(n) ? String(n) : n.toFixed(digits))
const fmtUsd = (usd) => (usd === null || usd === undefined ? '–' : usd === 0 ? '$0' : usd < 0.01 ? `$${usd.toPrecision(2)}` : `$${usd.toFixed(usd < 100 ? 4 : 2)}`)
/** A usage row's cost: dollars, `*` when partly estimated, and how many exchanges were unpriced. */
const fmtRowCost = (u) => `${fmtUsd(u.costUsd)}${u.estimated ? '*' : ''}${u.unpriced ? `<br><span class="tag warn">unpriced ${u.unpriced}</span>` : ''}`
const fmtTime = (t) => new Date(t).toLocaleTimeString([], { hour12: false })

function setLive(text, kind) {
  const pill = $('#live')
  pill.textContent = text
  pill.className = `pill ${kind ?? ''}`
}

// ---- tabs ------------------------------------------------------------------------------------

$$('#tabs button').forEach((button) =>
  button.addEventListener('click', () => {
    $$('#tabs button').forEach((b) => b.classList.toggle('active', b === button))
    $$('[data-panel]').forEach((panel) => (panel.hidden = panel.dataset.panel !== button.dataset.tab))
    if (button.dataset.tab === 'config') loadConfig().catch(fail)
    if (button.dataset.tab === 'keys') loadKeys().catch(fail)
    if (button.dataset.tab === 'dashboard') redrawCharts()
  }),
)

function fail(error) {
  if (error instanceof Unauthorized) showLogin('That token was refused.')
  else console.error(error)
}

// ---- cards and charts --------------------------------------------------------------------------

let range = '5m'
let stats = { step: 1, points: [] }

function renderCards(minute, inFlight, openStreams) {
  const set = (name, value) => ($(`[data-card="${name}"]`).textContent = value)
  set('rps', fmtNum(minute.requests / 60, 2))
  set('p50', fmtMs(minute.p50))
  set('p99', fmtMs(minute.p99))
  set('tps', fmtNum(minute.tokens / 60))
  set('cache', minute.cacheLookups ? `${Math.round((100 * minute.cacheHits) / minute.cacheLookups)}%` : '–')
  set('limited', String(minute.rateLimited))
  set('errors', String(minute.errors))
  set('inflight', `${inFlight} · ${openStreams}`)
}

function redrawCharts() {
  if ($('[data-panel="dashboard"]').hidden) return
  const { points, step } = stats
  const times = points.map((p) => p.t)
  const perSecond = (key) => points.map((p) => p[key] / step)
  const colors = { a: '#10a37f', b: '#f59e0b', c: '#60a5fa', bad: '#ef4444' }
  const seconds = step < 60
  drawChart($('[data-chart="requests"]'), times, [{ values: perSecond('requests'), color: colors.a, fill: true }], { seconds })
  drawChart($('[data-chart="latency"]'), times, [{ values: points.map((p) => p.p50), color: colors.c }, { values: points.map((p) => p.p99), color: colors.b }], { format: (v) => (v >= 1000 ? `${+(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`), seconds })
  drawChart($('[data-chart="tokens"]'), times, [{ values: perSecond('tokens'), color: colors.c, fill: true }], { seconds })
  drawChart($('[data-chart="cache"]'), times, [{ values: points.map((p) => (p.cacheLookups ? (100 * p.cacheHits) / p.cacheLookups : null)), color: colors.a }], { unit: '%', fixedMax: 100, seconds })
  drawChart($('[data-chart="limited"]'), times, [{ values: points.map((p) => p.rateLimited), color: colors.b, fill: true }], { seconds })
  drawChart($('[data-chart="errors"]'), times, [{ values: points.map((p) => p.errors), color: colors.bad, fill: true }], { seconds })
  drawChart($('[data-chart="cost"]'), times, [{ values: points.map((p) => p.costUsd ?? 0), color: colors.a, fill: true }], { format: (v) => fmtUsd(v), seconds })
}

async function loadStats() {
  stats = await apiJson(`/api/stats?range=${range}`)
  renderCards(stats.lastMinute, stats.inFlight, stats.openStreams)
  renderUsage(stats)
  redrawCharts()
}

$$('#ranges button').forEach((button) =>
  button.addEventListener('click', () => {
    range = button.dataset.range
    $$('#ranges button').forEach((b) => b.classList.toggle('active', b === button))
    loadStats().catch(fail)
  }),
)
addEventListener('resize', () => redrawCharts())

/** Merges the last seconds' points into the 5-minute chart (replacing those it has); the longer ranges refetch now and then. */
let ticks = 0
function onTick(tick) {
  renderCards(tick.lastMinute, tick.inFlight, tick.openStreams)
  renderUsage(tick)
  if (range === '5m') {
    const points = stats.points
    for (const point of tick.points) {
      const at = points.findLastIndex((p) => p.t <= point.t)
      if (at >= 0 && points[at].t === point.t) points[at] = point
      else points.splice(at + 1, 0, point)
    }
    while (points.length > 300) points.shift()
    redrawCharts()
  } else if (++ticks % 15 === 0) loadStats().catch(fail)
}

/** Which period the spend tables show, and the last usage received (re-rendered when it changes). */
let usagePeriod = 'today'
let lastUsage

function usageRows(list) {
  return list.map((k) => {
    const row = document.createElement('tr')
    row.innerHTML = `<td>${escapeHtml(k.key)}</td><td class="num">${k.requests}</td><td class="num">${fmtNum(k.promptTokens)} → ${fmtNum(k.completionTokens)}</td><td class="num">${fmtRowCost(k)}</td>`
    return row
  })
}

function renderUsage(source) {
  if (source) lastUsage = { today: source.usageToday, month: source.usageMonth }
  if (!lastUsage?.today) return
  const today = lastUsage.today
  const spent = today.keys.reduce((sum, k) => sum + k.costUsd, 0)
  $('[data-card="spend"]').textContent = `${fmtUsd(spent)}${today.keys.some((k) => k.estimated) ? '*' : ''}`
  const usage = lastUsage[usagePeriod] ?? today
  $('#keys-day').textContent = usage.period
  $('#keys tbody').replaceChildren(...usageRows(usage.keys))
  $('#models tbody').replaceChildren(...usageRows(usage.models))
}

$$('#usage-periods button').forEach((button) =>
  button.addEventListener('click', () => {
    usagePeriod = button.dataset.period
    $$('#usage-periods button').forEach((b) => b.classList.toggle('active', b === button))
    renderUsage()
  }),
)

// ---- live log ----------------------------------------------------------------------------------

function statusClass(exchange) {
  if (exchange.outcome === 'aborted') return 'aborted'
  if (exchange.status >= 500 || exchange.outcome === 'error') return 'bad'
  if (exchange.status === 429) return 'warn'
  if (exchange.status >= 400) return 'warn'
  return 'ok'
}

function logRow(x) {
  const row = document.createElement('tr')
  row.dataset.id = x.id
  row.tabIndex = 0
  const tokens = x.promptTokens === undefined ? '–' : `${fmtNum(x.promptTokens)} → ${fmtNum(x.completionTokens)}${x.estimated ? '*' : ''}`
  const time = x.stream && x.firstByteMs !== undefined ? `${fmtMs(x.totalMs)} <span class="muted">(${fmtMs(x.firstByteMs)})</span>` : fmtMs(x.totalMs)
  const by = x.answeredBy && x.answeredBy !== 'cache' ? ` <span class="muted">${escapeHtml(x.answeredBy)}</span>` : ''
  row.innerHTML = [
    `<td>${fmtTime(x.time)}</td>`,
    `<td>${escapeHtml(x.route)}${x.provider && x.provider !== 'openai' ? ` <span class="muted">${escapeHtml(x.provider)}</span>` : ''}</td>`,
    `<td>${escapeHtml(x.model ?? '–')}${x.stream ? ' <span class="tag">stream</span>' : ''}</td>`,
    `<td>${escapeHtml(x.key ?? '–')}</td>`,
    `<td><span class="status ${statusClass(x)}">${x.outcome === 'aborted' ? 'aborted' : x.status}</span>${by}</td>`,
    `<td class="num">${tokens}</td>`,
    `<td class="num">${x.costUsd === null ? '<span class="tag warn">unpriced</span>' : `${fmtUsd(x.costUsd)}${x.costUsd !== undefined && x.estimated ? '*' : ''}`}</td>`,
    `<td class="num">${time}</td>`,
    `<td>${x.cache ? `<span class="tag ${x.cache}">${x.cache}</span>` : ''}</td>`,
  ].join('')
  return row
}

function addExchanges(list, prepend) {
  const body = $('#log tbody')
  const rows = list.map(logRow)
  if (prepend) body.prepend(...rows)
  else body.append(...rows)
  while (body.rows.length > MAX_ROWS) body.lastElementChild.remove()
  $('#log-empty').hidden = body.rows.length > 0
  $('#log-count').textContent = body.rows.length ? `(${body.rows.length} most recent)` : ''
}

$('#log tbody').addEventListener('click', (e) => {
  const row = e.target.closest('tr[data-id]')
  if (row) openExchange(row.dataset.id).catch(fail)
})
$('#log tbody').addEventListener('keydown', (e) => {
  const row = e.target.closest('tr[data-id]')
  if (row && e.key === 'Enter') openExchange(row.dataset.id).catch(fail)
})

// ---- exchange detail -------------------------------------------------------------------------

function contentText(content) {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content, null, 2)
  return content.map((part) => (typeof part === 'string' ? part : part?.text ?? (part?.type ? `[${part.type}]` : JSON.stringify(part)))).join('\n\n')
}

/** The request's messages, whichever API shape it has (chat, Responses, Anthropic, completions). */
function requestMessages(request) {
  if (!request || typeof request !== 'object') return []
  const out = []
  if (typeof request.system === 'string') out.push({ role: 'system', text: request.system })
  if (typeof request.instructions === 'string') out.push({ role: 'system', text: request.instructions })
  if (Array.isArray(request.messages)) for (const m of request.messages) out.push({ role: m.role ?? '?', text: contentText(m.content), extra: m.tool_calls })
  else if (typeof request.input === 'string') out.push({ role: 'user', text: request.input })
  else if (Array.isArray(request.input)) for (const m of request.input) out.push({ role: m.role ?? m.type ?? '?', text: contentText(m.content ?? m.output ?? m) })
  else if (request.prompt !== undefined) out.push({ role: 'user', text: contentText(request.prompt) })
  return out
}

function bubble(role, markdown, extra) {
  const item = document.createElement('article')
  item.className = `msg ${escapeHtml(role)}`
  item.innerHTML = `<header>${escapeHtml(role)}</header><div class="md">${renderMarkdown(markdown)}</div>`
  if (extra) {
    const pre = document.createElement('pre')
    pre.textContent = JSON.stringify(extra, null, 2)
    item.append(pre)
  }
  return item
}

function prettyJson(text) {
  if (text === undefined || text === null) return '(not kept)'
  if (typeof text !== 'string') return JSON.stringify(text, null, 2)
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

function fact(list, name, value) {
  if (value === undefined || value === null || value === '') return
  const dt = document.createElement('dt')
  dt.textContent = name
  const dd = document.createElement('dd')
  dd.textContent = value
  list.append(dt, dd)
}

async function openExchange(id) {
  const x = await apiJson(`/api/exchanges/${encodeURIComponent(id)}`)
  $('#ex-title').textContent = `${x.method} ${x.route} ${x.path}`
  const facts = $('#ex-facts')
  facts.replaceChildren()
  fact(facts, 'Status', `${x.status} · ${x.outcome}${x.answeredBy ? ` · answered by ${x.answeredBy}` : ''}`)
  fact(facts, 'When', new Date(x.time).toLocaleString())
  fact(facts, 'Model', x.model)
  fact(facts, 'Provider', x.provider)
  fact(facts, 'Key', x.key)
  if (x.promptTokens !== undefined) fact(facts, 'Tokens', `${x.promptTokens} in → ${x.completionTokens} out${x.estimated ? ' (counted by the gateway)' : ''}`)
  if (x.costUsd !== undefined) fact(facts, 'Cost', x.costUsd === null ? 'unpriced: the model has no price (add it to the config\'s prices)' : `${fmtUsd(x.costUsd)}${x.estimated ? ' (estimated: usage counted by the gateway)' : ''}`)
  fact(facts, 'Time', `${fmtMs(x.totalMs)}${x.firstByteMs !== undefined ? ` · first byte ${fmtMs(x.firstByteMs)}` : ''}`)
  if (x.attempts) fact(facts, 'Upstream', `${x.target ?? ''} · ${x.attempts} attempt${x.attempts === 1 ? '' : 's'}`)
  fact(facts, 'Cache', x.cache)
  if (x.error) fact(facts, 'Error', `${x.error.code}: ${x.error.message}`)

  const conversation = $('#ex-conversation')
  conversation.replaceChildren()
  for (const m of requestMessages(x.request)) conversation.append(bubble(m.role, m.text, m.extra))
  for (const choice of x.answer?.choices ?? []) {
    const item = bubble(choice.role || 'assistant', choice.content, choice.toolCalls?.length ? choice.toolCalls : undefined)
    if (choice.reasoning) {
      const details = document.createElement('details')
      details.innerHTML = `<summary>reasoning</summary><div class="md">${renderMarkdown(choice.reasoning)}</div>`
      item.querySelector('header').after(details)
    }
    if (choice.finishReason) item.querySelector('header').textContent += ` · ${choice.finishReason}`
    conversation.append(item)
  }
  if (!conversation.children.length) {
    const p = document.createElement('p')
    p.className = 'muted'
    p.textContent = 'No conversation to show for this exchange; see Raw JSON.'
    conversation.append(p)
  }
  $('#ex-request').textContent = prettyJson(x.request)
  $('#ex-response').textContent = prettyJson(x.response) + (x.responseTruncated ? '\n… (truncated)' : '')
  showView('conversation')
  $('#exchange').showModal()
}

function showView(view) {
  $$('#ex-views button').forEach((b) => b.classList.toggle('active', b.dataset.view === view))
  $('#ex-conversation').hidden = view !== 'conversation'
  $('#ex-raw').hidden = view !== 'raw'
}
$$('#ex-views button').forEach((b) => b.addEventListener('click', () => showView(b.dataset.view)))
$('#ex-close').addEventListener('click', () => $('#exchange').close())
$('#exchange').addEventListener('click', (e) => e.target === e.currentTarget && e.currentTarget.close())

// ---- config --------------------------------------------------------------------------------------

let config

async function loadConfig() {
  config = await apiJson('/api/config')
  const facts = $('#config-facts')
  facts.replaceChildren()
  fact(facts, 'File', config.file ?? '(none: config passed in code)')
  fact(facts, 'Loaded', new Date(config.loadedAt).toLocaleString())
  fact(facts, 'Mode', config.mode === 'dev' ? 'dev (reloads when the file changes)' : 'run')
  fact(facts, 'Storage', config.storage)
  const error = $('#config-error')
  error.hidden = !config.lastReloadError
  error.textContent = config.lastReloadError ? `The last reload failed; the previous config is still serving.\n${config.lastReloadError}` : ''

  const pluginList = (plugins) => plugins.map((p) => `<li><b>${escapeHtml(p.name)}</b>${p.describe ? ` <span class="muted">${escapeHtml(p.describe)}</span>` : ''}</li>`).join('')
  $('#routes tbody').replaceChildren(
    ...config.routes.map((r) => {
      const row = document.createElement('tr')
      row.innerHTML = `<td><b>${escapeHtml(r.name)}</b></td><td><code>${escapeHtml(r.path)}</code></td><td>${escapeHtml(r.type)}${r.dialect ? `/${escapeHtml(r.dialect)}` : ''}</td><td>${r.targets.map((t) => `<div>${escapeHtml(t)}</div>`).join('')}</td><td><ul class="plugins">${pluginList(r.plugins) || '<li class="muted">none</li>'}</ul></td>`
      return row
    }),
  )
  $('#global-plugins').innerHTML = pluginList(config.globalPlugins) || '<li class="muted">none</li>'
  $('#editor-panel').hidden = !config.editable
  if (config.editable) {
    $('#editor-file').textContent = config.file
    if (!editorDirty) $('#editor').value = config.source ?? ''
  }
  fillRoutes()
  return config
}

let editorDirty = false
$('#editor').addEventListener('input', () => (editorDirty = true))

$('#editor-save').addEventListener('click', async () => {
  const status = $('#editor-status')
  status.className = ''
  status.textContent = 'validating…'
  $('#editor-save').disabled = true
  try {
    const before = config?.loadedAt
    const response = await api('/api/config', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ source: $('#editor').value }) })
    const body = await response.json().catch(() => ({}))
    if (!response.ok) {
      status.className = 'error'
      status.textContent = body?.error?.message ?? `HTTP ${response.status}`
      return
    }
    editorDirty = false
    // In dev mode the file watcher reloads: wait for the new config to appear.
    for (let i = 0; i < 30; i++) {
      await loadConfig()
      if (config.loadedAt !== before || config.lastReloadError) break
      await new Promise((r) => setTimeout(r, 200))
    }
    status.className = config.lastReloadError ? 'error' : 'ok'
    status.textContent = config.lastReloadError ? 'saved, but the reload failed (see above)' : `saved and reloaded at ${new Date(config.loadedAt).toLocaleTimeString([], { hour12: false })}`
  } catch (error) {
    fail(error)
  } finally {
    $('#editor-save').disabled = false
  }
})

// ---- forward keys ----------------------------------------------------------------------------------

const fmtWhen = (ms) => (ms ? new Date(ms).toLocaleString([], { hour12: false }) : '–')

async function loadKeys() {
  const response = await api('/api/keys')
  const body = await response.json().catch(() => ({}))
  const error = $('#key-list-error')
  error.hidden = response.ok
  if (!response.ok) {
    error.textContent = body?.error?.message ?? `HTTP ${response.status}`
    return
  }
  const select = $('#key-level')
  const current = select.value
  select.replaceChildren(...body.levels.map((level) => Object.assign(document.createElement('option'), { value: level, textContent: level })))
  if (current && body.levels.includes(current)) select.value = current
  $('#key-create').disabled = body.levels.length === 0
  $('#key-status').textContent = body.levels.length ? '' : 'No level to choose: add keys({ runtimeKeys: true }) to the config.'
  $('#key-list tbody').replaceChildren(
    ...body.keys.map((k) => {
      const row = document.createElement('tr')
      row.dataset.name = k.name
      const actions = k.source === 'runtime'
        ? `<button type="button" class="secondary" data-action="rotate">Rotate</button> <button type="button" class="secondary danger" data-action="revoke">Revoke</button>`
        : '<span class="muted">from config</span>'
      row.innerHTML = [
        `<td><b>${escapeHtml(k.name)}</b></td>`,
        `<td>${escapeHtml(k.level ?? '–')}</td>`,
        `<td>${k.source === 'config' ? 'from config' : 'runtime'}</td>`,
        `<td>${fmtWhen(k.createdAt)}</td>`,
        `<td>${fmtWhen(k.expiresAt)}</td>`,
        `<td>${fmtWhen(k.lastUsedAt)}</td>`,
        `<td class="num">${k.requests}</td>`,
        `<td class="num">${fmtNum(k.tokens)}</td>`,
        `<td class="num">${fmtUsd(k.costUsd)}${k.estimatedCostUsd > 0 ? '*' : ''}</td>`,
        `<td>${escapeHtml(k.budget ?? '–')}</td>`,
        `<td>${actions}</td>`,
      ].join('')
      return row
    }),
  )
  $('#key-list-empty').hidden = body.keys.length > 0
  $('#keys-count').textContent = body.keys.length ? `(${body.keys.length})` : ''
}

function showSecret(name, secret) {
  $('#key-secret-name').textContent = name
  $('#key-secret-value').textContent = secret
  $('#key-secret').hidden = false
}

$('#key-secret-copy').addEventListener('click', () => navigator.clipboard?.writeText($('#key-secret-value').textContent).catch(() => {}))
$('#key-secret-done').addEventListener('click', () => {
  // The secret leaves the page: it is never shown again.
  $('#key-secret-value').textContent = ''
  $('#key-secret').hidden = true
})

$('#key-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  const status = $('#key-status')
  status.className = ''
  status.textContent = 'creating…'
  try {
    const expires = $('#key-expires').value
    const response = await api('/api/keys', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: $('#key-name').value.trim(), level: $('#key-level').value, expiresAt: expires ? new Date(expires).toISOString() : undefined, budget: $('#key-budget').value.trim() || undefined }),
    })
    const body = await response.json().catch(() => ({}))
    if (!response.ok) {
      status.className = 'error'
      status.textContent = body?.error?.message ?? `HTTP ${response.status}`
      return
    }
    status.textContent = ''
    showSecret(body.name, body.key)
    $('#key-name').value = $('#key-expires').value = $('#key-budget').value = ''
    await loadKeys()
  } catch (error) {
    fail(error)
  }
})

$('#key-list tbody').addEventListener('click', async (e) => {
  const button = e.target.closest('button[data-action]')
  if (!button) return
  const name = button.closest('tr').dataset.name
  const action = button.dataset.action
  if (action === 'revoke' && !confirm(`Revoke the forward key "${name}"? Requests with it are refused on every instance within a second.`)) return
  if (action === 'rotate' && !confirm(`Give "${name}" a new secret? The current one stops working within a second.`)) return
  try {
    const response = await api(`/api/keys/${encodeURIComponent(name)}${action === 'rotate' ? '/rotate' : ''}`, { method: action === 'rotate' ? 'POST' : 'DELETE' })
    const body = await response.json().catch(() => ({}))
    if (!response.ok) {
      $('#key-list-error').hidden = false
      $('#key-list-error').textContent = body?.error?.message ?? `HTTP ${response.status}`
      return
    }
    if (action === 'rotate') showSecret(body.name, body.key)
    await loadKeys()
  } catch (error) {
    fail(error)
  }
})

// ---- playground ----------------------------------------------------------------------------------

const thread = []
let playing

function fillRoutes() {
  const select = $('#pg-route')
  const current = select.value
  select.replaceChildren(
    ...(config?.routes ?? []).map((r) => {
      const option = document.createElement('option')
      option.value = r.name
      option.textContent = `${r.name} (${r.path})`
      return option
    }),
  )
  if (current) select.value = current
}

function renderThread(liveText) {
  const box = $('#pg-thread')
  box.replaceChildren(...thread.map((m) => bubble(m.role, m.content)))
  if (liveText !== undefined) {
    const item = bubble('assistant', liveText || '…')
    item.classList.add('streaming')
    box.append(item)
  }
  box.scrollTop = box.scrollHeight
}

/** Text of one streamed event, for OpenAI chat, Responses and Anthropic streams. */
function deltaText(event) {
  return event?.choices?.[0]?.delta?.content ?? (event?.type === 'response.output_text.delta' ? event.delta : undefined) ?? event?.delta?.text ?? ''
}

async function send(text) {
  const status = $('#pg-status')
  thread.push({ role: 'user', content: text })
  renderThread('')
  playing = new AbortController()
  $('#pg-send').disabled = true
  $('#pg-stop').disabled = false
  status.textContent = 'waiting…'
  let answer = ''
  const started = performance.now()
  try {
    const response = await api('/api/playground', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal: playing.signal,
      body: JSON.stringify({
        route: $('#pg-route').value,
        path: $('#pg-path').value,
        apiKey: $('#pg-key').value,
        body: { model: $('#pg-model').value, messages: thread, stream: true },
      }),
    })
    if (!response.ok) {
      const body = await response.text()
      let message = body
      try {
        message = JSON.parse(body)?.error?.message ?? body
      } catch {}
      throw new Error(`${response.status}: ${message}`)
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buffer += value
      let end
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const raw = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const data = raw.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n')
        if (!data || data === '[DONE]') continue
        try {
          const event = JSON.parse(data)
          if (event.error) throw new Error(event.error.message ?? 'stream error')
          answer += deltaText(event)
        } catch (error) {
          if (error instanceof SyntaxError) continue
          throw error
        }
        if (!answer) status.textContent = 'streaming…'
        renderThread(answer)
      }
    }
    status.textContent = `done in ${fmtMs(performance.now() - started)}`
  } catch (error) {
    if (error instanceof Unauthorized) return fail(error)
    status.textContent = error.name === 'AbortError' ? 'stopped' : `error: ${error.message}`
  } finally {
    if (answer) thread.push({ role: 'assistant', content: answer })
    else if (thread[thread.length - 1]?.role === 'user') thread.pop()
    renderThread()
    $('#pg-send').disabled = false
    $('#pg-stop').disabled = true
    playing = undefined
  }
}

$('#pg-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const text = $('#pg-input').value.trim()
  if (!text || playing) return
  $('#pg-input').value = ''
  send(text)
})
$('#pg-input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) $('#pg-form').requestSubmit()
})
$('#pg-stop').addEventListener('click', () => playing?.abort())
$('#pg-clear').addEventListener('click', () => {
  thread.length = 0
  renderThread()
  $('#pg-status').textContent = ''
})

// ---- live stream ---------------------------------------------------------------------------------

let events

function connect() {
  events?.close()
  events = new EventSource(`/api/events?token=${encodeURIComponent(token)}`)
  events.addEventListener('open', () => setLive('live', 'ok'))
  events.addEventListener('error', () => {
    setLive('reconnecting…', 'warn')
    // A refused token also lands here (EventSource hides the status): check it once.
    api('/api/stats?range=5m').catch((error) => error instanceof Unauthorized && showLogin('That token was refused.'))
  })
  events.addEventListener('exchange', (e) => addExchanges([JSON.parse(e.data).exchange], true))
  events.addEventListener('tick', (e) => onTick(JSON.parse(e.data)))
}

async function start() {
  if (!token) return showLogin()
  try {
    const [recent] = await Promise.all([apiJson('/api/exchanges?limit=' + MAX_ROWS), loadStats(), loadConfig()])
    $('#login').hidden = true
    $('#app').hidden = false
    $('#log tbody').replaceChildren()
    addExchanges(recent.exchanges, false)
    redrawCharts()
    connect()
  } catch (error) {
    if (error instanceof Unauthorized) showLogin(token ? 'That token was refused.' : undefined)
    else {
      setLive('error', 'bad')
      console.error(error)
    }
  }
}

start()
