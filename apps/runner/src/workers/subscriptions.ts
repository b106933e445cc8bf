import { layer } from "@flatwatch/subscriptions/SubscriptionsComponent"
import { runWorker } from "../WorkerHost.ts"

runWorker("subscriptions", layer)
