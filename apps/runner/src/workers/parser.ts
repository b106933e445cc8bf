import { layer } from "@flatwatch/parser/ParserComponent"
import { runWorker } from "../WorkerHost.ts"

runWorker("parser", layer)
