import WebSocket from 'ws';

/** What a WebSocket upgrade was answered: 101 (opened, then closed again), the refusal's status and body, or 0 (no answer). */
export interface UpgradeAnswer {
  status: number;
  body: string;
}

/** Tries a WebSocket upgrade of `url`'s `path` with `headers`; opened sockets are closed at once. */
export function tryUpgrade(url: string, path: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + path, { headers });
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => resolve({ status: 0, body: '' }));
  });
}
