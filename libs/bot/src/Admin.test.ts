import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test"
import { Database } from "@flatwatch/db/Database"
import {
  browserSessions,
  deliveries,
  sourceRuns,
  sourceState,
  subscriptions,
  users,
} from "@flatwatch/db/schema"
import type { RecordedCall } from "@flatwatch/telegram/FakeBotApi"
import * as Html from "@flatwatch/telegram/Html"
import { asc, eq } from "drizzle-orm"
import { BotHarness } from "./BotTestKit.ts"

// Real PostgreSQL and servers: set-up and teardown can outlast bun's 5 s default under load.
setDefaultTimeout(30_000)

const ADMIN = 900
let h: BotHarness

/** Admin 901 has not started the bot yet: Telegram knows no chat with them. */
let adminNeverStarted = true
let callsAtStart = 0
const scopeChat = (call: Pick<RecordedCall, "params">) =>
  (call.params.scope as { chat_id?: unknown } | undefined)?.chat_id

beforeAll(async () => {
  h = await BotHarness.start()
  h.fake.interceptors.push((call) =>
    adminNeverStarted && call.method === "setMyCommands" && scopeChat(call) === 901
      ? { ok: false, error_code: 400, description: "Bad Request: chat not found" }
      : undefined,
  )
  await h.startBot({ ADMIN_IDS: `${ADMIN}, 901` })
  callsAtStart = h.fake.calls.length
})
afterAll(() => h.stop())

const UNKNOWN = "I did not understand that. Use the buttons below, or send /help."

test("the admin commands are in the admins' own command menus, and in no one else's", () => {
  const atStart = h.fake.calls.slice(0, callsAtStart)
  const menus = atStart
    .filter((c) => c.method === "setMyCommands")
    .map((c) => ({
      chat: scopeChat(c) ?? "everyone",
      language: c.params.language_code ?? "any",
      commands: (c.params.commands as Array<{ command: string }>).map((x) => x.command).join(" "),
    }))
  const everyone = "start filters subscription pause resume language help terms paysupport deleteme"
  const admins = `${everyone} stats sources broadcast grant refund`
  expect(menus).toEqual([
    { chat: "everyone", language: "any", commands: everyone },
    { chat: "everyone", language: "ru", commands: everyone },
    { chat: ADMIN, language: "any", commands: admins },
    { chat: ADMIN, language: "ru", commands: admins },
    // Refused (chat not found): logged, and the bot started all the same.
    { chat: 901, language: "any", commands: admins },
  ])
  expect(h.logs.map((l) => l.message)).toContain(
    "the admin command menu of 901 is not set (Bot API setMyCommands: 400 Bad Request: chat not found); their /start sets it",
  )
})

test("admin commands do not exist for other users", async () => {
  const user = h.user(301, { language_code: "en" })
  await user.send("/start")
  for (const command of [
    "/stats",
    "/sources",
    "/broadcast hi all",
    "/grant 301 30",
    "/refund abc",
  ]) {
    expect((await user.send(command)).text).toBe(UNKNOWN)
  }
  const subs = await h.query(
    Database.query((db) => db.select().from(subscriptions).where(eq(subscriptions.userId, 301))),
  )
  expect(subs).toHaveLength(0)
  expect(await h.query(Database.query((db) => db.$count(deliveries)))).toBe(0)
  // A broadcast button pressed by a non-admin is refused.
  expect(await user.pressData("bc:send:abc123", 1)).toMatchObject({
    text: "This button is out of date.",
  })
})

