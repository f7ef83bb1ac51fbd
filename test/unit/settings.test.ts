/**
 * Settings as an operator gives them: flags over the environment, every flag `run` lists accepted,
 * and a value that cannot work refused with one message naming the setting.
 */
import { describe, expect, it } from 'vitest';
import { RUN_OPTIONS } from '../../src/cli/run.ts';
import { loadSettings, SETTING_SOURCES } from '../../src/config/settings.ts';

const refusal = (env: NodeJS.ProcessEnv, flags: Record<string, string | undefined> = {}): string => {
  try {
    loadSettings(env, flags);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('settings', () => {
  it('run takes the flag of every setting (the help lists them all)', () => {
    expect(Object.keys(RUN_OPTIONS).sort()).toEqual(Object.values(SETTING_SOURCES).map((s) => s.flag).sort());
    expect(loadSettings({}, { 'commit-interval': '500' }).commitIntervalMs).toBe(500);
  });

  it('refuses a broker port outside 1-65535, naming the broker', () => {
    expect(refusal({}, { brokers: '127.0.0.1:99999' })).toMatch(/^bad setting KAFKA_BROKERS \(--brokers\) = "127\.0\.0\.1:99999": port 99999 of "127\.0\.0\.1:99999" is not a TCP port \(1-65535\)/);
    expect(refusal({ KAFKA_BROKERS: 'a:9092,b:0' })).toContain('port 0 of "b:0" is not a TCP port (1-65535)');
    expect(refusal({ KAFKA_BROKERS: 'nonsense' })).toContain('"nonsense": expected host:port[,host:port...]');
    expect(loadSettings({}, { brokers: 'a:1, b:65535' }).kafkaBrokers).toEqual(['a:1', 'b:65535']);
  });

  it('refuses a topic prefix with a dot at either end or two in a row (the dot before the topic name is added)', () => {
    expect(refusal({}, { prefix: 'qa.' })).toMatch(/^bad setting REE_TOPIC_PREFIX \(--prefix\) = "qa\.": .*qa gives qa\.shipments\.v1/);
    expect(refusal({ REE_TOPIC_PREFIX: '.qa' })).toContain('REE_TOPIC_PREFIX');
    expect(refusal({ REE_TOPIC_PREFIX: 'a..b' })).toContain('"a..b"');
    expect(loadSettings({}, { prefix: 'eu.qa-1_x' }).topicPrefix).toBe('eu.qa-1_x');
  });

  it('refuses a flag given an empty value, naming it, where an empty variable counts as unset', () => {
    const message = refusal({ KAFKA_BROKERS: 'k:9092' }, { brokers: '' });
    expect(message).toMatch(/^bad setting KAFKA_BROKERS \(--brokers\) = "": the flag was given an empty value; .*leave --brokers out/);
    expect(refusal({}, { rules: '' })).toContain('--rules');
    const unset = loadSettings({ KAFKA_BROKERS: '', REE_RULES_FILE: '' }, { brokers: undefined });
    expect(unset.kafkaBrokers).toEqual(['127.0.0.1:9092']);
    expect(unset.rulesFile).toBeUndefined();
  });
});
