/**
 * Test fixture: starts a `Browser` (owner given as argument), loads the URL given as second
 * argument, prints Chromium's pid as JSON, and waits forever, so that a test can SIGKILL this
 * process as a crashed runner would and check that Chromium does not outlive it.
 */
import { Duration, Effect, Layer, Logger, LogLevel, Option } from "effect"
import { Browser } from "./Browser.ts"
import { BrowserSessionStore } from "./BrowserSession.ts"
import { findChromium } from "./Chromium.ts"

const [owner, url] = process.argv.slice(2)
if (owner === undefined || url === undefined) {
  throw new Error("usage: Browser.fixture.ts <owner> <url>")
}
const chromium = findChromium(process.env.CHROMIUM_PATH)
if (chromium._tag === "Left") throw new Error(chromium.left)

const layer = Browser.layer({
  executablePath: chromium.right,
  idleClose: Duration.minutes(5),
  concurrency: 1,
  owner,
}).pipe(Layer.provide(BrowserSessionStore.layerMemory))

await Effect.runPromise(
  Effect.gen(function* () {
    const browser = yield* Browser
    yield* browser.load({
      source: "fixture",
      url,
      method: "GET",
      headers: {},
      waitFor: [],
      timeout: Duration.seconds(20),
      acceptLanguage: "en",
      proxy: Option.none(),
    })
    const pid = yield* browser.pid
    process.stdout.write(`${JSON.stringify({ pid: Option.getOrNull(pid) })}\n`)
    return yield* Effect.never
  }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Warning)),
)
