import { defineConfig } from "drizzle-kit"

// Only `generate` is used: migrations are committed SQL, applied at start-up by `Migrations.ts`.
export default defineConfig({
  dialect: "postgresql",
  schema: "./libs/db/src/schema.ts",
  out: "./libs/db/migrations",
  casing: "snake_case",
})
