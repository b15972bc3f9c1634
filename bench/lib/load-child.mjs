// Runs one autocannon load (options as JSON in argv[2]) and prints its result as JSON (see load.mjs).
import autocannon from 'autocannon'

const options = JSON.parse(process.argv[2])
const started = performance.now()
const result = await autocannon({ pipelining: 1, ...options })
process.stdout.write(JSON.stringify({ ...result, wallSeconds: (performance.now() - started) / 1000 }))
