/**
 * The self-hosting command-line tool: `bun run cli <command>`. It works on the database named by
 * DATABASE_URL (default ./data/nolapse.db), the same one `bun start` uses.
 */
import { parseArgs } from 'node:util'
import { ConfigError, loadConfig } from '../config'
import { connectDatabase } from '../db/client'
import { isPlan } from '../modules/plans'
import { runCommand } from './commands'

const HELP = `nolapse-platform command-line tool

Usage: bun run cli <command> [options]

Commands:
  org create <slug> [--plan free|team|enterprise] [--name <name>]
                                  create an organisation (or change the plan of an existing one)
  session create --org <slug> [--user <id>]
                                  create a dashboard session; prints the session token (nls_…)
  token create --org <slug> --name <name> [--scopes execute,read | badge] [--agent-type <type>]
                                  create an API token; prints its secret once (nlp_…)
  migrate                         apply database migrations (bun start does this too)
  purge                           run the retention sweep now
  backup <file>                   a consistent copy of the SQLite database while the server runs
                                  (PostgreSQL: pg_dump)
  help                            show this help

Environment: the server's own (run it with the same DATABASE_URL as the server: the default is
./data/nolapse.db). The database used is named on stderr, its password hidden.`

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      plan: { type: 'string' },
      name: { type: 'string' },
      org: { type: 'string' },
      user: { type: 'string' },
      scopes: { type: 'string' },
      'agent-type': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help || positionals.length === 0 || positionals[0] === 'help') {
    console.log(HELP)
    return 0
  }
  if (values.plan !== undefined && !isPlan(values.plan)) throw new ConfigError(`--plan must be free, team or enterprise, got "${values.plan}"`)
  const config = loadConfig()
  const db = await connectDatabase(config.databaseUrl, { poolSize: 2, statementTimeoutMs: config.databaseStatementTimeoutMs })
  // Which database this ran on (password hidden): run without the server's DATABASE_URL, the CLI would
  // quietly work on ./data/nolapse.db instead of the server's database.
  console.error(`nolapse-platform: database ${db.label}`)
  try {
    const output = await runCommand(db, config, positionals, {
      plan: values.plan !== undefined && isPlan(values.plan) ? values.plan : undefined,
      name: values.name,
      org: values.org,
      user: values.user,
      scopes: values.scopes,
      agentType: values['agent-type'],
    })
    console.log(output)
    return 0
  } finally {
    await db.close()
  }
}

// Not top-level await: the built CLI is a CommonJS bundle (`bun run build`).
main(Bun.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error)
    console.error(`nolapse-platform: ${message}`)
    process.exitCode = 1
  },
)
