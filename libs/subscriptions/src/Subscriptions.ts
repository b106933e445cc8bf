import { createHash } from "node:crypto"
import { Database, type DatabaseError } from "@flatwatch/db/Database"
import { deliveries, subscriptions, trialClaims, users } from "@flatwatch/db/schema"
import { and, desc, eq, gt, gte, inArray, lte, ne, sql } from "drizzle-orm"
import { Clock, Config, Duration, Effect } from "effect"

export type SubscriptionPlan = (typeof subscriptions.plan.enumValues)[number]

/**
 * `TRIAL_DURATION`: length of the one free trial (default 1 day). Zero is refused at start-up:
 * a period must end after it starts, so every first saved search would fail.
 */
export const SubscriptionsConfig = Config.all({
  trialDuration: Config.duration("TRIAL_DURATION").pipe(
    Config.validate({ message: "must be longer than zero", validation: Duration.greaterThan(0) }),
    Config.withDefault(Duration.days(1)),
  ),
})

/** What a user has right now. */
export interface AccessStatus {
  /** True while an active subscription row's period contains now. */
  readonly hasAccess: boolean
  /**
   * The plan of the last period of the current access: a trial followed by a purchase is the
   * purchase's plan (null without access).
   */
  readonly plan: SubscriptionPlan | null
  /** When access ends (with access), or when it ended (after expiry); null if never subscribed. */
  readonly endsAt: Date | null
  readonly trialUsed: boolean
}

/**
 * One-way hash of a Telegram id: all that is kept after /deleteme, so that a deleted account
 * that comes back gets no second trial.
 */
export const trialHash = (telegramId: number): string =>
  createHash("sha256").update(`flatwatch-trial:${telegramId}`).digest("hex")

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

