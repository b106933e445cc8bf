import { readdirSync, readFileSync } from "node:fs"

/** The flag that marks a Chromium as launched by one `Browser` owner (Chromium ignores it). */
export const ownerFlag = (owner: string): string => `--flatwatch-owner=${owner}`

const parentOf = (pid: string): number | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1]
    return ppid === undefined ? undefined : Number(ppid)
  } catch {
    return undefined
  }
}

/**
 * Pids of the Chromium main processes of this process that carry `owner`'s flag (Linux, via
 * `/proc`; none elsewhere). A Bun worker that crashed cannot close its browser, and its Chromium
 * lives on as long as the process does; the next `Browser` of the same owner finds it here.
 */
export const chromiumsOf = (owner: string, parent: number = process.pid): Array<number> => {
  let entries: Array<string>
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name))
  } catch {
    return []
  }
  const flag = ownerFlag(owner)
  return entries.flatMap((pid) => {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")
      return args.includes(flag) && parentOf(pid) === parent ? [Number(pid)] : []
    } catch {
      return []
    }
  })
}

/** Whether a process with this pid exists (and is not a zombie). */
export const isAlive = (pid: number): boolean => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    return !/^State:\s+Z/m.test(status)
  } catch {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
}

/**
 * Kills a Chromium and its helpers: its process group (puppeteer starts it as a group leader),
 * then the process itself. Never throws.
 */
export const killChromium = (pid: number): void => {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL")
    } catch {
      // already gone
    }
  }
}
