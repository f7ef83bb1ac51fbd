#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// A finished command ends even if a client library still holds a timer (kafkajs retrying a
// connection that a failed start-up gave up on): output gets a moment to drain, then the process goes.
setTimeout(() => process.exit(), 1_000).unref();
