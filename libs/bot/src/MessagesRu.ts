import { escape as esc } from "@flatwatch/telegram/Html"
import { formatNumber, plural } from "./Format.ts"
import type { Messages } from "./Messages.ts"

const stepButtons = {
  market: "🏙 Город",
  districts: "📍 Районы",
  priceMin: "💰 Цена",
  priceMax: "💰 Цена",
  rooms: "🛏 Комнаты",
  period: "📅 Срок аренды",
  furnishing: "🛋 Мебель",
  summary: "📋 Итог",
} as const

const planNames = { day: "1 день", week: "1 неделя", month: "1 месяц" } as const
const planAccusative = { day: "1 день", week: "1 неделю", month: "1 месяц" } as const

const days = (n: number) => plural("ru", n, { one: "день", few: "дня", many: "дней", other: "дня" })

/** `12 500`. */
const num = (n: number) => formatNumber("ru", n)

export const ru: Messages = {
  language: "ru",
  languageName: "Русский",

  greeting: (firstName, trialAvailable) =>
    `Здравствуйте, ${esc(firstName)}! Я <b>Flatwatch</b>.\n\n` +
    "Я слежу за сайтами объявлений об аренде и присылаю каждую новую квартиру, подходящую под ваш " +
    "поиск, через несколько секунд после публикации. Настройте поиск кнопками ниже" +
    (trialAvailable ? ": первый поиск включает бесплатный пробный период." : "."),
  menuTitle: "Что вы хотите сделать?",
  help:
    "<b>Flatwatch</b> присылает новые объявления об аренде, подходящие под ваши поиски.\n\n" +
    "/filters: ваши поиски (создать, изменить, приостановить, удалить)\n" +
    "/subscription: подписка и оплата звёздами Telegram\n" +
    "/pause и /resume: остановить или снова включить все уведомления\n" +
    "/language: Русский или English\n" +
    "/terms: условия использования\n" +
    "/paysupport: помощь с оплатой\n" +
    "/deleteme: удалить все ваши данные",
  terms:
    "<b>Условия использования</b>\n\n" +
    "1. Flatwatch пересылает объявления, опубликованные сторонними сайтами. Мы не владеем ими, не " +
    "проверяем и не гарантируем их; свяжитесь с агентом или владельцем, прежде чем что-либо платить.\n" +
    "2. Доступ продаётся за звёзды Telegram на фиксированный срок (1 день, 1 неделя или 1 месяц) и " +
    "начинается сразу. Бесплатный пробный период даётся один раз.\n" +
    "3. Если сервис у вас не работал, попросите возврат через /paysupport в течение 14 дней после " +
    "оплаты; возврат отменяет оплаченный срок.\n" +
    "4. Мы храним только нужное для работы: ваш id в Telegram, имя, язык, поиски и отправленные вам " +
    "сообщения. /deleteme удаляет всё это (остаётся необратимый отпечаток id, чтобы пробный период " +
    "давался один раз).",
  paySupport:
    "<b>Помощь с оплатой</b>\n\n" +
    "Напишите <code>/paysupport</code> и одним сообщением, что случилось, например:\n" +
    "<code>/paysupport оплатил неделю, но доступа нет</code>\n\n" +
    "Сообщение сразу придёт нашей команде, и мы ответим вам здесь. Оплата принимается в звёздах " +
    "Telegram; возвраты приходят на ваш баланс звёзд.",
  paySupportSent: "Спасибо: ваше сообщение передано команде. Мы ответим вам здесь.",
  paySupportToAdmin: (userId, username, text) =>
    `💬 <b>Помощь с оплатой</b> от <a href="tg://user?id=${userId}">${esc(username)}</a> (id <code>${userId}</code>):\n\n${esc(text)}`,
  unknown: "Я не понял сообщение. Воспользуйтесь кнопками ниже или отправьте /help.",
  error: "Извините, у нас что-то пошло не так. Попробуйте ещё раз чуть позже.",
  unreadable:
    "Извините, не удалось прочитать это сообщение. Отправьте его ещё раз обычным текстом или воспользуйтесь /help.",
  stale: "Эта кнопка устарела.",
  needStart: "Сначала отправьте /start, затем попробуйте ещё раз.",

  btnSearches: "🔎 Мои поиски",
  btnSubscription: "⭐ Подписка",
  btnLanguage: "🌐 Язык",
  btnHelp: "❓ Помощь",
  btnMenu: "« Меню",
  btnBack: "‹ Назад",
  btnNext: "Далее ›",
  btnCancel: "✖ Отмена",
  btnSave: "✅ Сохранить",
  btnNewSearch: "➕ Новый поиск",
  btnEdit: "✏️ Изменить",
  btnRename: "🏷 Переименовать",
  btnPause: "⏸ Приостановить",
  btnResume: "▶️ Возобновить",
  btnDelete: "🗑 Удалить",
  btnYesDelete: "🗑 Да, удалить",
  btnNoKeep: "Нет, оставить",
  btnUndo: "↩️ Отменить",
  btnAnyDistrict: "Любой район",
  btnAnyRooms: "Любое число комнат",
  btnAnyPeriod: "Любой срок",
  btnNoMin: "Без минимума",
  btnNoMax: "Без максимума",
  btnFurnishingAny: "Неважно",
  btnStep: (step) => stepButtons[step],
  btnName: "🏷 Название",

  commands: {
    start: "Начало и главное меню",
    filters: "Мои поиски",
    subscription: "Подписка и оплата",
    pause: "Приостановить уведомления",
    resume: "Возобновить уведомления",
    language: "Сменить язык",
    help: "Что умеет бот",
    terms: "Условия использования",
    paysupport: "Помощь с оплатой",
    deleteme: "Удалить все мои данные",
  },
  adminCommands: {
    stats: "Админ: пользователи, подписчики, уведомления, очередь",
    sources: "Админ: состояние источников",
    broadcast: "Админ: сообщение всем (сначала предпросмотр)",
    grant: "Админ: подарить дни (/grant id дни)",
    refund: "Админ: вернуть оплату (/refund charge_id)",
  },

  searchesTitle: (count, max) => `<b>Ваши поиски</b> (${count} из ${max}):`,
  searchesEmpty: "У вас пока нет поисков. Создайте поиск, и я начну следить за объявлениями.",
  limitReached: (max) =>
    `У вас уже ${max} ${plural("ru", max, { one: "поиск", few: "поиска", many: "поисков", other: "поиска" })}, это максимум. Удалите один, чтобы добавить новый.`,
  defaultSearchName: (n) => `Поиск ${n}`,
  statusActive: "▶️ активен",
  statusPaused: "⏸ приостановлен",
  searchCard: (name, active, summary) =>
    `<b>${esc(name)}</b> (${active ? "▶️ активен" : "⏸ приостановлен"})\n\n${summary}`,
  confirmDelete: (name) => `Удалить поиск «${esc(name)}»? Это нельзя отменить.`,
  deleted: (name) => `Поиск «${esc(name)}» удалён.`,
  searchPaused: (name) =>
    `⏸ Поиск «${esc(name)}» приостановлен: уведомлений по нему не будет, пока вы его не возобновите.`,
  searchResumed: (name) => `▶️ Поиск «${esc(name)}» снова активен.`,
  askRename: (name) => `Введите новое название для «${esc(name)}» (до 64 символов).`,
  renamed: (name) => `Новое название: «${esc(name)}».`,
  badName: "Название должно быть длиной от 1 до 64 символов. Введите другое.",

  labelMarket: "Город",
  labelDistricts: "Районы",
  labelPrice: "Аренда в месяц",
  labelRooms: "Комнаты",
  labelPeriod: "Срок аренды",
  labelFurnishing: "Мебель",
  anyDistrict: "любой",
  anyPrice: "любая",
  anyRooms: "любое число",
  anyPeriod: "любой",
  priceFrom: (min) => `от ${min}`,
  priceUpTo: (max) => `до ${max}`,
  priceBetween: (min, max) => `${min} – ${max}`,
  roomName: (rooms) => (rooms === 0 ? "Студия" : rooms >= 5 ? "5+" : String(rooms)),
  periodName: (period) =>
    ({ monthly: "помесячно", yearly: "на год", weekly: "понедельно", daily: "посуточно" })[period],
  furnishingName: (furnishing) =>
    furnishing === "furnished"
      ? "с мебелью"
      : furnishing === "unfurnished"
        ? "без мебели"
        : "неважно",

  editorNew: "🆕 <b>Новый поиск</b>",
  editorEditing: (name) => `✏️ <b>Изменение «${esc(name)}»</b>`,
  stepMarket: "Какой город?",
  stepDistricts:
    "Выберите районы (сколько угодно) и нажмите «Далее». Если ничего не выбрано, подойдёт любой район.",
  stepPriceMin: (currency) =>
    `Какая <b>минимальная</b> аренда в месяц, ${currency}? Выберите или введите число.`,
  stepPriceMax: (currency) =>
    `Какая <b>максимальная</b> аренда в месяц, ${currency}? Выберите или введите число.`,
  stepRooms:
    "Сколько спален? Выберите любые варианты и нажмите «Далее». Если ничего не выбрано, подойдёт любое число.",
  stepPeriod:
    "Как часто можно платить аренду? Выберите любые варианты и нажмите «Далее». Если ничего не выбрано, подойдёт любой срок.",
  stepFurnishing: "С мебелью или без?",
  stepSummary: "Проверьте поиск и нажмите <b>Сохранить</b>.",
  askDraftName: "Введите название для этого поиска (до 64 символов).",
  editorCancelled: "Отменено: ничего не изменилось.",
  saved: (name, n) =>
    `✅ Поиск «${esc(name)}» сохранён.\n\n${plural("ru", n, {
      one: `За эту неделю вам пришло бы ${num(n)} объявление.`,
      few: `За эту неделю вам пришло бы ${num(n)} объявления.`,
      many: `За эту неделю вам пришло бы ${num(n)} объявлений.`,
      other: `За эту неделю вам пришло бы ${num(n)} объявления.`,
    })}`,
  trialStarted: (until) =>
    `🎁 Бесплатный пробный период действует до ${until}: новые подходящие квартиры будут приходить в этот чат.`,
  noAccess:
    "Подписка не активна, поэтому уведомления выключены. Оформите подписку, чтобы их получать.",

  priceNotNumber: (text, currency) =>
    `«${esc(text)}» — это не число. Введите аренду в месяц в ${currency} цифрами, например 8000.`,
  priceNegative: (currency) =>
    `Аренда не может быть отрицательной. Введите аренду в месяц в ${currency}, например 8000.`,
  priceTooLarge: (max) =>
    `Это больше ${max} в месяц, похоже на опечатку. Введите аренду в месяц не больше ${max}.`,
  priceMinAboveMax: (min, max) =>
    `Минимальная аренда (${min}) не может быть больше максимальной (${max}). Введите число не больше ${max} или нажмите «Без минимума».`,
  priceMaxBelowMin: (max, min) =>
    `Максимальная аренда (${max}) не может быть меньше минимальной (${min}). Введите число не меньше ${min} или нажмите «Без максимума».`,

  muted: (name) => `🔕 Поиск «${esc(name)}» приостановлен: уведомлений по нему больше не будет.`,
  mutedToast: "Поиск приостановлен",
  unmuted: (name) => `🔔 Поиск «${esc(name)}» снова активен.`,

  pausedAll: "⏸ Все уведомления приостановлены. Отправьте /resume, чтобы снова их получать.",
  resumedAll: "▶️ Уведомления снова включены.",
  chooseLanguage: "Выберите язык:",
  languageSet: "Язык: русский.",
  deleteConfirm:
    "Это удалит ваши поиски, настройки и историю сообщений Flatwatch, а также оставшееся время " +
    "подписки. Это нельзя отменить.\n\nУдалить всё?",
  btnDeleteYes: "Да, удалить всё",
  btnDeleteNo: "Нет",
  deleteDone: "Готово: все ваши данные удалены. Отправьте /start, если захотите вернуться.",
  deleteCancelled: "Ничего не удалено.",

  subscriptionTitle: "⭐ <b>Подписка</b>",
  subTrial: (until) => `Бесплатный пробный период до ${until}.`,
  subPaid: (until) => `Активна до ${until}.`,
  subExpired: (since) => `Закончилась ${since}: уведомления выключены.`,
  subNever: "Подписки пока нет: сохраните первый поиск, чтобы начать бесплатный пробный период.",
  subNone: "Активной подписки нет: уведомления выключены. Выберите тариф ниже, чтобы их получать.",
  subPlansIntro:
    "Купить или продлить за звёзды Telegram (покупка добавляется к оставшемуся времени):",
  planButton: (plan, stars) => `${planNames[plan]} · ${stars} ⭐`,
  planName: (plan) => planNames[plan],
  invoiceTitle: (plan) => `Flatwatch, ${planNames[plan]}`,
  invoiceDescription: (plan, n) =>
    `Новые объявления об аренде по вашим поискам, сразу после публикации, на ${planAccusative[plan]} (${n} ${days(n)}).`,
  preCheckoutError: (reason) =>
    ({
      unknown_order: "Этот счёт недействителен. Откройте /subscription и выберите тариф заново.",
      not_yours:
        "Этот счёт выставлен другому человеку. Откройте /subscription, чтобы получить свой.",
      already_paid: "Этот счёт уже оплачен. Откройте /subscription, чтобы увидеть подписку.",
      expired: "Срок этого счёта истёк. Откройте /subscription и выберите тариф заново.",
      wrong_amount: "Сумма не совпадает с тарифом. Откройте /subscription и попробуйте ещё раз.",
    })[reason],
  paymentThanks: (plan, until) =>
    `✅ Спасибо! Оплачено: ${planNames[plan]}. Подписка активна до ${until}.`,
  paymentAlreadyCredited: (until) => `Этот платёж уже учтён: подписка активна до ${until}.`,
  refunded: (plan, stars, until) =>
    `↩️ Оплата за ${planAccusative[plan]} (${stars} ⭐) возвращена, этот срок отменён. ` +
    (until === null
      ? "Сейчас у вас нет активной подписки."
      : `Доступ теперь заканчивается ${until}.`),

  paymentNotCredited: (chargeId) =>
    "Мы получили вашу оплату, но пока не смогли добавить её к подписке. Команда уже знает и всё " +
    `исправит; если напишете в /paysupport, укажите <code>${esc(chargeId)}</code>.`,
  paymentNotCreditedToAdmin: (userId, chargeId, reason) =>
    `⚠️ Платёж пользователя ${userId} не начислен: <code>${esc(chargeId)}</code> (${esc(reason)}). Начислите через /grant или верните через /refund.`,

  adminStats: (s) =>
    "📊 <b>Статистика</b>\n\n" +
    `Пользователи: ${s.users} (заблокировали бота: ${s.blocked})\n` +
    `Платные подписчики сейчас: ${s.subscribers}\n` +
    `На пробном периоде сейчас: ${s.trials}\n` +
    `Активные поиски: ${s.filters}\n` +
    `Объявлений сохранено сегодня (UTC): ${s.listingsToday}\n` +
    `Уведомлений за 24 ч: отправлено ${s.sent24h}, с ошибкой ${s.failed24h}\n` +
    `В очереди отправки: ${s.outbox}`,
  adminSources: (lines) =>
    `🛰 <b>Источники</b>\n\n${lines
      .map(
        (l) =>
          `<b>${esc(l.source)}</b>: ${esc(l.status)}\n  последний запуск ${l.lastRun} (${esc(l.lastOutcome)}), последний успех ${l.lastSuccess}` +
          (l.browserSince === null
            ? ""
            : `\n  читается через браузер с ${l.browserSince} (обычные запросы блокируются)`) +
          (l.error === null ? "" : `\n  ошибка: ${esc(l.error)}`) +
          (l.via === null ? "" : `\n  читается через: ${esc(l.via)}`),
      )
      .join("\n\n")}`,
  adminNoSources: "🛰 Ни один источник ещё не запускался.",
  broadcastUsage: "Использование: <code>/broadcast текст сообщения</code>",
  broadcastTooLong: (max) => `Рассылка может быть не длиннее ${max} символов; сократите её.`,
  broadcastPreview: (recipients, text) =>
    `📣 <b>Предпросмотр</b>: сообщение получат ${num(recipients)} польз.\n\n${esc(text)}`,
  btnBroadcastSend: (recipients) => `📣 Отправить ${num(recipients)} польз.`,
  broadcastQueued: (queued) => `📣 Поставлено в очередь для ${num(queued)} польз.`,
  broadcastCancelled: "Рассылка отменена.",
  grantUsage: "Использование: <code>/grant id_пользователя дни</code> (от 1 до 3650 дней)",
  grantNoUser: (userId) => `Пользователя с id ${userId} нет.`,
  grantDone: (userId, n, until) =>
    `Пользователю ${userId} добавлено ${n} ${days(n)}: доступ до ${until}.`,
  grantedToUser: (n, until) => `🎁 Вам подарено ${n} ${days(n)}: подписка активна до ${until}.`,
  refundUsage: "Использование: <code>/refund telegram_payment_charge_id</code>",
  refundDone: (chargeId, userId, until) =>
    `Платёж <code>${esc(chargeId)}</code> пользователя ${userId} возвращён; его доступ теперь: ${until}.`,
  refundFailed: (chargeId, detail) =>
    `Не удалось вернуть <code>${esc(chargeId)}</code>: ${esc(detail)}`,
  refundRefused: (chargeId, reason) =>
    `Не удалось вернуть <code>${esc(chargeId)}</code>: ${
      {
        UnknownCharge: "платежа с таким charge id нет.",
        AlreadyRefunded: "он уже возвращён.",
        UserDeleted: "плательщик удалил свои данные, и Telegram не узнает, кому вернуть.",
      }[reason]
    }`,
}
