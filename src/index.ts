/// <reference types="node" preserve="true" />
// The public types use Node's (streams, Buffer, IncomingMessage): a user's project gets them with the package.
/**
 * openai-forward: an efficient forwarding gateway for LLM APIs.
 * This is the public API: what a config file and a plugin import.
 */
export { defineForwardConfig } from './config/define.ts'
export { ConfigError, assertConfig, type ConfigIssue } from './config/errors.ts'
export { checkKnownKeys, closestName } from './config/known-keys.ts'
export { loadForwardConfig, type LoadOptions } from './config/load.ts'
export { resolveConfig } from './config/resolve.ts'
export type * from './config/types.ts'
export { definePlugin } from './plugin/define.ts'
export { requestSlot, type RequestSlot } from './plugin/slot.ts'
export type * from './plugin/types.ts'
export { errorResponse, jsonResponse, streamResponse, textResponse } from './plugin/respond.ts'
export { ForwardError, type OpenAIErrorType } from './gateway/errors.ts'
export { ForwardResult, type Outcome, type Timings, type AssembledAnswer, type AssembledChoice, type ToolCall, type Usage } from './gateway/result.ts'
export { parseSSE, sseErrorEvent } from './gateway/sse.ts'
export { mayCarryUsage } from './gateway/assemble.ts'
export { PriceTable, BUILTIN_PRICES, type Cost, type ModelPrice, type PricesConfig } from './pricing/index.ts'
export { ForwardKeyStore, KeyStoreError, keyDigest, mayBeRuntimeKey, type RuntimeKeyRecord, type ListedKey, type ConfigKeyNote, type KeyUsageDelta } from './keys/store.ts'
export type * from './storage/types.ts'
export { countTokens, countChatTokens, encodingForModel, loadEncoding } from './tokenizer.ts'
export { parseDuration, parseRate, parseSize, type Duration, type DurationUnit, type RateLimitItem } from './util/units.ts'
export { parseBudget, calendarPeriod, type Budget, type BudgetItem, type CalendarPeriod } from './util/budget.ts'
export { Gateway, type GatewayOptions } from './gateway/gateway.ts'
export { startGateway, type StartOptions, type RunningGateway } from './server.ts'
export { createMonitorHub, monitor, withMonitor, startAdmin, type MonitorHub, type AdminOptions, type RunningAdmin, type ExchangeDetail, type ExchangeSummary } from './admin/index.ts'
