import { expect, test } from "bun:test"
import { render } from "./Prometheus.ts"
import type { ComponentSnapshot } from "./Supervisor.ts"

const component = (overrides: Partial<ComponentSnapshot>): ComponentSnapshot => ({
  name: "parser",
  status: "ready",
  restarts: 0,
  lastHeartbeatAt: 9_000,
  metrics: [],
  heapUsed: 1000,
  lastError: undefined,
  unready: undefined,
  ...overrides,
})

const facts = { now: 10_000, residentMemoryBytes: 123, uptimeSeconds: 5, staleAfterMs: 10_000 }

test("component state and worker metrics in Prometheus text format", () => {
  const text = render(
    [
      component({
        metrics: [
          { name: "parser_pages_total", type: "counter", tags: { source: 'ba"yut' }, value: 7 },
          {
            name: "delivery_latency_seconds",
            type: "histogram",
            tags: {},
            value: 3,
            buckets: [
              [0.1, 1],
              [1, 3],
              [Number.POSITIVE_INFINITY, 3],
            ],
            count: 3,
            sum: 1.5,
          },
        ],
      }),
      component({
        name: "bot",
        status: "backoff",
        restarts: 2,
        lastHeartbeatAt: undefined,
        heapUsed: undefined,
      }),
    ],
    facts,
  )
  const lines = text.split("\n")
  expect(lines).toContain('flatwatch_component_up{component="parser"} 1')
  expect(lines).toContain('flatwatch_component_up{component="bot"} 0')
  expect(lines).toContain('flatwatch_component_restarts_total{component="bot"} 2')
  expect(lines).toContain('flatwatch_component_heartbeat_age_seconds{component="parser"} 1.000')
  expect(lines).toContain('flatwatch_parser_pages_total{component="parser",source="ba\\"yut"} 7')
  expect(lines).toContain(
    'flatwatch_delivery_latency_seconds_bucket{component="parser",le="0.1"} 1',
  )
  expect(lines).toContain(
    'flatwatch_delivery_latency_seconds_bucket{component="parser",le="+Inf"} 3',
  )
  expect(lines).toContain('flatwatch_delivery_latency_seconds_sum{component="parser"} 1.5')
  expect(lines).toContain('flatwatch_delivery_latency_seconds_count{component="parser"} 3')
  expect(lines.filter((l) => l === "# TYPE flatwatch_component_up gauge")).toHaveLength(1)
  expect(lines.filter((l) => l.includes('le="+Inf"'))).toHaveLength(1)
  expect(text.endsWith("\n")).toBe(true)
})

test("a stale heartbeat means down", () => {
  const text = render([component({ lastHeartbeatAt: -5_000 })], facts) // 15 s old, stale after 10 s
  expect(text).toContain('flatwatch_component_up{component="parser"} 0')
})
