import { Either, Schema } from "effect"
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
