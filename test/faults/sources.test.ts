/**
 * Faults of the listing sites, with two sources running side by side: Bayut (the fake Algolia
 * API) and Avito (search pages on a local fixture site).
 *
 * 1. Garbage from both: JSON cut in the middle, HTML soup, an empty body, binary bytes, a page
 *    cut before its results, an oversized page. Expected: each run is recorded (failed, or with
 *    the page counted invalid), nothing is stored from it, the cursor stays, no component
 *    crashes, and the sources work again as soon as the pages do.
 * 2. Avito answers with its block page (the real one from `../shared/fixtures` when present,
 *    else the project's hand-written one). Expected: Avito alone becomes `blocked`, the admin is
 *    told once however many blocked runs follow, and Bayut keeps running and delivering.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test"
import { parseAvitoPage } from "@flatwatch/parser/AvitoSource"
import type { FixtureResponse } from "@flatwatch/parser/FixtureSite"
import { FixtureSite } from "@flatwatch/parser/FixtureSite"
import {
  ownFixture,
  SHARED_FIXTURES_MISSING,
  sharedFixture,
  sharedFixturesPresent,
} from "@flatwatch/parser/SharedFixtures"
import { Effect } from "effect"
import { outboxCounts, restarts, seedSubscribers } from "../support/faults.ts"
import { System, visible } from "../support/system.ts"

setDefaultTimeout(90_000)

const ADMIN = 900
const SUBSCRIBERS = [60_001, 60_002]
const AVITO_PATH = "/moskva/kvartiry/sdam"

let system: System
let avito: FixtureSite
/** What the Avito search page answers now; `avitoQueue` first, one answer per request. */
let avitoPage: FixtureResponse = { body: "" }
const avitoQueue: FixtureResponse[] = []

beforeAll(async () => {
  avito = FixtureSite.start().on(AVITO_PATH, () => avitoQueue.shift() ?? avitoPage)
  avitoPage = { status: 404, body: "<html><body>Not found</body></html>" }
  system = await System.start({
    adminIds: [ADMIN],
    env: {
      AVITO_ENABLED: "true",
      AVITO_URLS: `https://www.avito.ru${AVITO_PATH}?s=104`,
      AVITO_BASE_URL: avito.url,
      AVITO_MARKET: "moscow",
      AVITO_CRON: "* * * * * *",
      AVITO_MAX_PAGES: "1",
      // Blocked runs come back quickly, so that several of them happen within the test.
      PARSER_BLOCKED_BACKOFF: "1 second",
      PARSER_BLOCKED_BACKOFF_MAX: "2 seconds",
      PARSER_FETCH_RETRIES: "1",
      PARSER_MAX_RESPONSE_BYTES: String(1024 * 1024),
    },
  })
  await system.startRunner()
  await seedSubscribers(system, SUBSCRIBERS)
})
afterAll(async () => {
  await system?.stop()
  avito?.stop()
})

interface RunRow {
  readonly source: string
  readonly outcome: string | null
  readonly new: number
  readonly found: number
  readonly invalid: number
  readonly error: string | null
}

/** Waits until `source` has finished `count` runs that started after `since`; returns them. */
const runsSince = (source: string, since: Date, count: number) =>
  system.waitFor(
    `${count} ${source} runs after ${since.toISOString()}`,
    async () => {
      const rows = await system.sql<RunRow[]>`
        select source, outcome::text as outcome, new, found, invalid, error from source_runs
        where source = ${source} and started_at > ${since} and finished_at is not null
        order by id`
      return rows.length >= count ? [...rows] : undefined
    },
    30_000,
  )

const stateOf = async (source: string) => {
  const [row] = await system.sql<{ status: string; cursor: string | null }[]>`
    select status::text as status, cursor from source_state where source = ${source}`
  return row
}

const listingCount = async (source: string) => {
  const [row] = await system.sql<{ n: number }[]>`
    select count(*)::int as n from listings where source = ${source}`
  return row?.n ?? 0
}

/** Bytes that are not text, as a site's broken gzip or a misrouted image would send. */
const binary = (n: number) =>
  String.fromCharCode(...Array.from({ length: n }, (_, i) => (i * 151 + 7) % 256))

