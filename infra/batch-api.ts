import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  type IResource,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Model,
  RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { GATEWAY_ANSWERS, gatewayTemplate, statusOf } from '../lambda/api-description/gateway-answers.js';
import { requestModelSchema } from './request-model.js';
import type { StackSettings } from './settings.js';

export type BatchApiProps = {
  settings: StackSettings;
  handler: IFunction;
  limits: Parameters<typeof requestModelSchema>[0];
  restApiName: string;
};

/**
 * The regional REST API: `GET /batches` (a page of batches, newest first), `POST /batches` (body checked against the request model before the
 * function runs), `GET /batches/{batchId}` and `POST /batches/{batchId}/retry`. IAM (SigV4)
 * authorization unless `auth=none`; stage throttling, JSON access logs, execution logs for errors
 * and X-Ray tracing.
 */
export class BatchApi extends Construct {
  readonly api: RestApi;

  constructor(scope: Construct, id: string, props: BatchApiProps) {
    super(scope, id);
    const { settings } = props;
    // Logging needs the account's API Gateway CloudWatch role, an account-wide singleton this
    // construct leaves alone (cloudWatchRole: false): on only when asked for.
    const logs = settings.apiLogs
      ? {
          accessLogDestination: new LogGroupLogDestination(
            new LogGroup(this, 'AccessLogs', {
              retention: settings.logRetentionDays as RetentionDays,
              removalPolicy: settings.dev ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
            }),
          ),
          accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
          loggingLevel: MethodLoggingLevel.ERROR,
        }
      : {};
    this.api = new RestApi(this, 'Api', {
      restApiName: props.restApiName,
      description: 'Fetch N images from picsum.photos into S3',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'v1',
        throttlingRateLimit: settings.throttleRate,
        throttlingBurstLimit: settings.throttleBurst,
        tracingEnabled: true,
        ...logs,
      },
    });
    const authorizationType = settings.auth === 'iam' ? AuthorizationType.IAM : AuthorizationType.NONE;
    const integration = new LambdaIntegration(props.handler);
    const model = new Model(this, 'BatchRequest', {
      restApi: this.api,
      contentType: 'application/json',
      modelName: 'BatchRequest',
      schema: requestModelSchema(props.limits),
    });
    // Bodies are checked by the function alone: it names the field and the value, in the API's
    // error shape, as `npm run dev` does. The model documents the body; parameters are checked here.
    const validator = new RequestValidator(this, 'Validator', {
      restApi: this.api,
      validateRequestBody: false,
      validateRequestParameters: true,
    });
    // Everything API Gateway answers on its own, in the same `{error: {code, message}}` shape.
    for (const answer of GATEWAY_ANSWERS) {
      const status = statusOf(answer);
      this.api.addGatewayResponse(answer.type, {
        type: ResponseType.of(answer.type),
        ...(status === undefined ? {} : { statusCode: String(status) }),
        responseHeaders: {
          'content-type': "'application/json; charset=utf-8'",
          ...Object.fromEntries(Object.entries(answer.headers ?? {}).map(([name, value]) => [name, `'${value}'`])),
        },
        templates: { 'application/json': gatewayTemplate(answer) },
      });
    }
    // Any other method or path reaches the function too, which answers 405 (with Allow) or 404.
    const anyOther = (resource: IResource) => resource.addMethod('ANY', integration, { authorizationType });
    const batches = this.api.root.addResource('batches');
    // Newest first, a page at a time; the function checks both parameters and names a bad one.
    batches.addMethod('GET', integration, {
      authorizationType,
      requestParameters: { 'method.request.querystring.limit': false, 'method.request.querystring.cursor': false },
    });
    batches.addMethod('POST', integration, {
      authorizationType,
      requestValidator: validator,
      requestModels: { 'application/json': model },
    });
    anyOther(batches);
    anyOther(this.api.root);
    anyOther(this.api.root.addResource('{proxy+}'));
    const batch = batches.addResource('{batchId}');
    batch.addMethod('GET', integration, {
      authorizationType,
      requestValidator: validator,
      requestParameters: { 'method.request.path.batchId': true },
    });
    // Every object of a batch that has ended; the function refuses a running one (409).
    batch.addMethod('DELETE', integration, {
      authorizationType,
      requestValidator: validator,
      requestParameters: { 'method.request.path.batchId': true },
    });
    // The batch's unfinished items again, into the same batch; the function checks the (empty) body.
    const retry = batch.addResource('retry');
    retry.addMethod('POST', integration, {
      authorizationType,
      requestValidator: validator,
      requestParameters: { 'method.request.path.batchId': true },
    });
    anyOther(batch);
    anyOther(retry);
  }
}
