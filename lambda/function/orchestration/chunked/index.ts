// The chunked path (Step Functions when deployed, chunk after chunk locally): plan, chunks,
// aggregate, progress and failure, one step to a file.
export * from './aggregate.js';
export * from './failure.js';
export * from './plan-batch.js';
export * from './progress.js';
export * from './run-basis.js';
export * from './run-chunk.js';
export * from './steps.js';
