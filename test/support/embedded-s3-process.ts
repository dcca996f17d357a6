/**
 * The embedded S3 in a process of its own, for tests that give it a disk of its own (a small
 * tmpfs in a mount namespace): `embedded-s3-process.ts DIRECTORY` prints `{"endpoint": ...}` once
 * it listens, and stops when its standard input closes.
 */
import { startEmbeddedS3 } from '../../lambda/emulators/s3/embedded-s3.js';
import { TEST_S3_CREDENTIALS } from './s3-credentials.js';

const [directory = '.'] = process.argv.slice(2);
const s3 = await startEmbeddedS3({ directory, bucket: 'disk', credentials: TEST_S3_CREDENTIALS });
process.stdout.write(`${JSON.stringify({ endpoint: s3.endpoint })}\n`);
process.stdin.resume();
process.stdin.once('end', () => void s3.close({ hard: true }).then(() => process.exit(0)));
