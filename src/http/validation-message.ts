/**
 * Turns an Elysia/TypeBox validation failure into the contract's message:
 * `invalid body: name must be a string of 1-64 characters`.
 */
/** The parts of a TypeBox/JSON schema a message is made from. */
interface Schema {
  anyOf?: Schema[]
  const?: unknown
  type?: string
  minLength?: number
  maxLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  minItems?: number
  maxItems?: number
  [key: string]: unknown
}

interface ValueError {
  path?: string
  value?: unknown
  schema?: Schema
}

function range(min: unknown, max: unknown, unit = ''): string {
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}${unit}`
  if (min !== undefined) return ` of at least ${min}${unit}`
  if (max !== undefined) return ` of at most ${max}${unit}`
  return ''
}

function describe(schema: Schema | undefined): string {
  if (!schema) return 'is not valid'
  if (Array.isArray(schema.anyOf)) {
    const consts = schema.anyOf.filter((s) => s.const !== undefined).map((s) => s.const)
    if (consts.length === schema.anyOf.length) return `must be one of ${consts.join(', ')}`
    const numeric = schema.anyOf.find((s) => s.type === 'integer' || s.type === 'number')
    if (numeric) return describe(numeric)
    const boolean = schema.anyOf.find((s) => s.type === 'boolean')
    if (boolean) return describe(boolean)
  }
  if (schema.const !== undefined) return `must be ${JSON.stringify(schema.const)}`
  switch (schema.type) {
    case 'string': {
      if (schema.minLength !== undefined || schema.maxLength !== undefined) {
        const min = schema.minLength ?? 0
        return schema.maxLength !== undefined
          ? `must be a string of ${min}-${schema.maxLength} characters`
          : `must be a string of at least ${min} characters`
      }
      if (schema.pattern) return `must match ${schema.pattern}`
      return 'must be a string'
    }
    case 'integer':
      return `must be an integer${range(schema.minimum, schema.maximum)}`
    case 'number':
      return `must be a number${range(schema.minimum, schema.maximum)}`
    case 'boolean':
      return 'must be true or false'
    case 'array':
      return `must be an array${range(schema.minItems, schema.maxItems, ' items')}`
    case 'object':
      return 'must be a JSON object'
  }
  return 'is not valid'
}

/** The message for a failed check of `on` (body, query, params, headers). */
/** Custom messages the contract fixes word for word, used without the `invalid body:` prefix. */
const VERBATIM = new Set(['malformed request'])

export function validationMessage(on: string, customError: unknown, valueError: ValueError | undefined): string {
  const where = on === 'property' ? 'query' : on
  if (typeof customError === 'string' && VERBATIM.has(customError)) return customError
  if (typeof customError === 'string' && customError) return `invalid ${where}: ${customError}`
  const field = (valueError?.path ?? '').replace(/^\//, '').replaceAll('/', '.')
  if (!field) return `invalid ${where}: ${where === 'body' ? 'body must be a JSON object' : describe(valueError?.schema)}`
  if (valueError && valueError.value === undefined && valueError.schema?.type !== undefined) return `invalid ${where}: ${field} is required`
  return `invalid ${where}: ${field} ${describe(valueError?.schema)}`
}
