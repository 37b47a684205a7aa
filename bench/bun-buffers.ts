/**
 * `bun bench/bun-buffers.ts`: what Bun itself holds per connection before a handler reads the body: a bare
 * Bun.serve whose handler never answers, 1,000 connections in each state, the server's RSS. Loopback only.
 */
import { connect, type Socket } from 'node:net'
const mode = process.argv[2]
if (mode === 'server') {
  Bun.serve({ port: 45679, hostname: '127.0.0.1', maxRequestBodySize: 2 * 1024 * 1024, idleTimeout: 60, fetch: () => new Promise<Response>(() => {}) })
} else {
  const proc = Bun.spawn(['bun', import.meta.path, 'server'], { stdout: 'inherit', stderr: 'inherit' })
  await Bun.sleep(500)
  const rss = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(require('fs').readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) / 1024 * 10) / 10
  const N = 1000
  for (const [label, body] of [['idle connection', -1], ['headers, no body byte', 0], ['headers + 16 KiB of body', 16384], ['headers + 256 KiB of body', 262144]] as const) {
    const before = rss(); const sockets: Socket[] = []
    for (let i = 0; i < N; i++) {
      const s = connect(45679, '127.0.0.1'); s.on('error', () => {}); sockets.push(s)
      if (body >= 0) s.write(`POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n`)
      if (body > 0) s.write(Buffer.alloc(body, 'a'))
    }
    await Bun.sleep(1500)
    const after = rss()
    console.log(`${label}: ${N} connections, server RSS +${Math.round(after - before)} MB = ${Math.round(((after - before) * 1024) / N)} KB each`)
    for (const s of sockets) s.destroy()
    await Bun.sleep(800)
  }
  proc.kill(); process.exit(0)
}
