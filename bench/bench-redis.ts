import { Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from '../test/support/redis-server.js';

/** What Redis did between two samples: its CPU (µs), the commands it ran, and of those the scripts. */
export interface RedisSample {
  cpuUs: number;
  /** Every command, those a Lua script runs included. */
  commands: number;
  /** Scripts run (EVALSHA, EVAL; not those refused, such as an EVALSHA before its script is loaded): round trips, for callstream. */
  scripts: number;
}

/**
 * Debian's redis-server on a free loopback port (as the tests start it), with a client of the bench's
 * own that reads its counters (`INFO`: used_cpu_user/sys, total_commands_processed).
 */
export class BenchRedis {
  private constructor(
    private readonly server: RedisServer,
    private readonly client: Redis,
  ) {}

  static async start(): Promise<BenchRedis> {
    const server = await startRedisServer();
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    return new BenchRedis(server, client);
  }

  get url(): string {
    return this.server.url;
  }

  /** Its counters now. */
  async sample(): Promise<RedisSample> {
    const info = await this.client.info('all');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
    const succeeded = (command: string) => {
      const stats = new RegExp(`^cmdstat_${command}:(.*)$`, 'm').exec(info)?.[1] ?? '';
      const count = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(stats)?.[1] ?? 0);
      return count('calls') - count('failed_calls'); // calls: executed (rejected ones are not); failed: NOSCRIPT and errors
    };
    return {
      cpuUs: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6,
      commands: field('total_commands_processed'),
      scripts: succeeded('evalsha') + succeeded('eval'),
    };
  }

  /** What Redis did from `before` to `after`, less the bench's own INFO. */
  static between(before: RedisSample, after: RedisSample): RedisSample {
    return { cpuUs: after.cpuUs - before.cpuUs, commands: after.commands - before.commands - 1, scripts: after.scripts - before.scripts };
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    await this.server.stop();
  }
}
