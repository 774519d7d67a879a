// A typed, guarded HTTP client: `wrap` keeps the function's parameters and return type; 5xx
// responses count as failures (the default `isFailure`) but are still returned; the caller's
// AbortSignal cancels a call without counting it against the service.
//
//   npx tsc -p examples/node           (type-check)
//   run: bindings-node/test.sh compiles and runs it against a local server on 127.0.0.1

import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CircuitBreaker, CircuitOpenError, ManualClock, classifyError } from 'breakwater'

interface Completion {
  id: number
  text: string
}

async function fetchCompletion(baseUrl: string, prompt: string, signal?: AbortSignal): Promise<Completion> {
  const res = await fetch(`${baseUrl}/complete?prompt=${encodeURIComponent(prompt)}`, { signal })
  if (!res.ok) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status })
  return (await res.json()) as Completion
}

/** A local server that fails its first three requests with 503, then answers. */
function flakyServer(): Promise<Server> {
  let requests = 0
  const server = createServer((req, res) => {
    requests++
    if (requests <= 3) {
      res.writeHead(503).end('overloaded')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: requests, text: 'hello' }))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

/** `clock`: tests pass a ManualClock so that waiting for the recovery period takes no time. */
export async function main(log: (line: string) => void = console.log, clock?: ManualClock): Promise<string[]> {
  const sleep = (ms: number): Promise<void> =>
    clock ? clock.sleep(ms) : new Promise((resolve) => setTimeout(resolve, ms))
  const server = await flakyServer()
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const outcomes: string[] = []
  try {
    const breaker = new CircuitBreaker('completions', {
      failureThreshold: 3,
      // A short recovery for the demo; production values are tens of seconds.
      recoveryTimeout: 50,
      successThreshold: 1,
      clock,
    })
    // Same parameters, and Promise<Completion> as the result type.
    const complete: (baseUrl: string, prompt: string, signal?: AbortSignal) => Promise<Completion> = breaker.wrap(fetchCompletion)

    for (let i = 0; i < 5; i++) {
      try {
        const c = await complete(baseUrl, `prompt ${i}`)
        outcomes.push(`ok:${c.text}`)
      } catch (err) {
        if (err instanceof CircuitOpenError) outcomes.push(`rejected:${err.state}`)
        else outcomes.push(`failed:${classifyError(err)}`)
      }
    }
    log(`after the outage: ${outcomes.join(', ')} (breaker ${breaker.state})`)

    await sleep(60) // let the 50 ms recovery period pass
    const c = await complete(baseUrl, 'after recovery')
    outcomes.push(`ok:${c.text}`)
    log(`recovered: ${c.text} (breaker ${breaker.state})`)

    // Cancelling a call: it rejects with the signal's reason and counts nothing.
    const controller = new AbortController()
    const pending = breaker.execute((_ctx, { signal }) => fetchCompletion(baseUrl, 'slow', signal), undefined, {
      signal: controller.signal,
    })
    controller.abort()
    await pending.catch((err: unknown) => outcomes.push(`cancelled:${(err as Error).name}`))
    log(`calls recorded: ${breaker.snapshot().callsTotal}`)
  } finally {
    server.close()
  }
  return outcomes
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
}
