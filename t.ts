import { Effect } from "effect"
import { parseBayutResponse, parseBayutDetail } from "./libs/parser/src/BayutSource.ts"
const s = await Bun.file("../shared/fixtures/bayut/search_rent_dubai_page1.html").text()
const r = parseBayutResponse(s)
if (r.result._tag === "Listings") { console.log(r.hasMore, r.result.listings.length, r.result.invalid, r.result.skipped); const l = r.result.listings; console.log(l[0]?.externalId, l[0]?.price, l[0]?.rooms, l[0]?.neighbourhood, l.filter(x=>x.rooms===0).map(x=>[x.externalId, x.price])) } else console.log(r)
const d = await Bun.file("../shared/fixtures/bayut/detail_rent_studio.html").text()
const r2 = parseBayutResponse(d)
if (r2.result._tag === "Listings") console.log(r2.result.listings.length, r2.result.invalid, r2.result.listings[0]?.externalId, r2.result.listings[0]?.photos.length, r2.result.listings[0]?.agentPhone, r2.result.listings[0]?.rooms)
console.log(await Effect.runPromise(parseBayutDetail(d)).then(x => [x.phone, x.photos.length]))
