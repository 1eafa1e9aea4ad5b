import { defineConfig } from 'vite';

// The console: Preact through esbuild's automatic JSX runtime (no Babel preset needed), every
// asset bundled and emitted as a file (no inline script or style: the CSP forbids them).
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  publicDir: 'public',
  logLevel: 'warn',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
