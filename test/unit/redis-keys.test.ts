import { describe, expect, it } from 'vitest';
import keySlot from 'cluster-key-slot';
import { createKeyBuilder } from '../../src/state/keys.ts';

describe('Redis keys', () => {
  const keys = createKeyBuilder('ree');

  it('tags every producer key with the producer and other keys with their own tag', () => {
    expect(keys.producer('P-1', 'state')).toBe('ree:{P-1}:state');
    expect(keys.licence('LIC-1')).toBe('ree:{lic:LIC-1}:licence');
    expect(keys.publishedAlert('volume-mismatch:P-1:ab12')).toBe('ree:{alert:volume-mismatch:P-1:ab12}:published');
    expect(keySlot(keys.producer('P-1', 'state'))).toBe(keySlot(keys.producer('P-1', 'epoch')));
    expect(keys.producerQuotas('P-1')).toBe('ree:{P-1}:quotas');
    expect(keys.quotaOwner('Q-1')).toBe('ree:{quota:Q-1}:owner');
  });

  it('refuses ids that could move a key to another tag or collide', () => {
    for (const bad of ['', 'P}x', '{P}', 'a b', 'P|1', 'x'.repeat(513)]) {
      expect(() => keys.producer(bad, 'state')).toThrow(/cannot be part of a Redis key/);
    }
    expect(() => keys.licence('L}1')).toThrow(/licenceId/);
    expect(() => createKeyBuilder('{ree}')).toThrow(/braces/);
    expect(() => createKeyBuilder('')).toThrow(/non-empty/);
  });

  it('puts keys in the cluster slots Redis does, hash tags included', () => {
    // Values from CLUSTER KEYSLOT on Redis 7.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
    expect(keySlot(keys.producer('P-1', 'state'))).toBe(keySlot('P-1'));
  });
});
