/** The OpenAPI security requirements routes declare in their `detail` (the schemes are in docs/index.ts). */
type Requirement = Record<string, string[]>[]

export const SECURITY: Record<'session' | 'token' | 'either', Requirement> = {
  session: [{ sessionToken: [] }],
  token: [{ apiToken: [] }],
  either: [{ sessionToken: [] }, { apiToken: [] }],
}
