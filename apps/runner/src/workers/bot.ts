import { layer } from "@flatwatch/bot/BotComponent"
import { runWorker } from "../WorkerHost.ts"

runWorker("bot", layer)
