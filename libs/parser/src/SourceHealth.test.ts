import { describe, expect, test } from "bun:test"
import { parseTelegramHtml } from "@flatwatch/telegram/FakeBotApiLimits"
import { Duration } from "effect"
import {
  blockedBackoff,
  defaultHealthPolicy,
  type Health,
  nextHealth,
  statusNoticeText,
} from "./SourceHealth.ts"

const NOW = new Date("2025-06-05T12:00:00Z")
const fresh: Health = {
  status: "ok",
  consecutiveFailures: 0,
  consecutiveEmpty: 0,
  blockedUntil: null,
}
const context = {
  now: NOW,
  hadListings: true,
  policy: { ...defaultHealthPolicy, degradedAfter: 3 },
}

describe("source health", () => {
  test("blocked backs off 1 minute, doubling per blocked run in a row, capped at 1 hour", () => {
    const minutes = [1, 2, 3, 4, 5, 6, 7, 8, 20].map(
      (n) => Duration.toMillis(blockedBackoff(n, defaultHealthPolicy)) / 60_000,
    )
    expect(minutes).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60])
    let health = fresh
    const until: Array<number> = []
    for (let i = 0; i < 3; i++) {
      health = nextHealth(health, { outcome: "blocked", found: 0 }, context)
      until.push((health.blockedUntil?.getTime() ?? 0) - NOW.getTime())
    }
    expect(until).toEqual([60_000, 120_000, 240_000])
    expect(health.status).toBe("blocked")
  })

  test("a run with listings after a block: ok, counters and back-off reset", () => {
    const blocked = nextHealth(fresh, { outcome: "blocked", found: 0 }, context)
    expect(nextHealth(blocked, { outcome: "ok", found: 2 }, context)).toEqual(fresh)
  })

  test("runs without listings: degraded after the policy's count, only for a source that had some", () => {
    const statuses = (hadListings: boolean) => {
      let health = fresh
      const seen: Array<string> = []
      for (let i = 0; i < 4; i++) {
        health = nextHealth(health, { outcome: "empty", found: 0 }, { ...context, hadListings })
        seen.push(health.status)
      }
      return seen
    }
    expect(statuses(true)).toEqual(["ok", "ok", "degraded", "degraded"])
    expect(statuses(false)).toEqual(["ok", "ok", "ok", "ok"])
  })

  test("a failed run keeps a blocked source blocked and counts towards degraded", () => {
    const blocked = nextHealth(fresh, { outcome: "blocked", found: 0 }, context)
    expect(nextHealth(blocked, { outcome: "failed", found: 0 }, context).status).toBe("blocked")
    let health = fresh
    for (let i = 0; i < 3; i++)
      health = nextHealth(health, { outcome: "failed", found: 0 }, context)
    expect(health).toMatchObject({ status: "degraded", consecutiveFailures: 3, blockedUntil: null })
  })
})

describe("the admin notice of a status change", () => {
  const change = {
    source: "bayut",
    from: "ok" as const,
    to: "blocked" as const,
    health: {
      ...fresh,
      status: "blocked" as const,
      blockedUntil: new Date("2025-06-05T12:01:00Z"),
    },
    error: `HTTP 403: <html><b>Access & "denied"</b> ${"x".repeat(600)}`,
    runId: 7,
  }

  test("is valid Telegram HTML in both languages, with the error escaped and cut", () => {
    for (const language of ["en", "ru"] as const) {
      const html = statusNoticeText(language, change)
      const parsed = parseTelegramHtml(html)
      if (!parsed.ok) throw new Error(`${parsed.error}\n${html}`)
      expect(parsed.text).toContain('HTTP 403: <html><b>Access & "denied"</b>')
      expect(parsed.text).toContain("2025-06-05 12:01 UTC")
      expect(parsed.text.length).toBeLessThan(700)
    }
    expect(statusNoticeText("en", change)).toContain("Source <b>bayut</b> is blocked (run #7)")
    expect(statusNoticeText("ru", change)).toContain("Источник <b>bayut</b> заблокирован")
  })

  test("recovery and degraded read as such", () => {
    expect(statusNoticeText("en", { ...change, from: "blocked", to: "ok", error: null })).toBe(
      "✅ Source <b>bayut</b> is working again (was blocked, run #7).",
    )
    expect(
      statusNoticeText("en", {
        ...change,
        to: "degraded",
        health: { ...fresh, status: "degraded", consecutiveEmpty: 5 },
        error: null,
      }),
    ).toContain("has found no listings in 5 runs in a row")
  })
})
