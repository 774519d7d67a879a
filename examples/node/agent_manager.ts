// One circuit breaker per agent in front of an agent manager: a failing agent stops receiving
// work for a while instead of slowing every request, and callers fall back while it recovers.
//
//   npx tsc -p examples/node           (type-check)
//   run: bindings-node/test.sh compiles and runs it (bindings-node/__test__/examples.test.js)

import { CircuitBreaker, CircuitOpenError, ManualClock, type StateChangeEvent } from 'breakwater'

interface Task {
  agentName: string
  task: string
}

interface AgentResult {
  agent: string
  output: string
}

/** A stand-in agent runtime whose `security` agent is down for the first minute. */
class Agents {
  constructor(private readonly clock: ManualClock) {}

  async executeAgent(agentName: string, task: string): Promise<AgentResult> {
    if (agentName === 'security' && this.clock.now() < 60_000) {
      throw Object.assign(new Error('upstream model unavailable'), { status: 503 })
    }
    return { agent: agentName, output: `${agentName} did "${task}"` }
  }
}

export async function main(log: (line: string) => void = console.log): Promise<string[]> {
  const clock = new ManualClock()
  const agents = new Agents(clock)
  const breakers = new Map<string, CircuitBreaker>()
  const transitions: string[] = []

  const breakerFor = (agentName: string): CircuitBreaker => {
    let cb = breakers.get(agentName)
    if (cb === undefined) {
      cb = new CircuitBreaker(agentName, { failureThreshold: 3, recoveryTimeout: 30_000, successThreshold: 1, clock })
      cb.on('stateChange', (e: StateChangeEvent) => {
        transitions.push(`${e.component}: ${e.from} -> ${e.to} (${e.reason})`)
        log(`[${e.component}] ${e.from} -> ${e.to} because ${e.reason}`)
      })
      breakers.set(agentName, cb)
    }
    return cb
  }

  const run = async (ctx: Task): Promise<string> => {
    try {
      const result = await breakerFor(ctx.agentName).execute((c) => agents.executeAgent(c.agentName, c.task), ctx)
      return result.output
    } catch (err) {
      if (err instanceof CircuitOpenError) {
        const wait = err.retryAfter === undefined ? 'later' : `in ${Math.ceil(err.retryAfter / 1000)} s`
        return `${ctx.agentName} is resting; "${ctx.task}" queued, next try ${wait}`
      }
      return `${ctx.agentName} failed: ${(err as Error).message}`
    }
  }

  // Ten rounds, ten (virtual) seconds apart.
  for (let round = 0; round < 10; round++) {
    for (const agentName of ['architect', 'security']) {
      log(`t=${clock.now() / 1000}s ${await run({ agentName, task: `review #${round}` })}`)
    }
    clock.advance(10_000)
  }
  const snap = breakerFor('security').snapshot()
  log(`security: state=${snap.state}, failures=${snap.failuresTotal}, rejected=${snap.rejectedTotal}, opened=${snap.timesOpened}x`)
  return transitions
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
}
