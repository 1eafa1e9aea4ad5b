import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph } from './import-cycles.js';

const ROOT = path.resolve(import.meta.dirname, '..');

describe('import circles', () => {
  it('finds none between production files of src/ and jobs/', () => {
    const cycles = importCycles(importGraph(ROOT, ['src', 'jobs']));
    expect(cycles.map((c) => c.join(' → '))).toEqual([]);
  });

  it('finds a type-only circle and a dynamic one, and ignores tests', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cycles-'));
    const put = (file, text) => {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    };
    put('src/a.ts', "import type { B } from './b.js';\nexport type A = B;\n");
    put('src/b.ts', "import type { A } from './a.js';\nexport type B = A | 1;\n");
    put('src/c.ts', "export const c = () => import('./sub/d.js');\n");
    put('src/sub/d.ts', "export { c } from '../c.js';\n");
    put('src/e.ts', "import { f } from './e.test.js';\nexport const e = f;\n");
    put('src/e.test.ts', "import { e } from './e.js';\nexport const f = e;\n");
    const cycles = importCycles(importGraph(dir, ['src']));
    expect(cycles).toEqual([
      ['src/a.ts', 'src/b.ts', 'src/a.ts'],
      ['src/c.ts', 'src/sub/d.ts', 'src/c.ts'],
    ]);
    fs.rmSync(dir, { recursive: true });
  });
});
