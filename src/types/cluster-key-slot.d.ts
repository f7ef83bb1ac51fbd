// The package ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot of a key: CRC16 of its hash tag (the first non-empty `{...}`) or of the whole key, mod 16384. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
