/**
 * The dashboard and metrics (`aifd run --webui`): a plugin that records every exchange into a hub,
 * and an admin listener that serves the page, its live stream, its API and /metrics from that hub.
 *
 *   const hub = createMonitorHub()
 *   const gateway = await startGateway(withMonitor(config, hub))
 *   const admin = await startAdmin({ gateway, hub })
 */
export { createMonitorHub, MonitorHub, type MonitorHubOptions, type HubEvent, type Stats } from './hub.ts'
export { monitor, withMonitor } from './monitor-plugin.ts'
export { startAdmin, type AdminOptions, type RunningAdmin } from './server.ts'
export type { ExchangeDetail, ExchangeSummary } from './exchange.ts'
export type { KeyUsage, PeriodUsage } from './key-usage.ts'
export type { SeriesPoint, RangeName } from './series.ts'
export type { ConfigView, PluginView } from './config-view.ts'
