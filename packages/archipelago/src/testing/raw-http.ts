// Sends raw bytes to a local HTTP server and reads the whole answer: for requests no HTTP client
// would send (oversized headers, a bad Content-Length, an unknown method). Part of `archipelago-toolkit/testing`.
import net from 'node:net';

export interface RawResponse { status: number; headers: string; body: any }

/** The server must close the connection after answering (send `Connection: close`, or an error). */
export function rawRequest(port: number, request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('error', reject);
    s.on('close', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const body = rest.join('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), headers: head, body: body ? JSON.parse(body) : undefined });
    });
    s.end(request);
  });
}
