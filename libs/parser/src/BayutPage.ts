import { Effect, Either, Schema } from "effect"
import { cut, withDocument } from "./HtmlDocument.ts"
import { assignedJson } from "./JsonInPage.ts"
import { cleanText } from "./Listing.ts"

/**
 * Bayut's own HTML pages carry the data they show as `window.state = {...}` (decoded without
 * running anything, see `JsonInPage.ts`): a search page holds the Algolia answer it was rendered
 * from (`algolia.content`: `hits[]` of the API's shape), a listing page the listing
 * (`property.data`: the hit's fields plus every photo and the agent's numbers). The listing
 * page's `recommendedProperties` are other listings and are never read.
 */
export type BayutPageState =
  | { readonly _tag: "Search"; readonly content: unknown }
  | {
      readonly _tag: "Detail"
      readonly hit: unknown
      readonly phone: string | null
      readonly photos: ReadonlyArray<string>
    }

/** The URL of a Bayut photo by id (what the site's own pages use). */
export const bayutPhotoUrl = (id: number) =>
  `https://images.bayut.com/thumbnails/${id}-800x600.jpeg`

const Strings = Schema.NullishOr(Schema.Array(Schema.NullishOr(Schema.String)))
const Str = Schema.NullishOr(Schema.String)

const DetailExtras = Schema.Struct({
  externalID: Schema.Union(Schema.String, Schema.Number),
  phoneNumber: Schema.NullishOr(
    Schema.Struct({
      mobileNumbers: Strings,
      phoneNumbers: Strings,
      proxyMobile: Str,
      mobile: Str,
      phone: Str,
    }),
  ),
  photos: Schema.NullishOr(
    Schema.Array(Schema.Struct({ id: Schema.NullishOr(Schema.Number), url: Str })),
  ),
})

const State = Schema.Struct({
  algolia: Schema.optional(
    Schema.NullishOr(Schema.Struct({ content: Schema.optional(Schema.Unknown) })),
  ),
  property: Schema.optional(
    Schema.NullishOr(Schema.Struct({ data: Schema.optional(Schema.Unknown) })),
  ),
})
const decodeState = Schema.decodeUnknownEither(State)
const decodeExtras = Schema.decodeUnknownEither(DetailExtras)

/** What a Bayut HTML page holds, or null when it has no readable `window.state`. */
export const bayutPageState = (html: string): BayutPageState | null => {
  const located = assignedJson(html, "window.state")
  if (!located.ok) return null
  const state = decodeState(located.value)
  if (Either.isLeft(state)) return null
  const data = state.right.property?.data
  const extras = data === null || data === undefined ? null : decodeExtras(data)
  if (extras !== null && Either.isRight(extras)) {
    const numbers = extras.right.phoneNumber
    const phone =
      [
        ...(numbers?.mobileNumbers ?? []),
        numbers?.proxyMobile,
        numbers?.mobile,
        ...(numbers?.phoneNumbers ?? []),
        numbers?.phone,
      ]
        .map((n) => cleanText(n))
        .find((n): n is string => n !== null && /\d{5,}/.test(n.replace(/\D/g, ""))) ?? null
    const photos = (extras.right.photos ?? [])
      .map((p) => (typeof p.id === "number" ? bayutPhotoUrl(p.id) : cleanText(p.url)))
      .filter((p): p is string => p !== null)
    return { _tag: "Detail", hit: data, phone, photos }
  }
  const content = state.right.algolia?.content
  return content === null || content === undefined ? null : { _tag: "Search", content }
}

/**
 * What a listing's HTML page adds to the API: the agent's phone and every photo, from the page's
 * `window.state` (`property.data`); without it, the phone from `tel:` links (happy-dom).
 */
export const parseBayutDetail = (
  html: string,
): Effect.Effect<{ readonly phone: string | null; readonly photos: ReadonlyArray<string> }> => {
  const state = bayutPageState(html)
  if (state?._tag === "Detail" && state.phone !== null) {
    return Effect.succeed({ phone: state.phone, photos: state.photos })
  }
  return parseBayutDetailPhone(html).pipe(
    Effect.map((phone) => ({ phone, photos: state?._tag === "Detail" ? state.photos : [] })),
  )
}

/** The agent's phone from a listing's HTML page (`tel:` links), parsed with happy-dom. */
export const parseBayutDetailPhone = (html: string): Effect.Effect<string | null> => {
  const page = cut(html, { keep: ['a[href^="tel:"]'] })
  if (page.kept === 0) return Effect.succeed(null)
  return withDocument(page.html, (document) => {
    for (const link of document.querySelectorAll('a[href^="tel:"]')) {
      const number = cleanText(decodeURIComponent(link.getAttribute("href") ?? "").slice(4))
      if (number !== null && /\d{5,}/.test(number.replace(/\D/g, ""))) return number
    }
    return null
  })
}
