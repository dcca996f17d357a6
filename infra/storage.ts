import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export type ImageStorageProps = { dev: boolean; keyPrefix: string; expireDays: number };

/**
 * The image bucket: private, encrypted, TLS only, access-logged to a separate bucket; images
 * expire after `expireDays`, unfinished multipart uploads after a day. Kept when the stack is
 * deleted unless `dev` (then destroyed with its objects).
 */
export class ImageStorage extends Construct {
  readonly bucket: Bucket;
  readonly logBucket: Bucket;

  constructor(scope: Construct, id: string, props: ImageStorageProps) {
    super(scope, id);
    const removal = props.dev
      ? { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true }
      : { removalPolicy: RemovalPolicy.RETAIN };
    const common = {
      // The bucket owner owns every object, and ACLs are off, whatever the app's feature flags.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      ...removal,
    };
    this.logBucket = new Bucket(this, 'AccessLogs', {
      // S3 server access logging writes with the bucket owner's permissions, not ACLs.
      ...common,
      lifecycleRules: [{ expiration: Duration.days(Math.max(props.expireDays, 90)) }],
    });
    this.bucket = new Bucket(this, 'Images', {
      ...common,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'images-bucket/',
      lifecycleRules: [
        { id: 'ExpireImages', prefix: props.keyPrefix, expiration: Duration.days(props.expireDays) },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
  }
}
