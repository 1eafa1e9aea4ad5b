#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx compiles on load; the hot paths run as plain JS).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
