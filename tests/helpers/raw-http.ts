/** What came back for a request written byte for byte (a Host header no fetch client would send). */
export interface RawAnswer {
  status: number
  head: string
  body: string
}

/**
 * Sends `request` as raw bytes to 127.0.0.1:`port` and reads until the server closes or `ms` pass
 * (requests should say `Connection: close`).
 */
export async function rawHttp(port: number, request: string, ms = 3000): Promise<RawAnswer> {
  let text = ''
  let done!: () => void
  const finished = new Promise<void>((resolve) => (done = resolve))
  const socket = await Bun.connect({
    hostname: '127.0.0.1',
    port,
    socket: {
      data(_socket, chunk) {
        text += new TextDecoder().decode(chunk)
      },
      close: () => done(),
      error: () => done(),
    },
  })
  socket.write(request)
  const timer = setTimeout(done, ms)
  await finished
  clearTimeout(timer)
  socket.end()
  const split = text.indexOf('\r\n\r\n')
  const head = split === -1 ? text : text.slice(0, split)
  return { status: Number(head.slice(9, 12)), head, body: split === -1 ? '' : text.slice(split + 4) }
}
