/**
 * The watermark shared by every instance of the detector (DESIGN.md, "Watermark"): each instance
 * publishes its partitions' latest occurredAt after its batch's state is saved, and reads the
 * minimum over all partitions back, in one script call (lua/advanceWatermark-1.lua). Never
 * backwards: the script keeps the highest value it returned, and so does each instance.
 */
import type { Cluster, Redis } from 'ioredis';
import type { WatermarkTracker } from '../pipeline/watermark-tracker.ts';
import { ReeError } from '../errors.ts';
import { createKeyBuilder } from './keys.ts';
import { sendCommands } from './redis-commands.ts';
import { StateScripts } from './scripts.ts';

export interface RedisWatermarkOptions {
  redis: Redis | Cluster;
  prefix: string;
  allowedLatenessMs: number;
}

export function createRedisWatermark(options: RedisWatermarkOptions): WatermarkTracker {
  if (!(Number.isSafeInteger(options.allowedLatenessMs) && options.allowedLatenessMs >= 0)) {
    throw new ReeError('REE_ERR_CONFIG', `allowed lateness must be a whole number of ms >= 0, got ${options.allowedLatenessMs}`);
  }
  const scripts = new StateScripts(options.redis, createKeyBuilder(options.prefix));
  let value = -Infinity;
  const advance = async (latest: ReadonlyMap<string, number>, what: string) => {
    const [reply] = await sendCommands(options.redis, what, [scripts.advanceWatermark(options.allowedLatenessMs, latest)]);
    value = Math.max(value, scripts.decodeAdvanceWatermark(reply));
    return value;
  };
  return {
    current: () => value,
    advance: (latest) => advance(latest, 'advance the watermark'),
    // The script with no sources records nothing and answers the watermark over what every instance has recorded.
    load: () => advance(new Map(), 'load the watermark'),
  };
}
