import net from 'node:net';
import { explainListenError, LISTEN_FLAGS } from '../server.js';

/**
 * Rejects, in the CLI's words, when host:port cannot be listened on (in use, not allowed, not an
 * address here): checked before anything starts or logs, so the error stands alone. Port 0 always can.
 */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => reject(explainListenError(error, host, port, LISTEN_FLAGS)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
