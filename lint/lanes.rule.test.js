import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { laneViolation } from './lanes.rule.js';

// the repository's own config, on made-up files at real places
const eslint = new ESLint();
async function lanes(filePath, code) {
  const [r] = await eslint.lintText(code, { filePath });
  return r.messages.filter((m) => m.ruleId === 'tally/lanes').map((m) => m.message);
}

describe('tally/lanes', () => {
  it('keeps src/domain free of our other modules', async () => {
    expect(await lanes('src/domain/x.ts', "import { TallyError } from '../infra/errors.js';\nexport const e = TallyError;\n")).toHaveLength(1);
    expect(
      await lanes(
        'src/domain/enrichment/x.ts',
        "import { DEFAULT_PROPERTY_SETTINGS } from '../property-settings.js';\nexport const d = DEFAULT_PROPERTY_SETTINGS;\n",
      ),
    ).toEqual([]);
  });

  it('lets infra import the domain only', async () => {
    expect(await lanes('src/infra/x.ts', "import { IngestService } from '../ingest/ingest.service.js';\nexport const i = IngestService;\n")).toHaveLength(1);
    expect(await lanes('src/infra/warehouse/x.ts', "export { EVENT_COLUMNS } from '../../domain/transformed-schema.js';\n")).toEqual([]);
  });

  it('keeps features apart and off infra implementations, dynamic imports too', async () => {
    expect(await lanes('src/ingest/x.ts', "import type { PropertyRow } from '../tenancy/tenant.repository.js';\nexport type P = PropertyRow;\n")).toHaveLength(
      1,
    );
    expect(await lanes('src/query/x.ts', "export const w = () => import('../infra/warehouse/duckdb.warehouse.js');\n")).toHaveLength(1);
    expect(
      await lanes(
        'jobs/x.ts',
        "import { TallyError } from '../src/infra/errors.js';\nimport type { JobQueue } from '../src/infra/jobs/job-queue.port.js';\nexport type Q = JobQueue;\nexport const e = TallyError;\n",
      ),
    ).toEqual([]);
  });

  it('tells the top-level jobs/ from src/infra/jobs', () => {
    expect(laneViolation('src/infra/x.ts', 'src/infra/jobs/job-queue.port.ts')).toBeNull();
    expect(laneViolation('src/infra/x.ts', 'jobs/archiver.ts')).toMatch(/only src\/domain/);
  });

  it('keeps test kits out of production code, and lets tests import anything', async () => {
    expect(await lanes('src/query/x.ts', "export { groundTruth } from './report-fixture.testkit.js';\n")).toHaveLength(1);
    expect(await lanes('src/infra/warehouse/y.contract.ts', "export { groundTruth } from '../../query/report-fixture.testkit.js';\n")).toEqual([]);
  });

  it('lets the composition root wire everything', () => {
    expect(laneViolation('src/server/modules.ts', 'src/tenancy/credential-cache.ts')).toBeNull();
    expect(laneViolation('src/server/modules.ts', 'src/query/report-fixture.testkit.ts')).toMatch(/test code/);
  });
});
