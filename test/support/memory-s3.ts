import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';

/** An error shaped as the SDK shapes S3's answers (`$fault`, `$metadata`). */
const s3Error = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $fault: 'client', $metadata: { httpStatusCode: status } });

/**
 * S3 for narrow unit tests: PutObject (with If-None-Match), CopyObject, GetObject and ListObjectsV2 over a
 * Map. It skips signing, checksums and serialization, so it proves nothing about storage — the
 * integration tests do that against s3rver — only about the logic that calls it.
 */
export function memoryS3() {
  const objects = new Map<string, string>();
  const send = async (command: unknown): Promise<unknown> => {
    if (command instanceof PutObjectCommand) {
      const { Key = '', Body, IfNoneMatch } = command.input;
      if (IfNoneMatch === '*' && objects.has(Key)) throw s3Error('PreconditionFailed', 412);
      objects.set(Key, String(Body));
      return {};
    }
    if (command instanceof CopyObjectCommand) {
      const from = decodeURIComponent(String(command.input.CopySource).replace(/^[^/]+\//, ''));
      const text = objects.get(from);
      if (text === undefined) throw s3Error('NoSuchKey', 404);
      objects.set(command.input.Key ?? '', text);
      return {};
    }
    if (command instanceof GetObjectCommand) {
      const text = objects.get(command.input.Key ?? '');
      if (text === undefined) throw s3Error('NoSuchKey', 404);
      return { Body: { transformToString: async () => text } };
    }
    if (command instanceof ListObjectsV2Command) {
      const prefix = command.input.Prefix ?? '';
      return { Contents: [...objects.keys()].filter((key) => key.startsWith(prefix)).map((Key) => ({ Key })) };
    }
    throw new Error(`memoryS3 does not answer ${(command as object).constructor.name}`);
  };
  return { send, objects } as { send: (command: unknown) => Promise<never>; objects: Map<string, string> };
}
