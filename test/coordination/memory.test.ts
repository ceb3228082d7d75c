import { MemoryCoordination } from '../../src/coordination/memory.js';
import { MemoryHub } from '../../src/coordination/memory-hub.js';
import { describeCoordinationContract } from './contract.js';

describe('MemoryCoordination', () => {
  describeCoordinationContract('memory', async (count, timing) => {
    const hub = new MemoryHub(undefined, timing.rememberedCalls);
    const instances = Array.from({ length: count }, () => new MemoryCoordination({ hub, leaseMs: timing.leaseMs, renewEveryMs: timing.renewEveryMs }));
    await Promise.all(instances.map((c) => c.start()));
    return { instances, cleanup: async () => void (await Promise.all(instances.map((c) => c.close()))) };
  });
});
