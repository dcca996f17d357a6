import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';

/** An error shaped as the SDK shapes S3's answers (`$fault`, `$metadata`). */
const s3Error = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $fault: 'client', $metadata: { httpStatusCode: status } });

/**
 * S3 for narrow unit tests: PutObject (with If-None-Match and If-Match), CopyObject, GetObject (with
 * an ETag) and ListObjectsV2 over a Map. It skips signing, checksums and serialization, so it proves nothing about storage — the
 * integration tests do that against s3rver — only about the logic that calls it.
 */
export function memoryS3() {
  const objects = new Map<string, string>();
  // Each write's own ETag: a version S3 would give it.
  const etags = new Map<string, string>();
  let writes = 0;
  const put = (key: string, text: string) => {
    objects.set(key, text);
    etags.set(key, `"${++writes}"`);
  };
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof PutObjectCommand) {
      const { Key = '', Body, IfNoneMatch, IfMatch } = command.input;
      if (IfNoneMatch === '*' && objects.has(Key)) throw s3Error('PreconditionFailed', 412);
      if (IfMatch !== undefined && etags.get(Key) !== IfMatch) throw s3Error('PreconditionFailed', 412);
      put(Key, String(Body));
      return {};
    }
    if (command instanceof CopyObjectCommand) {
      const from = decodeURIComponent(String(command.input.CopySource).replace(/^[^/]+\//, ''));
      const text = objects.get(from);
      if (text === undefined) throw s3Error('NoSuchKey', 404);
      put(command.input.Key ?? '', text);
      return {};
    }
    if (command instanceof GetObjectCommand) {
      const text = objects.get(command.input.Key ?? '');
      if (text === undefined) throw s3Error('NoSuchKey', 404);
      return { Body: { transformToString: async () => text }, ETag: etags.get(command.input.Key ?? '') };
    }
    if (command instanceof ListObjectsV2Command) {
      const prefix = command.input.Prefix ?? '';
      const keys = [...objects.keys()].filter((key) => key.startsWith(prefix)).sort();
      if (command.input.Delimiter !== '/') return { Contents: keys.map((Key) => ({ Key })) };
      // With a delimiter, S3 rolls up every key below the next `/` into a common prefix.
      const folders = new Set(keys.flatMap((key) => /^[^/]*\//.exec(key.slice(prefix.length))?.[0] ?? []));
      return {
        Contents: keys.filter((key) => !key.slice(prefix.length).includes('/')).map((Key) => ({ Key })),
        CommonPrefixes: [...folders].map((folder) => ({ Prefix: `${prefix}${folder}` })),
      };
    }
    throw new Error(`memoryS3 does not answer ${(command as object).constructor.name}`);
  };
  return { send, objects } as { send: (command: unknown) => Promise<never>; objects: Map<string, string> };
}
