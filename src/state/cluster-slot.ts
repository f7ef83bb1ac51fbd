/**
 * Redis Cluster's key → slot mapping (CRC16-XMODEM of the hash tag or key, mod 16384), as the
 * cluster specification defines it. Pipelines are grouped by the node that serves each slot, so
 * the store needs the slot before ioredis does.
 */
const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

/** The part of a key that is hashed: the first non-empty `{...}`, else the whole key. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

export const CLUSTER_SLOTS = 16384;

export const keySlot = (key: string): number => crc16(Buffer.from(hashTagOf(key), 'utf8')) % CLUSTER_SLOTS;
