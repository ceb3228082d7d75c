import type WebSocket from 'ws';

/** A client WebSocket's lifetime as promises: opened (rejects on a refused upgrade) and closed. */
export function socketLife(ws: WebSocket): { opened: Promise<void>; closed: Promise<{ code: number; reason: string }> } {
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => {});
  return { opened, closed };
}
