import { readdirSync } from 'node:fs';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { it } from 'vitest';
import { runBatch } from '../lambda/batch.js';
import { parseRequest } from '../lambda/request.js';
import { startHarness } from './support/harness.js';

it('x', async () => {
  const h = await startHarness({ picsum: { faults: (r) => (r.hop === 'image' ? { kind: 'truncate' } : undefined) } });
  const result = await runBatch(parseRequest({ seed: 'f', width: 400, count: 1 }, h.config), {
    config: h.config,
    deps: h.deps,
    deadlineAt: Date.now() + 20000,
  });
  const keys = await h.keys();
  console.log(keys);
  for (const k of keys) {
    try {
      const r = await h.s3.send(new HeadObjectCommand({ Bucket: h.config.bucket, Key: k }));
      console.log(k, r.ContentLength);
    } catch (e) {
      console.log(k, 'HEAD', (e as Error).name);
    }
  }
  console.log(readdirSync(h.s3server.directory + '/test-bucket/images/' + result.batchId));
  await h.close();
});
