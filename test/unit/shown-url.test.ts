/** Service URLs in logs and messages: a password never shown. */
import { describe, expect, it } from 'vitest';
import { shownUrl } from '../../src/config/shown-url.ts';

describe('shownUrl', () => {
  it('hides the password of a Redis or registry URL and keeps the rest', () => {
    expect(shownUrl('redis://:s3cret@redis.internal:6379/2')).toBe('redis://:***@redis.internal:6379/2');
    expect(shownUrl('rediss://app:s3cret@redis.internal:6380')).toBe('rediss://app:***@redis.internal:6380');
    expect(shownUrl('https://user:pw@registry.example/apis/ccompat/v7')).toBe('https://user:***@registry.example/apis/ccompat/v7');
    expect(shownUrl('redis://redis.internal:6379?password=s3cret&db=2')).toBe('redis://redis.internal:6379?password=***&db=2');
  });

  it('shows a URL without a password, and a value that is not a URL, exactly as given', () => {
    expect(shownUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(shownUrl('http://127.0.0.1:8081/apis/ccompat/v7')).toBe('http://127.0.0.1:8081/apis/ccompat/v7');
    expect(shownUrl('none')).toBe('none');
  });
});
