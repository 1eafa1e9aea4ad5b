import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { objectStoreContract } from './object-store.contract.js';
import { FolderObjectStore } from './folder.object-store.js';

objectStoreContract('folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tally-folder-contract-'));
  return { store: new FolderObjectStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});
