/**
 * The keys the tests' S3 servers answer (a server started for a user makes its own): tests hand
 * them to the clients and processes they point at one.
 */
export const TEST_S3_CREDENTIALS = { accessKeyId: 'picsum-batch-test', secretAccessKey: 'harness-secret' } as const;
