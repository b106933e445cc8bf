import { PageResult } from "./Listing.ts"

/**
 * Recognising the common bot walls (Cloudflare, Imperva/Incapsula, DataDome, PerimeterX/HUMAN,
 * Akamai, and pages that are essentially a captcha: hCaptcha, reCAPTCHA, GeeTest, Turnstile,
 * Yandex SmartCaptcha) from an HTTP answer, with no per-site markers. Every source shares it: the
 * Fetcher turns a wall into a `Blocked` error, and each page parser checks the body it is given
 * (a saved page in `bun run parse` has no status or headers).
 *
 * It runs on every page, so it never builds a DOM: it reads the status, a few headers, and the
 * first `SCAN_BYTES` characters of the body (walls are small pages; a real result page is
 * megabytes, and only its head is read). One regular expression decides whether anything
 * wall-like is there at all; only then are the vendors told apart.
 */

export type WallVendor =
  | "cloudflare"
  | "imperva"
  | "datadome"
  | "perimeterx"
  | "akamai"
  | "hcaptcha"
  | "recaptcha"
  | "geetest"
  | "yandex"

/** A recognised wall: whose, and what gave it away (for logs, `source_runs` and `/sources`). */
export interface Wall {
  readonly vendor: WallVendor
  readonly reason: string
}

/** Header lookup: a `Headers` object, or a plain record (any case of the names). */
export type WallHeaders =
  | { readonly get: (name: string) => string | null }
  | Readonly<Record<string, string | undefined>>

export interface WallInput {
  /** The HTTP status; absent for a saved page (read as 200). */
  readonly status?: number | undefined
  readonly headers?: WallHeaders | undefined
  readonly body: string
}

/** How much of the body is read. Wall pages are a few to ~50 KB; their markers sit early. */
export const SCAN_BYTES = 64 * 1024

/** Statuses walls answer with; with them, a vendor's weaker traces are enough. */
const WALL_STATUSES: ReadonlySet<number> = new Set([401, 403, 429, 503])

interface Sign {
  readonly vendor: WallVendor
  readonly pattern: RegExp
  readonly reason: string
}

