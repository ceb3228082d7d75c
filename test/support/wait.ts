/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves once `predicate` holds (polled every 10 ms); rejects after `timeoutMs`, naming `what`. */
export async function waitUntil(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = performance.now();
  while (!(await predicate())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Calls `send(i)` `count` times on an absolute 20 ms schedule (`speedup` times faster than real time). */
export async function sendPaced(count: number, send: (i: number) => void, speedup = 1): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    send(i);
    const wait = start + ((i + 1) * 20) / speedup - performance.now();
    if (wait > 0) await sleep(wait);
  }
}
