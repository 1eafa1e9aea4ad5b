import path from 'node:path';
import axe from 'axe-core';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

export interface A11yFinding {
  page: string;
  id: string;
  impact: string;
  help: string;
  nodes: number;
  /** The first offending element's selector, to find it. */
  target?: string;
}

/**
 * One console page as the e2e suites check it: wait for `ready` and for reloading widgets, run
 * axe-core in the page (evaluated through the devtools protocol, so the CSP is not loosened) at
 * 1280 and 375 px, collecting serious and critical violations into `a11y`; assert nothing scrolls
 * sideways at 375 px; screenshot both widths into `shots` as `{name}-1280.png` / `{name}-375.png`.
 */
export async function visitPage(page: Page, shots: string, a11y: A11yFinding[], name: string, ready?: () => Promise<unknown>): Promise<void> {
  await ready?.();
  // widgets still reloading after a change are not what the page looks like
  await expect.poll(() => page.locator('.is-reloading').count(), { timeout: 15_000 }).toBe(0);
  await page.evaluate(axe.source);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as axe.AxeResults;
  for (const v of result.violations) {
    if (v.impact === 'serious' || v.impact === 'critical')
      a11y.push({ page: name, id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, target: String(v.nodes[0]?.target ?? '') });
  }
  await page.screenshot({ path: path.join(shots, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForTimeout(150);
  const narrow = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as axe.AxeResults;
  for (const v of narrow.violations) {
    if (v.impact === 'serious' || v.impact === 'critical')
      a11y.push({ page: `${name}@375`, id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, target: String(v.nodes[0]?.target ?? '') });
  }
  // nothing may stick out sideways at 375 px
  const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
  expect(overflow, `${name} scrolls sideways at 375 px`).toBeLessThanOrEqual(0);
  await page.screenshot({ path: path.join(shots, `${name}-375.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.waitForTimeout(100);
}
