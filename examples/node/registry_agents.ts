// An agent manager behind breakwater in one call: every agent gets its own breaker and retry
// policy from a config document (the seeds' shape: defaults plus `agentSpecific` overrides), and
// a fallback answers while an agent rests. The registry keeps the breakers by name, so an
// operator can read or reset them by agent name.
//
//   npx tsc -p examples/node           (type-check)
//   run: bindings-node/test.sh compiles and runs it (bindings-node/__test__/examples.test.js)

import { ManualClock, Registry, wrapAgentManager, type AgentCallInfo } from 'breakwater'

interface AgentResult {
  agent: string
  output: string
  degraded: boolean
}

/** A stand-in agent runtime: `security` fails until t = 90 s on the clock. */
class AgentManager {
  readonly calls: string[] = []
  constructor(private readonly clock: ManualClock) {}

  async executeAgent(agentName: string, task: string): Promise<AgentResult> {
    this.calls.push(agentName)
    if (agentName === 'security' && this.clock.now() < 90_000) {
      throw Object.assign(new Error('model overloaded'), { status: 503 })
    }
    return { agent: agentName, output: `${agentName}: ${task} done`, degraded: false }
  }

  agents(): string[] {
    return ['architect', 'security']
  }
}

export async function main(log: (line: string) => void = console.log): Promise<string[]> {
  const clock = new ManualClock()
  const registry = Registry.fromObject(
    {
      circuitBreakers: {
        defaults: { failureThreshold: 5, timeout: 60_000 },
        agentSpecific: { security: { failureThreshold: 2, timeout: 30_000, successThreshold: 1 } },
      },
      retry: { defaults: { maxAttempts: 2, baseDelay: 500, jitter: 'none' } },
    },
    { clock },
  )
  const manager = new AgentManager(clock)
  const agents = wrapAgentManager(manager, {
    registry,
    // Only agent calls are guarded (and typed with the fallback's result); `agents()` stays as it is.
    methods: ['executeAgent'],
    fallback: (_error: unknown, info: AgentCallInfo): AgentResult => ({
      agent: info.agentName,
      output: `${info.agentName} is unavailable (${info.reason}); "${String(info.args[1])}" queued`,
      degraded: true,
    }),
  })

  const transitions: string[] = []
  registry.breaker('security').on('stateChange', (e) => {
    transitions.push(`${e.from} -> ${e.to} (${e.reason})`)
  })

  for (let round = 0; round < 8; round++) {
    for (const name of agents.agents()) {
      const r = await agents.executeAgent(name, `task ${round}`)
      log(`t=${clock.now() / 1000}s ${r.degraded ? '[fallback] ' : ''}${r.output}`)
    }
    clock.advance(15_000)
  }
  const s = registry.getCircuitBreakerStatus('security')
  log(`security: ${s?.state}, ${s?.failuresTotal} failures, opened ${s?.timesOpened}x; agent calls made: ${manager.calls.length}`)
  return transitions
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
}
