import { ConfigError } from "effect"

const leaves = (error: ConfigError.ConfigError): string[] => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...leaves(error.left), ...leaves(error.right)]
    case "MissingData":
      return [`${error.path.join("_")} is not set`]
    case "InvalidData":
      return [`${error.path.join("_")}: ${error.message}`]
    case "SourceUnavailable":
    case "Unsupported":
      return [`${error.path.join("_")}: ${error.message}`]
  }
}

/** One line naming each variable that is wrong and why, e.g. `BOT_TOKEN is not set`. */
export const formatConfigError = (error: ConfigError.ConfigError): string =>
  [...new Set(leaves(error))].join("; ")

export const isConfigError = ConfigError.isConfigError
