/** The baseline: a bare Bun.serve hello-world, measured in the same run as the real server. */
const server = Bun.serve({
  port: Number(Bun.env.PORT ?? 0),
  hostname: '127.0.0.1',
  fetch: () => new Response('{"status":"ok"}', { headers: { 'content-type': 'application/json' } }),
})
console.log(`listening ${server.port}`)
