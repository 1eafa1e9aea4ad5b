import { afterEach, beforeEach } from 'vitest';

/** A contract suite's backend, made fresh for each test. */
export interface PerTestBackend<B, I> {
  /** This test's backend. */
  backend(): B;
  /** A new instance on this test's backend; closed when the test ends. */
  open(): I;
}

/**
 * Registers the per-test life of a contract suite's backend: `factory` before each test; after
 * it, every instance `open` gave is closed, then the backend cleans up what the test left.
 */
export function perTestBackend<B extends { cleanup(): Promise<void> }, I>(
  factory: () => Promise<B>,
  openOn: (backend: B) => I,
  close: (instance: I) => Promise<void>,
): PerTestBackend<B, I> {
  let backend: B;
  let opened: I[] = [];
  beforeEach(async () => {
    backend = await factory();
    opened = [];
  });
  afterEach(async () => {
    await Promise.all(opened.map(close));
    await backend.cleanup();
  });
  return {
    backend: () => backend,
    open: () => {
      const instance = openOn(backend);
      opened.push(instance);
      return instance;
    },
  };
}
