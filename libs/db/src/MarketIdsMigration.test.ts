import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { cpSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Config, Effect, Redacted } from "effect"
import postgres from "postgres"
import { migrate, migrationsFolder } from "./Migrations.ts"

// Real PostgreSQL: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

/** The committed migrations up to (not including) `tag`: a database as an older release left it. */
let before: string
beforeAll(async () => {
  before = mkdtempSync(join(tmpdir(), "flatwatch-migrations-"))
  cpSync(migrationsFolder, before, { recursive: true })
  const journalPath = join(before, "meta/_journal.json")
  const journal = (await Bun.file(journalPath).json()) as { entries: Array<{ tag: string }> }
  const cut = journal.entries.findIndex((e) => e.tag === "0003_market_ids")
  expect(cut).toBeGreaterThan(0)
  await Bun.write(
    journalPath,
    JSON.stringify({ ...journal, entries: journal.entries.slice(0, cut) }),
  )
})
afterAll(() => rmSync(before, { recursive: true, force: true }))

test("0003_market_ids: rows of the old 'moskva' market become 'moscow'; everything else stays", async () => {
  const server = await Effect.runPromise(Config.string("TEST_DATABASE_URL"))
  const name = `fw_mig_market_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
  const admin = postgres(server, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  const url = new URL(server)
  url.pathname = `/${name}`
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} })
  try {
    await Effect.runPromise(migrate(Redacted.make(url.toString()), { migrationsFolder: before }))
    // Rows written in the old shape: Avito listings as 'moskva', a user's filters and draft.
    await sql`insert into users (id, chat_id) values (1, 1)`
    await sql`insert into filters (user_id, name, market, district_groups) values
      (1, 'Moscow', 'moskva', '{}'), (1, 'Marina', 'dubai', '{"Dubai Marina","JLT"}')`
    await sql`insert into listings (source, external_id, market, url, title, price, price_original, currency) values
      ('avito', 'a1', 'moskva', 'https://www.avito.ru/moskva/kvartiry/1', 'Flat', 50000, 50000, 'RUB'),
      ('bayut', 'b1', 'dubai', 'https://www.bayut.com/property/details-1.html', 'Flat', 9000, 9000, 'AED')`
    await sql`insert into bot_sessions (key, value) values
      ('1', ${sql.json({ draft: { market: "moskva", districtGroups: [] }, lang: "ru" })}),
      ('2', ${sql.json({ draft: { market: "dubai", districtGroups: ["JLT"] } })}),
      ('3', ${sql.json({ lang: "en" })})`

    const { applied } = await Effect.runPromise(migrate(Redacted.make(url.toString())))
    expect(applied).toBeGreaterThanOrEqual(1)

    expect([...(await sql`select name, market, district_groups from filters order by id`)]).toEqual(
      [
        { name: "Moscow", market: "moscow", district_groups: [] },
        { name: "Marina", market: "dubai", district_groups: ["Dubai Marina", "JLT"] },
      ],
    )
    expect([...(await sql`select external_id, market from listings order by id`)]).toEqual([
      { external_id: "a1", market: "moscow" },
      { external_id: "b1", market: "dubai" },
    ])
    expect([...(await sql`select key, value from bot_sessions order by key`)]).toEqual([
      { key: "1", value: { draft: { market: "moscow", districtGroups: [] }, lang: "ru" } },
      { key: "2", value: { draft: { market: "dubai", districtGroups: ["JLT"] } } },
      { key: "3", value: { lang: "en" } },
    ])
  } finally {
    await sql.end()
    await admin.unsafe(`drop database "${name}" with (force)`)
    await admin.end()
  }
})
