import { escape as esc } from "@flatwatch/telegram/Html"
import { formatNumber, plural } from "./Format.ts"
import type { Messages } from "./Messages.ts"

const stepButtons = {
  market: "🏙 City",
  districts: "📍 Districts",
  priceMin: "💰 Price",
  priceMax: "💰 Price",
  rooms: "🛏 Rooms",
  period: "📅 Rental period",
  furnishing: "🛋 Furnishing",
  summary: "📋 Summary",
} as const

/** `12,500`. */
const num = (n: number) => formatNumber("en", n)
const users = (n: number) => `${num(n)} ${n === 1 ? "user" : "users"}`

const planNames = { day: "1 day", week: "1 week", month: "1 month" } as const

export const en: Messages = {
  language: "en",
  languageName: "English",

  greeting: (firstName, trialAvailable) =>
    `Hi, ${esc(firstName)}! I'm <b>Flatwatch</b>.\n\n` +
    "I watch rental listing sites and send you every new flat that matches your search, " +
    "seconds after it appears. Set up a search with the buttons below" +
    (trialAvailable ? ": your first one starts a free trial." : "."),
  menuTitle: "What would you like to do?",
  help:
    "<b>Flatwatch</b> sends you new rental listings that match your searches.\n\n" +
    "/filters: your searches (create, edit, pause, delete)\n" +
    "/subscription: your plan and how to pay with Telegram Stars\n" +
    "/pause and /resume: stop or restart all alerts\n" +
    "/language: Русский or English\n" +
    "/terms: terms of service\n" +
    "/paysupport: help with a payment\n" +
    "/deleteme: erase everything about you",
  terms:
    "<b>Terms of service</b>\n\n" +
    "1. Flatwatch forwards listings published by third-party sites. We do not own, check or " +
    "guarantee them; contact the agent or owner before paying anything.\n" +
    "2. Access is sold in Telegram Stars for a fixed period (1 day, 1 week or 1 month) and starts " +
    "at once. Everyone gets one free trial.\n" +
    "3. If the service did not work for you, ask for a refund through /paysupport within 14 days " +
    "of the payment; a refund ends the period it paid for.\n" +
    "4. We keep only what the service needs: your Telegram id, name, language, searches and the " +
    "messages sent to you. /deleteme erases it (a one-way fingerprint of your id stays, so the " +
    "free trial is given once).",
  paySupport:
    "<b>Help with a payment</b>\n\n" +
    "Write <code>/paysupport</code> followed by what happened in one message, for example:\n" +
    "<code>/paysupport I paid for a week but have no access</code>\n\n" +
    "It goes straight to our team, who will answer you here. Payments are in Telegram Stars; " +
    "refunds go back to your Stars balance.",
  paySupportSent: "Thank you: your message has reached our team. We will answer you here.",
  paySupportToAdmin: (userId, username, text) =>
    `💬 <b>Payment support</b> from <a href="tg://user?id=${userId}">${esc(username)}</a> (id <code>${userId}</code>):\n\n${esc(text)}`,
  unknown: "I did not understand that. Use the buttons below, or send /help.",
  error: "Sorry, something went wrong on our side. Please try again in a moment.",
  unreadable:
    "Sorry, I could not read that message. Please send it again as plain text, or use /help.",
  stale: "This button is out of date.",
  needStart: "Send /start first, then try again.",

  btnSearches: "🔎 My searches",
  btnSubscription: "⭐ Subscription",
  btnLanguage: "🌐 Language",
  btnHelp: "❓ Help",
  btnMenu: "« Menu",
  btnBack: "‹ Back",
  btnNext: "Next ›",
  btnCancel: "✖ Cancel",
  btnSave: "✅ Save",
  btnNewSearch: "➕ New search",
  btnEdit: "✏️ Edit",
  btnRename: "🏷 Rename",
  btnPause: "⏸ Pause",
  btnResume: "▶️ Resume",
  btnDelete: "🗑 Delete",
  btnYesDelete: "🗑 Yes, delete",
  btnNoKeep: "No, keep it",
  btnUndo: "↩️ Undo",
  btnAnyDistrict: "Any district",
  btnAnyRooms: "Any number of rooms",
  btnAnyPeriod: "Any period",
  btnNoMin: "No minimum",
  btnNoMax: "No maximum",
  btnFurnishingAny: "Doesn't matter",
  btnStep: (step) => stepButtons[step],
  btnName: "🏷 Name",

  commands: {
    start: "Start and main menu",
    filters: "My searches",
    subscription: "Subscription and payment",
    pause: "Pause all alerts",
    resume: "Resume alerts",
    language: "Change language",
    help: "What the bot can do",
    terms: "Terms of service",
    paysupport: "Help with a payment",
    deleteme: "Delete all my data",
  },
  adminCommands: {
    stats: "Admin: users, subscribers, alerts, outbox",
    sources: "Admin: status of each source",
    broadcast: "Admin: message every user (preview first)",
    grant: "Admin: give a user days (/grant id days)",
    refund: "Admin: refund a payment (/refund charge_id)",
  },

  searchesTitle: (count, max) => `<b>Your searches</b> (${count} of ${max}):`,
  searchesEmpty: "You have no searches yet. Create one and I will start watching for you.",
  limitReached: (max) =>
    `You already have ${max} searches, the most allowed. Delete one to add another.`,
  defaultSearchName: (n) => `Search ${n}`,
  statusActive: "▶️ active",
  statusPaused: "⏸ paused",
  searchCard: (name, active, summary) =>
    `<b>${esc(name)}</b> (${active ? "▶️ active" : "⏸ paused"})\n\n${summary}`,
  confirmDelete: (name) => `Delete the search “${esc(name)}”? This cannot be undone.`,
  deleted: (name) => `Deleted “${esc(name)}”.`,
  searchPaused: (name) => `⏸ “${esc(name)}” is paused: no alerts from it until you resume it.`,
  searchResumed: (name) => `▶️ “${esc(name)}” is active again.`,
  askRename: (name) => `Type a new name for “${esc(name)}” (up to 64 characters).`,
  renamed: (name) => `Renamed to “${esc(name)}”.`,
  badName: "A name must be 1 to 64 characters long. Type another one.",

  labelMarket: "City",
  labelDistricts: "Districts",
  labelPrice: "Rent per month",
  labelRooms: "Rooms",
  labelPeriod: "Rental period",
  labelFurnishing: "Furnishing",
  anyDistrict: "anywhere",
  anyPrice: "any",
  anyRooms: "any",
  anyPeriod: "any",
  priceFrom: (min) => `from ${min}`,
  priceUpTo: (max) => `up to ${max}`,
  priceBetween: (min, max) => `${min} – ${max}`,
  roomName: (rooms) => (rooms === 0 ? "Studio" : rooms >= 5 ? "5+" : String(rooms)),
  periodName: (period) =>
    ({ monthly: "monthly", yearly: "yearly", weekly: "weekly", daily: "daily" })[period],
  furnishingName: (furnishing) =>
    furnishing === "furnished"
      ? "furnished"
      : furnishing === "unfurnished"
        ? "unfurnished"
        : "doesn't matter",

  editorNew: "🆕 <b>New search</b>",
  editorEditing: (name) => `✏️ <b>Editing “${esc(name)}”</b>`,
  stepMarket: "Which city?",
  stepDistricts:
    "Pick the districts you want (as many as you like), then press Next. None picked means anywhere.",
  stepPriceMin: (currency) =>
    `What is the <b>lowest</b> monthly rent, in ${currency}? Pick one or type a number.`,
  stepPriceMax: (currency) =>
    `What is the <b>highest</b> monthly rent, in ${currency}? Pick one or type a number.`,
  stepRooms: "How many bedrooms? Pick any of them, then press Next. None picked means any.",
  stepPeriod:
    "How often may the rent be paid? Pick any of them, then press Next. None picked means any.",
  stepFurnishing: "Furnished or not?",
  stepSummary: "Check your search and press <b>Save</b>.",
  askDraftName: "Type a name for this search (up to 64 characters).",
  editorCancelled: "Cancelled: nothing was changed.",
  saved: (name, n) =>
    `✅ Saved “${esc(name)}”.\n\n${plural("en", n, {
      one: `${num(n)} listing this week would have reached you.`,
      other: `${num(n)} listings this week would have reached you.`,
    })}`,
  trialStarted: (until) =>
    `🎁 Your free trial is on until ${until}: new matching flats will arrive in this chat.`,
  noAccess: "Your subscription is not active, so alerts are off. Subscribe to receive them.",

  priceNotNumber: (text, currency) =>
    `“${esc(text)}” is not a number. Type the monthly rent in ${currency} using digits, for example 8000.`,
  priceNegative: (currency) =>
    `A rent cannot be negative. Type the monthly rent in ${currency}, for example 8000.`,
  priceTooLarge: (max) =>
    `That is more than ${max} a month, which looks like a typo. Type a monthly rent up to ${max}.`,
  priceMinAboveMax: (min, max) =>
    `The lowest rent (${min}) cannot be above the highest (${max}). Type a number up to ${max}, or press “No minimum”.`,
  priceMaxBelowMin: (max, min) =>
    `The highest rent (${max}) cannot be below the lowest (${min}). Type a number of at least ${min}, or press “No maximum”.`,

  muted: (name) => `🔕 “${esc(name)}” is paused: no more alerts from it.`,
  mutedToast: "Search paused",
  unmuted: (name) => `🔔 “${esc(name)}” is active again.`,

  pausedAll: "⏸ All alerts are paused. Send /resume to get them again.",
  resumedAll: "▶️ Alerts are on again.",
  chooseLanguage: "Choose your language:",
  languageSet: "Language: English.",
  deleteConfirm:
    "This erases your searches, settings and message history with Flatwatch, and any " +
    "subscription time you have left. It cannot be undone.\n\nDelete everything?",
  btnDeleteYes: "Yes, delete everything",
  btnDeleteNo: "No",
  deleteDone: "Done: everything about you is erased. Send /start if you ever want to come back.",
  deleteCancelled: "Nothing was deleted.",

  subscriptionTitle: "⭐ <b>Subscription</b>",
  subTrial: (until) => `Free trial, until ${until}.`,
  subPaid: (until) => `Active until ${until}.`,
  subExpired: (since) => `Expired on ${since}: alerts are off.`,
  subNever: "No subscription yet: save your first search to start the free trial.",
  subNone: "No active subscription: alerts are off. Choose a plan below to get them.",
  subPlansIntro: "Buy or extend with Telegram Stars (a purchase adds to the time you have):",
  planButton: (plan, stars) => `${planNames[plan]} · ${stars} ⭐`,
  planName: (plan) => planNames[plan],
  invoiceTitle: (plan) => `Flatwatch, ${planNames[plan]}`,
  invoiceDescription: (plan, days) =>
    `New rental listings matching your searches, as they appear, for ${planNames[plan]} (${days} ${days === 1 ? "day" : "days"}).`,
  preCheckoutError: (reason) =>
    ({
      unknown_order: "This invoice is not valid. Open /subscription and choose a plan again.",
      not_yours: "This invoice belongs to someone else. Open /subscription to get your own.",
      already_paid: "This invoice is already paid. Open /subscription to see your plan.",
      expired: "This invoice has expired. Open /subscription and choose a plan again.",
      wrong_amount: "The amount does not match this plan. Open /subscription and try again.",
    })[reason],
  paymentThanks: (plan, until) =>
    `✅ Thank you! ${planNames[plan]} is added: your subscription is active until ${until}.`,
  paymentAlreadyCredited: (until) =>
    `This payment was already counted: your subscription is active until ${until}.`,
  refunded: (plan, stars, until) =>
    `↩️ Your payment for ${planNames[plan]} (${stars} ⭐) was refunded and that period removed. ` +
    (until === null ? "You have no active subscription now." : `Your access now ends ${until}.`),

  paymentNotCredited: (chargeId) =>
    "We received your payment but could not add it to your subscription yet. Our team has been " +
    `told and will sort it out; if you write to /paysupport, mention <code>${esc(chargeId)}</code>.`,
  paymentNotCreditedToAdmin: (userId, chargeId, reason) =>
    `⚠️ A payment of user ${userId} was not credited: charge <code>${esc(chargeId)}</code> (${esc(reason)}). Credit it with /grant or refund it with /refund.`,

  adminStats: (s) =>
    "📊 <b>Stats</b>\n\n" +
    `Users: ${s.users} (blocked the bot: ${s.blocked})\n` +
    `Paying subscribers now: ${s.subscribers}\n` +
    `On trial now: ${s.trials}\n` +
    `Active searches: ${s.filters}\n` +
    `Listings stored today (UTC): ${s.listingsToday}\n` +
    `Alerts sent in 24 h: ${s.sent24h}, failed: ${s.failed24h}\n` +
    `Outbox waiting: ${s.outbox}`,
  adminSources: (lines) =>
    `🛰 <b>Sources</b>\n\n${lines
      .map(
        (l) =>
          `<b>${esc(l.source)}</b>: ${esc(l.status)}\n  last run ${l.lastRun} (${esc(l.lastOutcome)}), last success ${l.lastSuccess}` +
          (l.browserSince === null
            ? ""
            : `\n  fetching through the browser since ${l.browserSince} (plain requests blocked)`) +
          (l.error === null ? "" : `\n  error: ${esc(l.error)}`) +
          (l.via === null ? "" : `\n  read via: ${esc(l.via)}`),
      )
      .join("\n\n")}`,
  adminNoSources: "🛰 No source has run yet.",
  broadcastUsage: "Usage: <code>/broadcast text of the message</code>",
  broadcastTooLong: (max) => `A broadcast can be at most ${max} characters; shorten it.`,
  broadcastPreview: (recipients, text) =>
    `📣 <b>Preview</b>: this goes to ${users(recipients)}.\n\n${esc(text)}`,
  btnBroadcastSend: (recipients) => `📣 Send to ${users(recipients)}`,
  broadcastQueued: (queued) => `📣 Queued for ${users(queued)}.`,
  broadcastCancelled: "Broadcast cancelled.",
  grantUsage: "Usage: <code>/grant user_id days</code> (days 1 to 3650)",
  grantNoUser: (userId) => `No user with id ${userId}.`,
  grantDone: (userId, days, until) => `Granted ${days} days to ${userId}: access until ${until}.`,
  grantedToUser: (days, until) =>
    `🎁 You received ${days} free ${days === 1 ? "day" : "days"}: your subscription is active until ${until}.`,
  refundUsage: "Usage: <code>/refund telegram_payment_charge_id</code>",
  refundDone: (chargeId, userId, until) =>
    `Refunded <code>${esc(chargeId)}</code> of user ${userId}; their access now ends: ${until}.`,
  refundFailed: (chargeId, detail) =>
    `Could not refund <code>${esc(chargeId)}</code>: ${esc(detail)}`,
  refundRefused: (chargeId, reason) =>
    `Could not refund <code>${esc(chargeId)}</code>: ${
      {
        UnknownCharge: "no payment has this charge id.",
        AlreadyRefunded: "it was refunded already.",
        UserDeleted:
          "the payer has deleted their account, so Telegram cannot be told who they are.",
      }[reason]
    }`,
}