/** Traces found only on wall pages: a wall whatever the status (walls often answer 200). */
const STRONG: ReadonlyArray<Sign> = [
  {
    vendor: "cloudflare",
    pattern: /<title>\s*just a moment\.{0,3}\s*<\/title>/i,
    reason: 'Cloudflare challenge page ("Just a moment...")',
  },
  {
    // The challenge's own script and form; normal pages of Cloudflare sites only load
    // `/cdn-cgi/challenge-platform/scripts/jsd/...`, which is not matched here.
    vendor: "cloudflare",
    pattern: /_cf_chl_opt|cf[-_]chl[-_]|\/cdn-cgi\/challenge-platform\/h\/\w+\/orchestrate\//i,
    reason: "Cloudflare challenge page",
  },
  {
    vendor: "cloudflare",
    pattern: /<title>\s*attention required! \| cloudflare/i,
    reason: 'Cloudflare block page ("Attention Required!")',
  },
  {
    // 1006-1015 and 1020: banned IP, country, browser signature, rate limit, firewall rule.
    vendor: "cloudflare",
    pattern: /cf-error-code[^>]*>\s*10(?:0[6-9]|1[0-5]|20)\s*</i,
    reason: "Cloudflare access error (10xx)",
  },
  {
    vendor: "imperva",
    pattern: /incapsula incident id/i,
    reason: 'Imperva/Incapsula block ("Request unsuccessful. Incapsula incident ID")',
  },
  {
    vendor: "imperva",
    pattern: /pardon our interruption/i,
    reason: 'Imperva bot protection page ("Pardon Our Interruption")',
  },
  {
    // The block page is an iframe onto the resource; normal pages only load it as a script.
    vendor: "imperva",
    pattern: /<iframe[^>]*_incapsula_resource/i,
    reason: "Imperva/Incapsula block page",
  },
  {
    vendor: "datadome",
    pattern: /captcha-delivery\.com/i,
    reason: "DataDome captcha (captcha-delivery.com)",
  },
  {
    vendor: "datadome",
    pattern: /\bdd\s*=\s*\{\s*['"]?(?:rt|cid)['"]?\s*:/,
    reason: "DataDome challenge (dd={...})",
  },
  {
    vendor: "perimeterx",
    pattern: /px-captcha|_pxcaptcha/i,
    reason: "PerimeterX/HUMAN captcha (px-captcha)",
  },
  {
    vendor: "perimeterx",
    pattern: /<title>\s*access to this page has been denied/i,
    reason: 'PerimeterX/HUMAN block page ("Access to this page has been denied")',
  },
  {
    vendor: "akamai",
    pattern: /errors(?:\.|&#46;)edgesuite(?:\.|&#46;)net/i,
    reason: 'Akamai block page ("Access Denied", edgesuite reference)',
  },
]

/** A vendor's traces that normal pages carry too (its sensor script): a wall with a wall status. */
const WEAK: ReadonlyArray<Sign> = [
  {
    vendor: "cloudflare",
    pattern: /challenge-platform/i,
    reason: "Cloudflare block",
  },
  { vendor: "imperva", pattern: /incapsula|imperva/i, reason: "Imperva/Incapsula block" },
  { vendor: "datadome", pattern: /datadome/i, reason: "DataDome block" },
  {
    vendor: "perimeterx",
    pattern: /perimeterx|_pxappid|px-cdn\.net|px-cloud\.net|press\s*(?:&amp;|&)\s*hold/i,
    reason: "PerimeterX/HUMAN block",
  },
]

/**
 * Captcha widgets. Many normal pages carry one (a contact form, a login box), so a widget is a
 * wall only on a page that is essentially the captcha (see `captchaPage`) or with a wall status.
 */
const WIDGETS: ReadonlyArray<Sign> = [
  {
    vendor: "hcaptcha",
    pattern: /hcaptcha\.com|\bh-captcha\b|data-hcaptcha/i,
    reason: "hCaptcha challenge page",
  },
  {
    vendor: "recaptcha",
    pattern: /(?:google\.com|recaptcha\.net|gstatic\.com)\/recaptcha\/|\bg-recaptcha\b/i,
    reason: "reCAPTCHA challenge page",
  },
  {
    vendor: "cloudflare",
    pattern: /challenges\.cloudflare\.com\/turnstile|\bcf-turnstile\b/i,
    reason: "Cloudflare Turnstile challenge page",
  },
  { vendor: "geetest", pattern: /geetest/i, reason: "GeeTest captcha page" },
  { vendor: "yandex", pattern: /smartcaptcha/i, reason: "Yandex SmartCaptcha page" },
]

/** One pass that says whether the body has anything wall-like at all (most pages: no). */
const ANY = new RegExp([...STRONG, ...WEAK, ...WIDGETS].map((s) => s.pattern.source).join("|"), "i")

/** Titles of pages that exist to stop a visitor (used only when the page has a captcha widget). */
const WALL_TITLE =
  /captcha|robot|робот|human|человек|\bverif(?:y|ication)\b|security check|проверк|access (?:denied|restricted)|доступ (?:ограничен|запрещ)|blocked|заблокирован|attention required|are you|\bbots?\b|sicherheit|zugriff/i

const TITLE = /<title[^>]*>([^<]{0,300})/i

/** A page with fewer links than this (and a captcha widget) is the captcha, not a site page. */
const FEW_LINKS = 10
/** Links are counted only on bodies up to this size; result pages are larger and have many. */
const LINK_COUNT_MAX_BYTES = 512 * 1024

const countLinks = (body: string, max: number): number => {
  let count = 0
  let at = 0
  for (;;) {
    at = body.indexOf("<a", at)
    if (at < 0 || count >= max) return count
    const next = body.charCodeAt(at + 2)
    // `<a ` or `<a>` (not `<abbr>`, `<article>`, `<aside>`).
    if (next === 32 || next === 62 || next === 10 || next === 9) count++
    at += 2
  }
}

/** A captcha rendered on the page, not only its script (which many sites load everywhere). */
const WIDGET_ELEMENT =
  /\bg-recaptcha\b|\bh-captcha\b|data-hcaptcha|\bcf-turnstile\b|geetest_|smartcaptcha/i

/**
 * Whether a page with a captcha is the captcha itself: with the widget on the page, its title
 * or almost no links say so; with only a captcha script (an invisible reCAPTCHA on every page of
 * a site), both must.
 */
const captchaPage = (body: string, head: string): boolean => {
  const title = TITLE.exec(head)?.[1]
  const wallTitle = title !== undefined && WALL_TITLE.test(title)
  const fewLinks = body.length <= LINK_COUNT_MAX_BYTES && countLinks(body, FEW_LINKS) < FEW_LINKS
  return WIDGET_ELEMENT.test(head) ? wallTitle || fewLinks : wallTitle && fewLinks
}

const headerOf = (headers: WallHeaders | undefined, name: string): string | null => {
  if (headers === undefined) return null
  if (typeof headers.get === "function") {
    return (headers as { readonly get: (name: string) => string | null }).get(name)
  }
  const record = headers as Readonly<Record<string, string | undefined>>
  const direct = record[name]
  if (direct !== undefined) return direct
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() === name && value !== undefined) return value
  }
  return null
}

/**
 * Walls told apart by a vendor's response headers, on a refusal (401/403) only: every answer of a
 * site behind these vendors carries them, and a 429 or 503 through them may be the site's own
 * rate limit or outage.
 */
const vendorHeaders = (headers: WallHeaders | undefined, status: number): Wall | null => {
  if (headers === undefined || (status !== 401 && status !== 403)) return null
  const server = headerOf(headers, "server")?.toLowerCase() ?? ""
  if (headerOf(headers, "x-datadome") !== null || headerOf(headers, "x-dd-b") !== null) {
    return { vendor: "datadome", reason: "DataDome block (x-datadome header)" }
  }
  const cdn = headerOf(headers, "x-cdn")?.toLowerCase() ?? ""
  if (headerOf(headers, "x-iinfo") !== null || /incapsula|imperva/.test(cdn)) {
    return { vendor: "imperva", reason: "Imperva/Incapsula block (x-iinfo header)" }
  }
  if (server === "cloudflare") {
    return { vendor: "cloudflare", reason: "Cloudflare block (server: cloudflare)" }
  }
  if (server.startsWith("akamaighost")) {
    return { vendor: "akamai", reason: "Akamai block (server: AkamaiGHost)" }
  }
  return null
}

const firstSign = (signs: ReadonlyArray<Sign>, text: string): Sign | undefined =>
  signs.find((s) => s.pattern.test(text))

/**
 * The bot wall an HTTP answer is, or null. A wall is recognised by
 * - `cf-mitigated: challenge` (Cloudflare), whatever the status;
 * - a trace only walls carry (the Cloudflare challenge script or "Just a moment..." title,
 *   "Pardon Our Interruption", an Incapsula incident ID, DataDome's captcha-delivery.com,
 *   PerimeterX's px-captcha, ...), whatever the status: walls often answer 200;
 * - with 401/403/429/503: a vendor's ordinary traces (its sensor script) or a captcha widget;
 *   with 401/403: a vendor's headers (`x-datadome`, `x-iinfo`, `server: cloudflare`,
 *   `server: AkamaiGHost`);
 * - a captcha widget (hCaptcha, reCAPTCHA, Turnstile, GeeTest, SmartCaptcha) on a page that is
 *   essentially the captcha: its title says so ("Are you a robot?", "Доступ ограничен"), or it
 *   has fewer than 10 links. A normal page with a captcha in its contact form is not a wall.
 *
 * A JSON body is read only for DataDome's JSON answer (`{"url":"...captcha-delivery.com..."}`), so
 * listing text in an API answer is never taken for a wall. A bare 401/403 without any vendor
 * trace is not a wall here (the Fetcher still treats it as `Blocked`). Pure and fast: no DOM,
 * at most `SCAN_BYTES` of the body scanned (see `bench/parser-walls.bench.ts`).
 */
export const detectWall = (input: WallInput): Wall | null => {
  const status = input.status ?? 200
  if (headerOf(input.headers, "cf-mitigated")?.toLowerCase() === "challenge") {
    return { vendor: "cloudflare", reason: "Cloudflare challenge (cf-mitigated: challenge)" }
  }
  const wallStatus = WALL_STATUSES.has(status)
  const body = input.body
  const head = body.length > SCAN_BYTES ? body.slice(0, SCAN_BYTES) : body
  const json = /^\s*[[{]/.test(head)
  if (json) {
    if (/captcha-delivery\.com/i.test(head)) {
      return {
        vendor: "datadome",
        reason: "DataDome captcha (JSON answer to captcha-delivery.com)",
      }
    }
    return wallStatus ? vendorHeaders(input.headers, status) : null
  }
  if (!ANY.test(head)) return wallStatus ? vendorHeaders(input.headers, status) : null
  const strong = firstSign(STRONG, head)
  if (strong !== undefined) return { vendor: strong.vendor, reason: strong.reason }
  const widget = firstSign(WIDGETS, head)
  if (wallStatus) {
    // A vendor's sensor script is on every page of its sites, their own 429 and 503 error pages
    // included: it marks a wall only on a refusal (401, 403). A 429 or 503 without a stronger
    // sign is an overload or an outage, retried as such.
    const denied = status === 401 || status === 403
    const weak = denied ? firstSign(WEAK, head) : undefined
    if (weak !== undefined) return { vendor: weak.vendor, reason: weak.reason }
    if (widget !== undefined && (denied || captchaPage(body, head)))
      return { vendor: widget.vendor, reason: widget.reason }
    return vendorHeaders(input.headers, status)
  }
  if (widget !== undefined && captchaPage(body, head)) {
    return { vendor: widget.vendor, reason: widget.reason }
  }
  return null
}

/** How a wall is told to ops: `Cloudflare challenge page (HTTP 403)`. */
export const describeWall = (wall: Wall, status?: number): string =>
  status === undefined ? wall.reason : `${wall.reason} (HTTP ${status})`

/**
 * A page parser's first check, for a body without status or headers (a fetched page already went
 * through the Fetcher's check; a saved one in `bun run parse` did not): `Blocked` with the wall's
 * reason, or null for a page that is no wall.
 */
export const wallPage = (body: string): PageResult | null => {
  const wall = detectWall({ body })
  return wall === null ? null : PageResult.Blocked({ reason: wall.reason })
}