test("/broadcast shows a preview, then queues one delivery per user who has not blocked the bot", async () => {
  const admin = h.user(ADMIN, { language_code: "en" })
  await admin.send("/start")
  for (const id of [302, 303, 304]) await h.user(id, { language_code: "ru" }).send("/start")
  await h.query(
    Database.query((db) =>
      db.update(users).set({ blockedAt: new Date() }).where(eq(users.id, 304)),
    ),
  )
  const preview = await admin.send("/broadcast New: <b>price drops</b> & more")
  // 301, 302, 303 and the admin; 304 blocked the bot.
  expect(preview.text).toBe(
    "📣 <b>Preview</b>: this goes to 4 users.\n\nNew: &lt;b&gt;price drops&lt;/b&gt; &amp; more",
  )
  expect(await h.query(Database.query((db) => db.$count(deliveries)))).toBe(0)
  const sendButton = h.chats.findButton(ADMIN, "📣 Send to 4 users")
  await admin.press("📣 Send to 4 users")
  expect(admin.last()?.text).toContain("📣 Queued for 4 users.")
  const rows = await h.query(
    Database.query((db) => db.select().from(deliveries).orderBy(asc(deliveries.userId))),
  )
  expect(rows.map((r) => r.userId)).toEqual([301, 302, 303, ADMIN])
  expect(rows.every((r) => r.kind === "broadcast" && r.status === "pending")).toBe(true)
  expect(rows[0]?.payload).toEqual({ text: "New: &lt;b&gt;price drops&lt;/b&gt; &amp; more" })
  const id = /^broadcast:([a-z0-9]+):301$/.exec(rows[0]?.dedupeKey ?? "")?.[1]
  expect(id).toBeDefined()
  expect(rows.map((r) => r.dedupeKey)).toEqual(
    [301, 302, 303, ADMIN].map((u) => `broadcast:${id}:${u}`),
  )
  // Pressing the old button again queues nothing more.
  const again = await admin.pressData(
    sendButton?.button.callback_data ?? "",
    sendButton?.message.messageId ?? 1,
  )
  expect(again.text).toBe("This button is out of date.")
  expect(await h.query(Database.query((db) => db.$count(deliveries)))).toBe(4)
})

test("/broadcast can be cancelled, and without a text shows how to use it", async () => {
  const admin = h.user(ADMIN, { language_code: "en" })
  expect((await admin.send("/broadcast")).text).toContain("Usage: <code>/broadcast")
  expect((await admin.send(`/broadcast ${"&".repeat(3501)}`)).text).toBe(
    "A broadcast can be at most 3500 characters; shorten it.",
  )
  await admin.send("/broadcast never mind")
  await admin.press("✖ Cancel")
  expect(admin.last()?.text).toBe("Broadcast cancelled.")
  expect(await h.query(Database.query((db) => db.$count(deliveries)))).toBe(4)
})

test("/grant adds days to a user, who is told", async () => {
  const admin = h.user(ADMIN, { language_code: "en" })
  const user = h.user(302)
  const before = user.messages().length
  const reply = await admin.send("/grant 302 7")
  expect(reply.text).toMatch(
    /^Granted 7 days to 302: access until \d+ \w+ \d{4} at \d\d:\d\d UTC\.$/,
  )
  const subs = await h.query(
    Database.query((db) => db.select().from(subscriptions).where(eq(subscriptions.userId, 302))),
  )
  expect(subs).toHaveLength(1)
  expect(subs[0]?.plan).toBe("grant")
  const days = ((subs[0]?.endsAt.getTime() ?? 0) - (subs[0]?.startsAt.getTime() ?? 0)) / 86_400_000
  expect(days).toBe(7)
  const told = await h.chats.waitUntil(() => user.messages()[before])
  expect(told.text).toContain("🎁 Вам подарено 7 дней: подписка активна до")
  expect((await admin.send("/grant 999999 7")).text).toBe("No user with id 999999.")
  expect((await admin.send("/grant 302 0")).text).toContain("Usage: <code>/grant")
  expect((await admin.send("/grant me please")).text).toContain("Usage: <code>/grant")
})

