import { Effect } from "effect"
import { compileCardReader, jsonAccess } from "./CardRules.ts"
import { cut } from "./HtmlDocument.ts"
import { baseFor, classify } from "./HtmlSource.ts"
import type { HtmlSourceConfig } from "./HtmlSourceConfig.ts"
import { type JsonLocator, locateJson } from "./JsonInPage.ts"
import { compileJsonPath } from "./JsonPath.ts"
import { PageResult, unrecognisedPage, validateCandidates } from "./Listing.ts"

/**
 * The page parser of a JSON source: the JSON is found in the page (a `<script>`, a JavaScript
 * assignment) or is the answer itself, the cards are the values `cards` reaches, and each card is
 * read through paths with the same rules as HTML cards. A page without the JSON is checked
 * against the block and empty markers; a card list that is there but empty is an empty page; a
 * `cards` path that reaches nothing at all is reported (a changed site or a wrong path).
 */
export const jsonPageParser = (config: HtmlSourceConfig) => {
  const locator = (config.json ?? "response") as JsonLocator
  const cardsSource = config.cards ?? "[*]"
  const cards = compileJsonPath(cardsSource)
  // The list holding the cards: an empty one is an empty page, a missing one is not.
  const container = /\[\*?\]$/.test(cardsSource)
    ? compileJsonPath(cardsSource.replace(/\[\*?\]$/, "") || "$")
    : null
  const readCard = compileCardReader(config, jsonAccess())
  const markers = (body: string) =>
    cut(body, { keep: [], markers: { empty: config.empty, blocked: config.blocked } }).markers

  return (body: string, pageUrl?: string): Effect.Effect<PageResult> =>
    Effect.sync(() => {
      const located = locateJson(body, locator)
      if (!located.ok) {
        const seen = markers(body)
        if (seen.size > 0) return classify(seen, false)
        return unrecognisedPage(
          locator === "response" && body.trimStart().startsWith("<")
            ? "the answer is HTML, not JSON"
            : located.reason,
        )
      }
      const found = cards.all(located.value)
      if (found.length === 0) {
        const seen = markers(body)
        if (seen.has("blocked")) return classify(seen, false)
        const list = container?.first(located.value)
        if (Array.isArray(list) || seen.has("empty")) return PageResult.Empty()
        return unrecognisedPage(`the JSON has nothing at ${cardsSource}`)
      }
      const base = baseFor(config, pageUrl)
      return validateCandidates(found.map((card) => readCard(card, base)))
    })
}
