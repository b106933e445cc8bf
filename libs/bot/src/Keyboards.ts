import { InlineKeyboard } from "grammy"
import type { InlineKeyboardButton } from "grammy/types"
import { type Action, callbackData } from "./CallbackData.ts"
import type { Messages } from "./Messages.ts"

/** An inline button whose callback data is the wire form of `action` (checked to fit 64 bytes). */
export const button = (label: string, action: Action): InlineKeyboardButton.CallbackButton =>
  InlineKeyboard.text(label, callbackData(action))

/** Rows of `perRow` buttons. */
export const grid = (
  buttons: ReadonlyArray<InlineKeyboardButton>,
  perRow: number,
): InlineKeyboardButton[][] => {
  const rows: InlineKeyboardButton[][] = []
  for (let i = 0; i < buttons.length; i += perRow) rows.push(buttons.slice(i, i + perRow))
  return rows
}

export const keyboard = (rows: ReadonlyArray<ReadonlyArray<InlineKeyboardButton>>) =>
  InlineKeyboard.from(rows.filter((r) => r.length > 0).map((r) => [...r]))

/** The main menu: My searches, Subscription, Language, Help. */
export const mainMenu = (t: Messages) =>
  keyboard([
    [
      button(t.btnSearches, { _tag: "menu", screen: "filters" }),
      button(t.btnSubscription, { _tag: "menu", screen: "sub" }),
    ],
    [
      button(t.btnLanguage, { _tag: "menu", screen: "lang" }),
      button(t.btnHelp, { _tag: "menu", screen: "help" }),
    ],
  ])

export const backToMenu = (t: Messages) =>
  keyboard([[button(t.btnMenu, { _tag: "menu", screen: "main" })]])

/** Marks a multi-select option as chosen. */
export const check = (chosen: boolean, label: string) => (chosen ? `✅ ${label}` : label)
