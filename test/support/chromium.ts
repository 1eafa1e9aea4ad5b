import fs from 'node:fs';

/** Flags for Debian's headless Chromium in tests: no sandbox (root in CI), no background traffic. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * A desktop Chrome UA, passed as a launch flag (a context override is lost in the unload of a
 * cross-site navigation): HeadlessChrome's own is flagged as a bot and left out of every report.
 */
export const DESKTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

if (!process.env.CHROMIUM_PATH && fs.existsSync('/usr/bin/chromium')) process.env.CHROMIUM_PATH = '/usr/bin/chromium';
