/** The keys the bench's S3 server answers; its contenders sign with them (the tutorial's too). */
export const BENCH_S3_CREDENTIALS = { accessKeyId: 'picsum-batch-bench', secretAccessKey: 'bench-secret' } as const;
