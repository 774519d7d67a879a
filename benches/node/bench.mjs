// breakwater (Node binding) against opossum, cockatiel and p-retry, interleaved in one run:
// every round runs each case once, in a rotating order, and the table reports the median of
// the rounds and the ratio to the bare-await baseline of the same run.
//
//   cd benches/node && ./run.sh            (installs the peers locally, builds, runs)
//   ROUNDS=5 node bench.mjs               (fewer rounds)

import { CircuitBreaker as BwBreaker, Policy, Retry } from 'breakwater'
import { circuitBreaker, handleAll, ConsecutiveBreaker, retry as ckRetry, ExponentialBackoff } from 'cockatiel'
import Opossum from 'opossum'
import pRetry from 'p-retry'

const ROUNDS = Number(process.env.ROUNDS ?? 9)
const N = Number(process.env.N ?? 200_000)
const atrivial = async () => 1

// ---- the cases: each returns ns per op for `n` ops ---------------------------------------------

async function timeLoop(n, body) {
  const t0 = process.hrtime.bigint()
  await body(n)
  return Number(process.hrtime.bigint() - t0) / n
}

const bw = new BwBreaker('bench', { failureThreshold: 5 })
const bwOpen = new BwBreaker('bench-open', { failureThreshold: 1, recoveryTimeout: 86_400_000 })
bwOpen.forceOpen()
const bwPolicy = new Policy({ breaker: new BwBreaker('bench-policy'), retry: new Retry({ maxAttempts: 3 }) })
const bwRetry = new Retry({ maxAttempts: 3 })
const ck = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })
const ckOpen = circuitBreaker(handleAll, { halfOpenAfter: 86_400_000, breaker: new ConsecutiveBreaker(1) })
const ckR = ckRetry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() })
const op = new Opossum(atrivial, { timeout: false })

await ckOpen.execute(() => Promise.reject(new Error('open it'))).catch(() => {})

const cases = {
  closed: {
    'baseline: await atrivial()': (n) => timeLoop(n, async (n) => { for (let i = 0; i < n; i++) await atrivial() }),
    'breakwater cb.execute': (n) => timeLoop(n, async (n) => { for (let i = 0; i < n; i++) await bw.execute(atrivial) }),
    'cockatiel 3 breaker.execute': (n) => timeLoop(n, async (n) => { for (let i = 0; i < n; i++) await ck.execute(atrivial) }),
    'opossum 9 fire (timeout: false)': (n) => timeLoop(n / 10, async (n) => { for (let i = 0; i < n; i++) await op.fire() }),
  },
  open: {
    'baseline: await atrivial()': (n) => timeLoop(n, async (n) => { for (let i = 0; i < n; i++) await atrivial() }),
    'breakwater (CircuitOpenError)': (n) => timeLoop(n / 10, async (n) => { for (let i = 0; i < n; i++) { try { await bwOpen.execute(atrivial) } catch {} } }),
    'cockatiel 3 (BrokenCircuitError)': (n) => timeLoop(n / 10, async (n) => { for (let i = 0; i < n; i++) { try { await ckOpen.execute(atrivial) } catch {} } }),
  },
  retry: {
    'baseline: await atrivial()': (n) => timeLoop(n, async (n) => { for (let i = 0; i < n; i++) await atrivial() }),
    'breakwater Policy (breaker + retry)': (n) => timeLoop(n, async (n) => { for (let i = 0; i < n; i++) await bwPolicy.execute(atrivial) }),
    'breakwater Retry': (n) => timeLoop(n, async (n) => { for (let i = 0; i < n; i++) await bwRetry.execute(atrivial) }),
    'cockatiel 3 retry': (n) => timeLoop(n, async (n) => { for (let i = 0; i < n; i++) await ckR.execute(atrivial) }),
    'p-retry 7 (retries: 3)': (n) => timeLoop(n / 20, async (n) => { for (let i = 0; i < n; i++) await pRetry(atrivial, { retries: 3 }) }),
  },
  inflight: {
    // 1000 calls in flight on one breaker: ns per call (ops/s = 1e9 / ns).
    'baseline: 1000 bare calls awaiting a gate': (n) => batch(n, (gate) => (async () => { await gate })()),
    'breakwater cb.execute': (n) => batch(n, (gate) => bw.execute(() => gate)),
    'cockatiel 3 breaker.execute': (n) => batch(n, (gate) => ck.execute(() => gate)),
  },
}

async function batch(n, call) {
  const batches = Math.max(1, Math.floor(n / 1000))
  const t0 = process.hrtime.bigint()
  for (let b = 0; b < batches; b++) {
    let open
    const gate = new Promise((r) => { open = r })
    const calls = new Array(1000)
    for (let i = 0; i < 1000; i++) calls[i] = call(gate)
    open()
    await Promise.all(calls)
  }
  return Number(process.hrtime.bigint() - t0) / (batches * 1000)
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

console.log(`# breakwater Node bench: ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${ROUNDS} rounds x ${N} ops (interleaved)`)

// Memory per breaker: JS heap after 20,000 idle breakers (needs --expose-gc), and timers left.
if (typeof globalThis.gc === 'function') {
  const { getHeapStatistics } = await import('node:v8')
  const heap = () => {
    for (let i = 0; i < 4; i++) globalThis.gc()
    return getHeapStatistics().used_heap_size
  }
  const perBreaker = (make) => {
    const keep = []
    const h0 = heap()
    for (let i = 0; i < 20_000; i++) keep.push(make(i))
    const bytes = (heap() - h0) / keep.length
    return [bytes, keep]
  }
  const handles = () => process._getActiveHandles().length
  const rows = []
  for (const [name, make] of [
    ['breakwater CircuitBreaker', (i) => new BwBreaker(`m${i}`)],
    ['cockatiel 3 circuitBreaker', () => circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) })],
    ['opossum 9', () => new Opossum(atrivial, { timeout: false })],
  ]) {
    const before = handles()
    const [bytes, keep] = perBreaker(make)
    rows.push(`| ${name} | ${bytes.toFixed(0)} | ${handles() - before} |`)
    for (const b of keep) if (typeof b.shutdown === 'function') b.shutdown()
  }
  console.log(`\n## memory (20,000 idle breakers)\n\n| case | JS heap bytes per breaker | timers/handles left |\n|---|---:|---:|\n${rows.join('\n')}`)
}
for (const [group, entries] of Object.entries(cases)) {
  const names = Object.keys(entries)
  const samples = Object.fromEntries(names.map((k) => [k, []]))
  for (const name of names) await entries[name](Math.min(N, 20_000)) // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length])
    for (const name of order) samples[name].push(await entries[name](N))
  }
  const base = median(samples[names[0]])
  console.log(`\n## ${group}\n\n| case | ns/op (median) | range | x baseline |\n|---|---:|---:|---:|`)
  for (const name of names) {
    const m = median(samples[name])
    const lo = Math.min(...samples[name])
    const hi = Math.max(...samples[name])
    const extra = group === 'inflight' ? ` (${(1e3 / m).toFixed(2)} M ops/s)` : ''
    console.log(`| ${name} | ${m.toFixed(0)}${extra} | ${lo.toFixed(0)}–${hi.toFixed(0)} | ${(m / base).toFixed(2)} |`)
  }
}
