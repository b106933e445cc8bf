/** Renders the runner's view of its components as Prometheus text exposition format 0.0.4. */
import type { ComponentSnapshot } from "./Supervisor.ts"
import type { MetricSample } from "./WorkerProtocol.ts"

const escapeLabel = (value: string) =>
  value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')

const sanitizeName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_")

const labels = (tags: Record<string, string>) => {
  const entries = Object.entries(tags)
  if (entries.length === 0) return ""
  return `{${entries.map(([k, v]) => `${sanitizeName(k)}="${escapeLabel(v)}"`).join(",")}}`
}

const formatNumber = (n: number) =>
  Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n)

interface Family {
  type: "counter" | "gauge" | "histogram"
  help: string | undefined
  lines: string[]
}

export interface RunnerFacts {
  readonly now: number
  readonly residentMemoryBytes: number
  readonly uptimeSeconds: number
  /** Components that were asked for (`--only`). */
  readonly staleAfterMs: number
}

export const render = (
  components: ReadonlyArray<ComponentSnapshot>,
  facts: RunnerFacts,
): string => {
  const families = new Map<string, Family>()
  const add = (name: string, type: Family["type"], help: string | undefined, line: string) => {
    const family = families.get(name) ?? { type, help, lines: [] }
    family.lines.push(line)
    families.set(name, family)
  }

  add(
    "flatwatch_runner_resident_memory_bytes",
    "gauge",
    "Resident memory of the runner process (all workers).",
    `flatwatch_runner_resident_memory_bytes ${facts.residentMemoryBytes}`,
  )
  add(
    "flatwatch_runner_uptime_seconds",
    "gauge",
    "Seconds since the runner started.",
    `flatwatch_runner_uptime_seconds ${facts.uptimeSeconds.toFixed(3)}`,
  )

  for (const c of components) {
    const l = labels({ component: c.name })
    const age = c.lastHeartbeatAt === undefined ? undefined : (facts.now - c.lastHeartbeatAt) / 1000
    const up = c.status === "ready" && age !== undefined && age * 1000 <= facts.staleAfterMs ? 1 : 0
    add(
      "flatwatch_component_up",
      "gauge",
      "1 when the component's worker is ready and heartbeating.",
      `flatwatch_component_up${l} ${up}`,
    )
    add(
      "flatwatch_component_ready",
      "gauge",
      "1 when the component is up and its own probes (pool, bot intake) find it working.",
      `flatwatch_component_ready${l} ${up === 1 && c.unready === undefined ? 1 : 0}`,
    )
    add(
      "flatwatch_component_restarts_total",
      "counter",
      "Restarts of the component's worker after a crash.",
      `flatwatch_component_restarts_total${l} ${c.restarts}`,
    )
    if (age !== undefined) {
      add(
        "flatwatch_component_heartbeat_age_seconds",
        "gauge",
        "Seconds since the component's last heartbeat.",
        `flatwatch_component_heartbeat_age_seconds${l} ${age.toFixed(3)}`,
      )
    }
    if (c.heapUsed !== undefined) {
      add(
        "flatwatch_component_heap_bytes",
        "gauge",
        "JavaScript heap used by the component's worker.",
        `flatwatch_component_heap_bytes${l} ${c.heapUsed}`,
      )
    }
    for (const m of c.metrics) addSample(add, c.name, m)
  }

  const out: string[] = []
  for (const [name, family] of families) {
    if (family.help)
      out.push(`# HELP ${name} ${family.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`)
    out.push(`# TYPE ${name} ${family.type}`)
    out.push(...family.lines)
  }
  return `${out.join("\n")}\n`
}

const addSample = (
  add: (name: string, type: Family["type"], help: string | undefined, line: string) => void,
  component: string,
  m: MetricSample,
) => {
  const name = `flatwatch_${sanitizeName(m.name)}`
  const tags = { component, ...m.tags }
  if (m.type !== "histogram") {
    add(name, m.type, m.description, `${name}${labels(tags)} ${formatNumber(m.value)}`)
    return
  }
  for (const [bound, count] of m.buckets ?? []) {
    if (!Number.isFinite(bound)) continue // Effect's last boundary is +Inf: emitted below from count
    add(
      name,
      "histogram",
      m.description,
      `${name}_bucket${labels({ ...tags, le: formatNumber(bound) })} ${count}`,
    )
  }
  add(
    name,
    "histogram",
    m.description,
    `${name}_bucket${labels({ ...tags, le: "+Inf" })} ${m.count ?? 0}`,
  )
  add(name, "histogram", m.description, `${name}_sum${labels(tags)} ${formatNumber(m.sum ?? 0)}`)
  add(name, "histogram", m.description, `${name}_count${labels(tags)} ${m.count ?? 0}`)
}
