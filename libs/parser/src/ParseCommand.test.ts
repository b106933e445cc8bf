import { describe, expect, setDefaultTimeout, test } from "bun:test"
import { resolve } from "node:path"
import { describeShared, ownFixture, packagePath, SHARED_FIXTURES_DIR } from "./SharedFixtures.ts"

const root = resolve(import.meta.dir, "../../..")
// Each test starts `bun run parse` processes: slow on a busy machine, never a hang.
setDefaultTimeout(60_000)

// Each test starts `bun` as a process: seconds on a loaded machine, past bun's 5 s default.
setDefaultTimeout(30_000)

/** Runs `bun run parse ...` as ops would, from the repository root. */
const parse = async (...args: Array<string>) => {
  const proc = Bun.spawn(["bun", "run", "parse", ...args], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  })
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    return { stdout, stderr, code }
  } finally {
    proc.kill()
  }
}

describe("bun run parse", () => {
  test("an Avito page: one JSON document with status, listings and invalid cards; exit 0", async () => {
    const { stdout, code } = await parse(
      "--source",
      "avito",
      packagePath("fixtures/avito/serp.html"),
    )
    expect(code).toBe(0)
    const output = JSON.parse(stdout)
    expect(Object.keys(output)).toEqual([
      "file",
      "status",
      "listings",
      "invalid",
      "skipped",
      "fields",
    ])
    expect(output.status).toBe("listings")
    expect(output.listings.map((l: { externalId: string }) => l.externalId)).toEqual([
      "5001",
      "5002",
      "5003",
    ])
    expect(output.listings[0].url).toBe(
      "https://www.avito.ru/moskva/kvartiry/kvartira-studiya_25_m_512_et._5001",
    )
    expect(output.invalid).toEqual([
      { index: 3, id: "5004", reason: 'no rent period in the price "Цена не указана"' },
    ])
  })

  test("a block page and an empty page", async () => {
    const blocked = await parse("--source", "avito", packagePath("fixtures/avito/blocked_ip.html"))
    expect(JSON.parse(blocked.stdout)).toMatchObject({
      status: "blocked",
      reason: "Avito block page (IP block or captcha)",
      listings: [],
    })
    const empty = await parse("--source", "bayut", packagePath("fixtures/bayut/empty.json"))
    expect(JSON.parse(empty.stdout)).toMatchObject({ status: "empty", listings: [], invalid: [] })
  })

  test("an html config checked against a saved page, with the page URL for links", async () => {
    const { stdout, code } = await parse(
      "--source",
      "html",
      "--config",
      packagePath("fixtures/html/example.json"),
      "--url",
      "https://mirror.example.test/search",
      packagePath("fixtures/html/page.html"),
    )
    expect(code).toBe(0)
    const output = JSON.parse(stdout)
    expect(output.listings.map((l: { url: string }) => l.url)).toEqual([
      "https://mirror.example.test/ad/1",
      "https://flats.example.test/ad/2",
    ])
    expect(output.invalid).toHaveLength(1)
  })

  test("--help: the usage on stdout, exit 0", async () => {
    const { stdout, code } = await parse("--help")
    expect(code).toBe(0)
    expect(stdout).toStartWith("usage: bun run parse")
    expect(stdout).toContain("<page-file>...")
  })

  test("several pages at once: skipped cards with reasons, and per field how many listings have it", async () => {
    // The example config with a selector that finds nothing on the page: a broken field.
    const broken = JSON.parse(await ownFixture("html/example.json"))
    broken.fields.areaM2 = { selector: ".no-such-class", type: "number" }
    const path = `${Bun.env.TMPDIR ?? "/tmp"}/flatwatch-area-${process.pid}.json`
    await Bun.write(path, JSON.stringify(broken))
    const { stdout, stderr, code } = await parse(
      "--source",
      "html",
      "--config",
      path,
      packagePath("fixtures/html/page.html"),
      packagePath("fixtures/html/empty.html"),
    )
    expect(code).toBe(0)
    const output = JSON.parse(stdout)
    expect(output.pages.map((p: { status: string }) => p.status)).toEqual(["listings", "empty"])
    expect(output.pages[0].fields).toMatchObject({ id: "2/2", price: "2/2", areaM2: "0/2" })
    expect(stderr).toContain("page.html: listings")
    expect(stderr).toContain("listings 2, invalid 1, skipped 0")
    expect(stderr).toContain("areaM2 0/2")
    expect(stderr).toContain("empty.html: empty")
  })

  test("skipped cards and their reasons", async () => {
    const { stdout, stderr, code } = await parse(
      "--source",
      "html",
      "--config",
      packagePath("sources/propertyfinder.json"),
      packagePath("fixtures/json/propertyfinder_rent.html"),
    )
    expect(code).toBe(0)
    expect(JSON.parse(stdout).skipped).toEqual({
      count: 2,
      reasons: { "not a single property (listing_type project)": 1, 'rent period "sell"': 1 },
    })
    expect(stderr).toContain('skipped 1: rent period "sell"')
    expect(stderr).toContain("rooms 3/3")
  })

  test.each([
    [["--source", "zillow", "page.html"], "unknown source"],
    [["--source", "avito"], "the page file is missing"],
    [["page.html"], "--source is required"],
    [["--source", "html", "page.html"], "needs --config"],
    [["--source", "avito", "--config", "x.json", "page.html"], "--config goes with --source html"],
    [["--source", "avito", "/nonexistent/page.html"], "cannot read the page file"],
    [["--source", "avito", "--verbose", "page.html"], "Unknown option"],
    [["--source", "avito", "page.html", "/nonexistent/two.html"], "cannot read the page file"],
  ])("bad arguments %p: exit 2 with the problem and the usage", async (args, message) => {
    const { stdout, stderr, code } = await parse(...args)
    expect(code).toBe(2)
    expect(stdout).toBe("")
    expect(stderr).toContain(message)
    expect(stderr).toContain("usage: bun run parse")
  })

  test("a broken html config: exit 2 naming the field", async () => {
    const broken = JSON.parse(await ownFixture("html/example.json"))
    delete broken.card
    const path = `${Bun.env.TMPDIR ?? "/tmp"}/flatwatch-broken-${process.pid}.json`
    await Bun.write(path, JSON.stringify(broken))
    const { stderr, code } = await parse(
      "--source",
      "html",
      "--config",
      path,
      packagePath("fixtures/html/page.html"),
    )
    expect(code).toBe(2)
    expect(stderr).toContain("card: is missing")
  })
})

describeShared("bun run parse on the real pages", () => {
  test("the committed DOM.RIA config on the real page (a sale search): 20 skipped as for sale", async () => {
    const { stdout, code } = await parse(
      "--source",
      "html",
      "--config",
      packagePath("sources/domria.json"),
      `${SHARED_FIXTURES_DIR}/domria/serp_page.html`,
    )
    expect(code).toBe(0)
    const output = JSON.parse(stdout)
    expect(output.listings).toHaveLength(0)
    expect(output.skipped).toEqual({ count: 20, reasons: { "for sale": 20 } })
  })

  test("bayut: an API answer and the HTML search page alike", async () => {
    const { stdout, code } = await parse(
      "--source",
      "bayut",
      `${SHARED_FIXTURES_DIR}/bayut/rent_hits_a.algolia.json`,
      `${SHARED_FIXTURES_DIR}/bayut/search_rent_dubai_page1.html`,
    )
    expect(code).toBe(0)
    const [api, html] = JSON.parse(stdout).pages
    expect(api.listings.length).toBeGreaterThan(0)
    expect(html.listings).toHaveLength(24)
    expect(html.listings[0]).toMatchObject({ externalId: "7566309", price: 22500 })
  })
})