/** Access rules: trial, grants and (with the payment flow) paid periods. */
export class Subscriptions extends Effect.Service<Subscriptions>()(
  "@flatwatch/subscriptions/Subscriptions",
  {
    effect: Effect.gen(function* () {
      const database = yield* Database
      const config = yield* SubscriptionsConfig
      const withDb = <A, E>(effect: Effect.Effect<A, E, Database>) =>
        Effect.provideService(effect, Database, database)

      /** The end of the user's current access, if they have access now. */
      const currentEnd = (userId: number, at: Date) =>
        Database.query((db) =>
          db
            .select({ endsAt: subscriptions.endsAt, plan: subscriptions.plan })
            .from(subscriptions)
            .where(
              and(
                eq(subscriptions.userId, userId),
                eq(subscriptions.status, "active"),
                lte(subscriptions.startsAt, at),
                gt(subscriptions.endsAt, at),
              ),
            )
            .orderBy(desc(subscriptions.endsAt))
            .limit(1),
        ).pipe(Effect.map((rows) => rows[0]))

      /** The active period that ends last, current or future (a purchase extends from its end). */
      const lastPeriod = (userId: number) =>
        Database.query((db) =>
          db
            .select({ endsAt: subscriptions.endsAt, plan: subscriptions.plan })
            .from(subscriptions)
            .where(and(eq(subscriptions.userId, userId), eq(subscriptions.status, "active")))
            .orderBy(desc(subscriptions.endsAt))
            .limit(1),
        ).pipe(Effect.map((rows) => rows[0]))

      const latestEnd = (userId: number) =>
        Effect.map(lastPeriod(userId), (period) => period?.endsAt)

      /**
       * Locks the user's last period (the one the worker reminds about and expires). The worker
       * takes the same row lock (SKIP LOCKED) while it queues a notice, so a change of the end
       * either happens before the worker looks (no notice for the old end) or after the notice
       * is queued (and then `cancelStaleNotices` withdraws it if it is still unsent).
       */
      const lockLastPeriod = (userId: number) =>
        Database.query((db) =>
          db
            .select({ id: subscriptions.id })
            .from(subscriptions)
            .where(and(eq(subscriptions.userId, userId), eq(subscriptions.status, "active")))
            .orderBy(desc(subscriptions.endsAt))
            .limit(1)
            .for("update"),
        )

      /**
       * Locks the user's row: changes of one user's periods run one after the other, also when
       * the user has no period yet to lock. (A row lock rather than an advisory lock keyed by the
       * bare user id, which shares its key space with other advisory locks.) `NO KEY UPDATE`, not
       * `UPDATE`: the worker, holding a period's row, queues notices whose foreign key takes a
       * `KEY SHARE` lock on this row; `UPDATE` would deadlock with it.
       */
      const lockUser = (userId: number) =>
        Database.query((db) =>
          db.select({ id: users.id }).from(users).where(eq(users.id, userId)).for("no key update"),
        )

      /** Unsent reminders and expiry notices speak of an end that no longer holds. */
      const cancelStaleNotices = (userId: number) =>
        Database.query((db) =>
          db
            .update(deliveries)
            .set({ status: "cancelled", lastError: "the subscription end changed" })
            .where(
              and(
                eq(deliveries.userId, userId),
                inArray(deliveries.kind, ["reminder", "expired"]),
                eq(deliveries.status, "pending"),
              ),
            ),
        )

      const status = Effect.fn("Subscriptions.status")(function* (userId: number) {
        const at = yield* now
        const current = yield* currentEnd(userId, at)
        const [user] = yield* Database.query((db) =>
          db.select({ trialUsedAt: users.trialUsedAt }).from(users).where(eq(users.id, userId)),
        )
        const trialUsed =
          user?.trialUsedAt != null ||
          (yield* Database.query((db) =>
            db.$count(trialClaims, eq(trialClaims.idHash, trialHash(userId))),
          )) > 0
        if (current !== undefined) {
          // Access may continue in a later, adjoining period (a purchase queued after the trial):
          // then it is that period's plan and end that the user has.
          const last = (yield* lastPeriod(userId)) ?? current
          return {
            hasAccess: true,
            plan: last.plan,
            endsAt: last.endsAt,
            trialUsed,
          } as AccessStatus
        }
        const [last] = yield* Database.query((db) =>
          db
            .select({ endsAt: subscriptions.endsAt })
            .from(subscriptions)
            .where(
              and(
                eq(subscriptions.userId, userId),
                ne(subscriptions.status, "refunded"),
                lte(subscriptions.endsAt, at),
              ),
            )
            .orderBy(desc(subscriptions.endsAt))
            .limit(1),
        )
        return {
          hasAccess: false,
          plan: null,
          endsAt: last?.endsAt ?? null,
          trialUsed,
        } as AccessStatus
      }, withDb)

      /**
       * Adds a period of `duration` to the user's access, starting at the later of now and the
       * end of their current access. Returns the new end. Unsent reminders and expiry notices
       * about the old end are cancelled; the worker reminds about the new end.
       */
      const extend = Effect.fn("Subscriptions.extend")(function* (
        userId: number,
        plan: SubscriptionPlan,
        duration: Duration.DurationInput,
        paymentId?: number,
      ) {
        return yield* Database.transaction(
          Effect.gen(function* () {
            // Serialise extensions of one user, so two purchases at once both count.
            yield* lockUser(userId)
            yield* lockLastPeriod(userId)
            const at = yield* now
            const end = yield* latestEnd(userId)
            const startsAt = end !== undefined && end > at ? end : at
            const endsAt = new Date(startsAt.getTime() + Duration.toMillis(duration))
            yield* Database.query((db) =>
              db.insert(subscriptions).values({
                userId,
                plan,
                startsAt,
                endsAt,
                status: "active",
                paymentId: paymentId ?? null,
                // Business time: the worker compares it with the reminder times.
                createdAt: at,
              }),
            )
            yield* cancelStaleNotices(userId)
            return endsAt
          }),
        )
      }, withDb)

      /**
       * Gives the one free trial if this Telegram id never had one (even before a /deleteme).
       * Safe to call on every filter save: only the first call per id grants anything.
       */
      const startTrial = Effect.fn("Subscriptions.startTrial")(function* (userId: number) {
        return yield* Database.transaction(
          Effect.gen(function* () {
            const claimed = yield* Database.query((db) =>
              db
                .insert(trialClaims)
                .values({ idHash: trialHash(userId) })
                .onConflictDoNothing()
                .returning({ idHash: trialClaims.idHash }),
            )
            if (claimed.length === 0) return { granted: false as const }
            const at = yield* now
            yield* Database.query((db) =>
              db.update(users).set({ trialUsedAt: at }).where(eq(users.id, userId)),
            )
            const endsAt = yield* extend(userId, "trial", config.trialDuration)
            return { granted: true as const, endsAt }
          }),
        )
      }, withDb)

      /** Admin grant of `days` days, extending like a purchase. */
      const grant = Effect.fn("Subscriptions.grant")(function* (userId: number, days: number) {
        return yield* extend(userId, "grant", Duration.days(days))
      })

      /**
       * Revokes the period bought by a payment (a refund): the period is marked `refunded` (it
       * no longer gives access), the part of it not yet elapsed is removed, and later periods
       * of the user move earlier by that length, so no gap is left. Time already elapsed is not
       * taken back from later periods. Returns the end of the user's access afterwards (null
       * without access), or undefined when no period is bound to the payment.
       */
      const revokePayment = Effect.fn("Subscriptions.revokePayment")(function* (
        userId: number,
        paymentId: number,
      ) {
        return yield* Database.transaction(
          Effect.gen(function* () {
            yield* lockUser(userId)
            yield* lockLastPeriod(userId)
            const at = yield* now
            const [period] = yield* Database.query((db) =>
              db
                .select()
                .from(subscriptions)
                .where(
                  and(
                    eq(subscriptions.paymentId, paymentId),
                    eq(subscriptions.userId, userId),
                    ne(subscriptions.status, "refunded"),
                  ),
                )
                .for("update"),
            )
            if (period === undefined) return undefined
            const removedFrom = Math.max(period.startsAt.getTime(), at.getTime())
            const removedMs = Math.max(0, period.endsAt.getTime() - removedFrom)
            yield* Database.query((db) =>
              db
                .update(subscriptions)
                .set({ status: "refunded" })
                .where(eq(subscriptions.id, period.id)),
            )
            if (removedMs > 0) {
              const shift = sql`(${removedMs}::double precision * interval '1 millisecond')`
              yield* Database.query((db) =>
                db
                  .update(subscriptions)
                  .set({
                    startsAt: sql`${subscriptions.startsAt} - ${shift}`,
                    endsAt: sql`${subscriptions.endsAt} - ${shift}`,
                  })
                  .where(
                    and(
                      eq(subscriptions.userId, userId),
                      eq(subscriptions.status, "active"),
                      gte(subscriptions.startsAt, period.endsAt),
                      ne(subscriptions.id, period.id),
                    ),
                  ),
              )
              yield* cancelStaleNotices(userId)
            }
            const end = yield* latestEnd(userId)
            return end !== undefined && end > at ? end : null
          }),
        )
      }, withDb)

      return { status, extend, startTrial, grant, revokePayment } as const
    }),
  },
) {}

export type SubscriptionsError = DatabaseError
