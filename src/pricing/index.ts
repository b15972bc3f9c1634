/** Prices per model, and what an exchange cost (`result.cost()`). */
export { PriceTable } from './table.ts'
export { BUILTIN_PRICES } from './builtin.ts'
export { resolvePrices, type PricesConfig } from './resolve.ts'
export type { Cost, ModelPrice } from './types.ts'
