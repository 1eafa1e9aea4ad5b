// @ts-check
/**
 * Import circles between production files (`src/`, `jobs/`), type-only imports included: a circle
 * means two files can only be understood together, whatever the runtime makes of it. The lanes rule
 * checks which folder may import which; this checks the files within the lanes.
 */
import fs from 'node:fs';
import path from 'node:path';

const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'|\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/gm;
const PRODUCTION = /\.ts$/;
const NOT_PRODUCTION = /\.(test|contract|testkit|fixture)\.ts$|\.d\.ts$/;

/** Repo-relative production .ts files under `dirs`, with the repo-relative files each imports. */
export function importGraph(root, dirs) {
  /** @type {Map<string, string[]>} */
  const graph = new Map();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (PRODUCTION.test(entry.name) && !NOT_PRODUCTION.test(entry.name)) graph.set(rel, []);
    }
  };
  for (const d of dirs) walk(d);
  for (const [file, deps] of graph) {
    for (const m of fs.readFileSync(path.join(root, file), 'utf8').matchAll(IMPORT)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1] ?? m[2])).replace(/\.js$/, '.ts');
      if (graph.has(target)) deps.push(target);
    }
  }
  return graph;
}

/** Every circle of the graph, each as the files along it (first file repeated at the end). */
export function importCycles(graph) {
  /** @type {string[][]} */
  const cycles = [];
  /** @type {Map<string, number>} 1 on the stack, 2 done */
  const state = new Map();
  /** @type {string[]} */
  const stack = [];
  const visit = (file) => {
    state.set(file, 1);
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === 1) cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 2);
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}
