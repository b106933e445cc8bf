import type { DatabaseError } from "@flatwatch/db/Database"
import type { Effect } from "effect"
import type { Fetcher } from "./Fetcher.ts"
import type { InvalidCard, Listing, PageResult } from "./Listing.ts"

/** What a crawl knows about the source's stored state. */
export interface CrawlContext {
  /** The source's high-water mark from the last complete run (adapter-specific), if any. */
  readonly cursor: string | null
  /** Business time (epoch ms, from the Effect Clock) at the start of the run. */
  readonly now: number
  /** Which of these external ids are already stored for the source. */
  readonly knownIds: (
    ids: ReadonlyArray<string>,
  ) => Effect.Effect<ReadonlySet<string>, DatabaseError>
}

export type CrawlOutcome = "ok" | "empty" | "blocked" | "failed"

/** An invalid card, with the page it was on (1-based, in crawl order). */
export interface CrawlInvalid extends InvalidCard {
  readonly page: number
}

/**
 * What one run read from a source. Listings read before a block or a failure are kept (they are
 * real); `cursor` is set only to a value that never moves the cursor past a listing that was not
 * stored (Bayut: only when the crawl read everything above the old one; paged HTML searches:
 * `partial` after a run that stopped early, see `HtmlListCursor`).
 */
export interface Crawl {
  readonly outcome: CrawlOutcome
  readonly pages: number
  readonly listings: ReadonlyArray<Listing>
  readonly invalid: ReadonlyArray<CrawlInvalid>
  /** Cards deliberately left out (sale ads, offices). */
  readonly skipped: number
  /** The new cursor; absent = leave the stored one as it is. */
  readonly cursor?: string
  /** Why the run was blocked or failed (for source_runs, logs and the admin notice). */
  readonly error?: string
  /** Non-fatal errors (a detail page that failed, a page cut short). */
  readonly errors: number
  /** How the run read the source when not its usual way (a fallback); kept in source_state. */
  readonly via?: string
}

/**
 * What a price-watch read of known listings found. `answered` are the asked ids the source
 * answered for (found, invalid or absent): only they may be taken as gone when they are not in
 * `listings`; ids of requests that were blocked or failed, or never sent, are not in it.
 */
export interface Recheck {
  /** `ok` when every request was answered; `blocked`/`failed` stop at the first such request. */
  readonly outcome: "ok" | "blocked" | "failed"
  readonly requests: number
  /** The current state of the asked listings the source still has. */
  readonly listings: ReadonlyArray<Listing>
  readonly answered: ReadonlyArray<string>
  readonly invalid: ReadonlyArray<CrawlInvalid>
  readonly error?: string
  /** Non-fatal errors (an answer that may have left some ids out). */
  readonly errors: number
}

/**
 * A listing source. `crawl` fetches and parses one run's pages; `parse` turns one saved page into
 * a result without any I/O (the ops command and the contract tests use it). `parse` takes the
 * page's URL so relative links become absolute. `recheck` (optional: only sources that can ask
 * for listings by id cheaply have it) reads the current state of known listings by external id,
 * for the price watch.
 */
export interface Source {
  readonly id: string
  readonly market: string
  readonly crawl: (context: CrawlContext) => Effect.Effect<Crawl, DatabaseError, Fetcher>
  readonly parse: (body: string, pageUrl?: string) => Effect.Effect<PageResult>
  readonly recheck?: (externalIds: ReadonlyArray<string>) => Effect.Effect<Recheck, never, Fetcher>
}

/** Collects pages into a `Crawl`; a listing seen on two pages counts once (the first). */
export class CrawlAccumulator {
  pages = 0
  skipped = 0
  errors = 0
  empty = 0
  readonly listings = new Map<string, Listing>()
  readonly invalid: Array<CrawlInvalid> = []

  /** Adds one parsed `Listings` page; returns the listings that were not on earlier pages. */
  add(page: Extract<PageResult, { _tag: "Listings" }>): ReadonlyArray<Listing> {
    const pageNo = this.pages
    const fresh: Array<Listing> = []
    for (const listing of page.listings) {
      if (this.listings.has(listing.externalId)) continue
      this.listings.set(listing.externalId, listing)
      fresh.push(listing)
    }
    for (const card of page.invalid) this.invalid.push({ ...card, page: pageNo })
    this.skipped += page.skipped
    return fresh
  }

  result(
    outcome: CrawlOutcome,
    extra: {
      readonly cursor?: string | undefined
      readonly error?: string | undefined
      readonly via?: string | undefined
    } = {},
  ): Crawl {
    return {
      outcome,
      pages: this.pages,
      listings: [...this.listings.values()],
      invalid: this.invalid,
      skipped: this.skipped,
      errors: this.errors,
      ...(extra.cursor === undefined ? {} : { cursor: extra.cursor }),
      ...(extra.error === undefined ? {} : { error: extra.error }),
      ...(extra.via === undefined ? {} : { via: extra.via }),
    }
  }
}
