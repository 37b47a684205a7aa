/** A setting that cannot work (a bad variable, an unreachable or unwritable database): one line at start-up, exit 1. */
export class ConfigError extends Error {}
