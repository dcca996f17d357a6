// The construct others embed: `new PicsumBatch(this, 'Images', { bucket, alarmEmails: [...] })`.
export { PicsumBatch, type PicsumBatchProps } from './picsum-batch.js';
export type { StackSettings as PicsumBatchSettings } from './settings.js';
