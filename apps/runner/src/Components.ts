/** The components the runner can start, each in its own Bun Worker. */
export const COMPONENT_NAMES = ["bot", "parser", "subscriptions"] as const
export type ComponentName = (typeof COMPONENT_NAMES)[number]

export const isComponentName = (name: string): name is ComponentName =>
  (COMPONENT_NAMES as ReadonlyArray<string>).includes(name)

/** The worker entry file of a component. */
export const workerEntry = (name: ComponentName): URL =>
  new URL(`./workers/${name}.ts`, import.meta.url)