test("/stats and /sources report what is in the database", async () => {
  const admin = h.user(ADMIN, { language_code: "en" })
  const stats = await admin.send("/stats")
  expect(stats.text).toContain("Users: 5 (blocked the bot: 1)")
  expect(stats.text).toContain("Paying subscribers now: 1")
  expect(stats.text).toContain("Outbox waiting: 4")
  expect((await admin.send("/sources")).text).toBe("🛰 No source has run yet.")
  const at = new Date()
  await h.query(
    Database.query((db) =>
      db.insert(sourceState).values({
        source: "bayut",
        status: "blocked",
        lastRunAt: at,
        lastError: "HTTP 403 <captcha>",
      }),
    ),
  )
  await h.query(
    Database.query((db) =>
      db.insert(sourceRuns).values([
        { source: "bayut", startedAt: at, outcome: "blocked" },
        // A later price-watch run is not the crawl's outcome.
        {
          source: "bayut",
          kind: "price_watch",
          startedAt: new Date(at.getTime() + 1000),
          outcome: "ok",
        },
      ]),
    ),
  )
  const sources = await admin.send("/sources")
  expect(sources.text).toContain("<b>bayut</b>: blocked")
  expect(sources.text).toContain("(blocked), last success —")
  expect(sources.text).toContain("error: HTTP 403 &lt;captcha&gt;")
  expect(sources.text).not.toContain("through the browser")
  // A fetch: auto source that switched to the browser says so, and since when.
  await h.query(
    Database.query((db) =>
      db
        .insert(browserSessions)
        .values({ source: "bayut", fetchVia: "browser", fetchViaSince: at }),
    ),
  )
  expect((await admin.send("/sources")).text).toMatch(
    /<b>bayut<\/b>: blocked\n.*\n {2}fetching through the browser since .+ \(plain requests blocked\)\n {2}error: /,
  )
  expect(sources.text).not.toContain("read via")

  // The API blocked, the run read the HTML search page instead: /sources says so.
  await h.query(
    Database.query((db) =>
      db
        .update(sourceState)
        .set({
          status: "ok",
          lastError: null,
          via: "html search page (the API answered with a block)",
        })
        .where(eq(sourceState.source, "bayut")),
    ),
  )
  const fallback = await admin.send("/sources")
  expect(fallback.text).toContain("<b>bayut</b>: ok")
  expect(fallback.text).toContain("read via: html search page (the API answered with a block)")
})

test("/paysupport with a text reaches the admins, in their language", async () => {
  await h.user(901, { language_code: "ru" }).send("/start")
  const user = h.user(305, { language_code: "en", username: "payer" })
  const reply = await user.send("/paysupport I paid <twice>")
  expect(reply.text).toBe("Thank you: your message has reached our team. We will answer you here.")
  const toAdmin = h.chats.messages(ADMIN).findLast((m) => m.text.includes("Payment support"))
  expect(toAdmin?.text).toContain("(id <code>305</code>)")
  expect(toAdmin?.text).toContain("I paid &lt;twice&gt;")
  expect(h.chats.last(901)?.text).toContain("Помощь с оплатой")
  // However long the message, what reaches the admins fits Telegram's 4096 characters.
  const long = await user.send(`/paysupport ${"&".repeat(5000)}`)
  expect(long.text).toBe("Thank you: your message has reached our team. We will answer you here.")
  const cut = h.chats.messages(ADMIN).findLast((m) => m.text.includes("Payment support"))
  expect(cut?.text).toContain("&amp;&amp;")
  expect(cut?.text.endsWith("&amp;…")).toBe(true)
  expect(Html.visibleLength(cut?.text ?? "")).toBeLessThanOrEqual(4096)
})

test("an admin who starts the bot later gets their menu then", async () => {
  adminNeverStarted = false
  const mark = h.fake.calls.length
  await h.user(901, { language_code: "ru" }).send("/start")
  const since = (c: RecordedCall) => h.fake.calls.indexOf(c) >= mark
  await h.fake.waitForCall(
    (c) =>
      since(c) &&
      c.method === "setMyCommands" &&
      scopeChat(c) === 901 &&
      c.params.language_code === "ru",
  )
  // Someone else's /start sets no menu.
  await h.user(310, { language_code: "en" }).send("/start")
  expect(h.fake.callsTo("setMyCommands").filter(since).map(scopeChat)).toEqual([901, 901])
})
