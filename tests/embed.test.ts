import { describe, expect, test } from 'bun:test'
import { makeTestApp } from './helpers/app'

describe('GET /v1/embed/{org}/{repo}', () => {
  test('snippets in Markdown, HTML and reStructuredText with alt text, at PUBLIC_URL', async () => {
    const t = makeTestApp({ PUBLIC_URL: 'https://cov.example.com/' })
    const res = await t.request('GET', '/v1/embed/acme/services/go-svc?branch=main&style=flat-square')
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const badge = 'https://cov.example.com/v1/badge/acme/services/go-svc?branch=main&style=flat-square'
    const trend = 'https://cov.example.com/v1/trend/acme/services/go-svc?branch=main'
    const dark = 'https://cov.example.com/v1/trend/acme/services/go-svc?branch=main&theme=dark'
    expect(res.json).toEqual({
      badge_url: badge,
      trend_url: trend,
      trend_dark_url: dark,
      markdown: `[![coverage of acme/services/go-svc](${badge})](${trend})`,
      html:
        `<a href="${trend}"><img src="${badge.replace('&', '&#38;')}" alt="coverage of acme/services/go-svc"></a>\n` +
        `<picture>\n  <source media="(prefers-color-scheme: dark)" srcset="${dark.replace('&', '&#38;')}">\n  <img src="${trend}" alt="coverage trend of acme/services/go-svc" width="320" height="100">\n</picture>`,
      rst: `.. image:: ${badge}\n   :alt: coverage of acme/services/go-svc\n   :target: ${trend}`,
    })
  })

  test('without PUBLIC_URL the URLs start at the address the request came to; %2F names the same repository', async () => {
    const t = makeTestApp()
    const res = await t.request('GET', '/v1/embed/acme/services%2Fgo-svc')
    expect(res.json.badge_url).toBe('http://localhost/v1/badge/acme/services/go-svc')
    expect(res.json.markdown).toBe('[![coverage of acme/services/go-svc](http://localhost/v1/badge/acme/services/go-svc)](http://localhost/v1/trend/acme/services/go-svc)')
  })

  test('it reads nothing: an unknown repository gets snippets too; names outside the policy and bad styles are 400', async () => {
    const t = makeTestApp()
    expect((await t.request('GET', '/v1/embed/nobody/nothing')).status).toBe(200)
    const bad = await t.request('GET', '/v1/embed/acme/a)b')
    expect([bad.status, bad.json.error]).toEqual([400, 'invalid params: repo must be 1-5 "/"-separated parts of A-Z, a-z, 0-9, ".", "_", "-" (1-100 characters each, none "." or "..")'])
    expect((await t.request('GET', '/v1/embed/Acme!/repo')).json).toEqual({ error: 'invalid params: org is not an organisation slug' })
    expect((await t.request('GET', '/v1/embed/acme/repo?style=plastic')).json).toEqual({ error: 'invalid query: style must be one of flat, flat-square, for-the-badge' })
  })

  test('PUBLIC_URL must be an http(s) URL', () => {
    expect(() => makeTestApp({ PUBLIC_URL: 'cov.example.com' })).toThrow('PUBLIC_URL must look like https://host[:port][/path], got "cov.example.com"')
  })
})
