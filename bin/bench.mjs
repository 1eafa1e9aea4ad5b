#!/usr/bin/env node
// npm run bench [-- names...]: runs the benchmarks in bench/ (all by default), each printing a
// table and writing bench/results/<name>.json.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../bench/run.ts');
await main(process.argv.slice(2));
