/**
 * The process entry point, shared by bin/ree-sentinel.js (the sources, through tsx) and
 * `node dist/cli/bin.js` (after `npm run build`).
 */
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
// A finished command ends even if a client library still holds a timer (kafkajs retrying a
// connection that a failed start-up gave up on): output gets a moment to drain, then the process goes.
setTimeout(() => process.exit(), 1_000).unref();