describe("sources that misbehave", () => {
  test("garbage pages: runs recorded, nothing stored, cursor kept, no crash; good pages are read again", async () => {
    // A real listing first, so that Bayut has a cursor to keep.
    system.publish({ id: "61001", title: "Before the garbage", price: 7_000 })
    await system.waitForStored(["61001"])
    const bayutBefore = await stateOf("bayut")
    expect(bayutBefore?.cursor).not.toBeNull()
    const bayutListings = await listingCount("bayut")

    const serp = await ownFixture("avito/serp.html")
    const garbage: FixtureResponse[] = [
      // JSON cut in the middle (a dropped connection behind a proxy).
      {
        body: '{"results":[{"hits":[{"externalID":"6',
        headers: { "content-type": "application/json" },
      },
      { body: "<html><body><h1>Ooops</h1><p>Something broke</p></body></html>" },
      { body: "" },
      { body: binary(4096), headers: { "content-type": "application/octet-stream" } },
    ]
    const avitoGarbage: FixtureResponse[] = [
      ...garbage,
      // Cut before the result list begins.
      { body: serp.slice(0, serp.indexOf("catalog-serp") - 20) },
      // Larger than PARSER_MAX_RESPONSE_BYTES.
      { body: `<html><body>${"<div>x</div>".repeat(200_000)}</body></html>` },
    ]
    const since = new Date(system.now())
    system.bayut.override(...garbage)
    avitoQueue.push(...avitoGarbage)
    const bayutRuns = await runsSince("bayut", since, garbage.length + 1)
    const avitoRuns = await runsSince("avito", since, avitoGarbage.length + 1)
    expect(system.bayut.apiRequests).toBeGreaterThan(garbage.length)
    expect(avitoQueue).toEqual([])

    // Every garbage answer left its trace in the run (failed, or the page counted invalid) ...
    for (const run of [...bayutRuns.slice(0, garbage.length), ...avitoRuns.slice(0, 5)]) {
      expect(run.outcome === "failed" || run.invalid > 0).toBe(true)
      expect(run.new).toBe(0)
    }
    // ... the oversized page failed the fetch, named as such.
    expect(avitoRuns.some((r) => r.outcome === "failed" && (r.error ?? "") !== "")).toBe(true)
    // Nothing was stored from it, Bayut's cursor did not move, nobody crashed.
    expect(await listingCount("bayut")).toBe(bayutListings)
    expect(await listingCount("avito")).toBe(0)
    expect((await stateOf("bayut"))?.cursor).toBe(bayutBefore?.cursor ?? null)
    expect(await restarts(system)).toEqual({ bot: 0, parser: 0, subscriptions: 0 })

    // Good pages again: both sources store what they list.
    const expected = await Effect.runPromise(parseAvitoPage(serp, { market: "moscow" }))
    if (expected._tag !== "Listings") throw new Error("the Avito fixture page has no listings")
    avitoPage = { body: serp }
    system.publish({ id: "61002", title: "After the garbage", price: 7_100 })
    await system.waitForStored(["61001", "61002"])
    await system.waitFor("the Avito listings", async () =>
      (await listingCount("avito")) === expected.listings.length ? true : undefined,
    )
    await system.waitFor("the Bayut alerts", async () =>
      (await outboxCounts(system)).sent === 2 * SUBSCRIBERS.length ? true : undefined,
    )
    console.info(
      `[fault garbage pages] bayut runs: ${bayutRuns.map((r) => `${r.outcome}/invalid ${r.invalid}`).join(", ")}; ` +
        `avito runs: ${avitoRuns.map((r) => `${r.outcome}/invalid ${r.invalid}${r.error ? ` (${r.error.slice(0, 60)})` : ""}`).join(", ")}`,
    )
  })

  test("Avito shows its block page: only Avito is blocked, the admin is told once, Bayut keeps delivering", async () => {
    if (!sharedFixturesPresent)
      console.warn(`${SHARED_FIXTURES_MISSING}; using the project's own block page`)
    const blockPage = sharedFixturesPresent
      ? await sharedFixture("avito/page_many_request_0.html")
      : await ownFixture("avito/blocked_ip.html")
    const since = new Date(system.now())
    avitoPage = { body: blockPage }

    // Several blocked runs (backing off 1 s, then 2 s) ...
    const blocked = await system.waitFor(
      "three blocked Avito runs",
      async () => {
        const runs = await runsSince("avito", since, 1)
        const n = runs.filter((r) => r.outcome === "blocked").length
        return n >= 3 ? runs : undefined
      },
      30_000,
    )
    expect((await stateOf("avito"))?.status).toBe("blocked")
    expect(await system.metric("flatwatch_parser_source_status", { source: "avito" })).toBe(2)

    // ... while Bayut runs on, and its subscribers get what it lists.
    system.publish({ id: "61003", title: "While Avito is blocked", price: 7_200 })
    await system.waitFor("the alerts of a Bayut listing while Avito is blocked", async () => {
      const [row] = await system.sql<{ n: number }[]>`
        select count(*)::int as n from deliveries d join listings l on l.id = d.listing_id
        where l.external_id = '61003' and d.status = 'sent'`
      return row?.n === SUBSCRIBERS.length ? true : undefined
    })
    expect((await stateOf("bayut"))?.status).toBe("ok")
    expect(await system.metric("flatwatch_parser_source_status", { source: "bayut" })).toBe(0)

    // The admin was told once: one notice, however many blocked runs.
    const notices = system.fake.limits.deliveredTo(ADMIN)
    expect(notices.map((n) => n.text.split("\n")[0])).toEqual([
      expect.stringContaining("Source avito is blocked"),
    ])
    expect(await restarts(system)).toEqual({ bot: 0, parser: 0, subscriptions: 0 })
    const subscriber = system.user(SUBSCRIBERS[0] ?? 0)
    expect(subscriber.messages().some((m) => visible(m).includes("While Avito is blocked"))).toBe(
      true,
    )
    console.info(
      `[fault block page] ${sharedFixturesPresent ? "real" : "hand-written"} block page: ${blocked.filter((r) => r.outcome === "blocked").length} blocked Avito runs, ` +
        `1 admin notice (“${notices[0]?.text.split("\n")[0]}”); Bayut ok and delivering`,
    )
  })
})
