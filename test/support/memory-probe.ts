import path from 'node:path';
import type { StreamOptions } from '../../src/options.js';
import { spawnTestProcess, type TestProcess, waitReady } from './child-process.js';
import { ROOT, TSX_LOADER } from './cli.js';

/** A test server in a child process (memory-server.ts) whose memory a test reads after a GC. */
export interface MemoryServer {
  url: string;
  proc: TestProcess;
  /** process.memoryUsage() of the server after two GCs. */
  memory(): Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

/**
 * Starts memory-server.ts with `options` (JSON-able); `proxy` trusts X-Forwarded-For; `fileLimit`
 * lowers the child's soft limit on open files (`ulimit -n`), so a test can reach it.
 */
export async function startMemoryServer(options: StreamOptions, { proxy = false, fileLimit }: { proxy?: boolean; fileLimit?: number } = {}): Promise<MemoryServer> {
  const node = [process.execPath, '--expose-gc', '--import', TSX_LOADER, path.join(ROOT, 'test/support/memory-server.ts')];
  const [command, ...args] = fileLimit === undefined ? node : ['/bin/sh', '-c', `ulimit -n ${fileLimit} && exec "$0" "$@"`, ...node];
  const proc = spawnTestProcess(command!, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: path.join(ROOT, 'tsconfig.json'),
      CALLSTREAM_TEST_OPTIONS: JSON.stringify(options),
      CALLSTREAM_TEST_PROXY: proxy ? '1' : '0',
    },
  });
  let url = '';
  await waitReady(proc, 'the memory test server', async () => {
    url = (/\{"url":"([^"]+)"\}/.exec(proc.output())?.[1]) ?? '';
    return url !== '';
  }, 20_000);
  return {
    url,
    proc,
    async memory() {
      const response = await fetch(`${url}/__memory`);
      if (!response.ok) throw new Error(`GET /__memory: ${response.status} ${await response.text()}\n${proc.output()}`);
      return (await response.json()) as NodeJS.MemoryUsage;
    },
    stop: () => proc.stop('SIGTERM'),
  };
}
