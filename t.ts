import { Effect } from "effect"
import { htmlPageParser } from "./libs/parser/src/HtmlSource.ts"
import { loadHtmlSourceConfig } from "./libs/parser/src/HtmlSourceConfig.ts"
for (const [c, f, from, to] of [["domria", "domria/serp_page.html", "prodaja", "dolgosrochnaya-arenda"], ["kleinanzeigen", "kleinanzeigen/serp_page.html", "-196-", "-203-"]]) {
  const config = await Effect.runPromise(loadHtmlSourceConfig(`libs/parser/sources/${c}.json`))
  const html = await Bun.file(`../shared/fixtures/${f}`).text()
  const r = await Effect.runPromise(htmlPageParser(config)(html))
  console.log(c, r._tag === "Listings" ? [r.listings.length, r.invalid, r.skippedReasons, r.listings.map(l=>l.externalId+":"+l.price).join(" ")] : r)
  const r2 = await Effect.runPromise(htmlPageParser(config)(html.replaceAll(from, to)))
  console.log(c, r2._tag === "Listings" ? [r2.listings.length, r2.invalid, r2.skippedReasons] : r2)
}
