import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { EncryptedLogGroup } from './encrypted-log-group';
import { bundledCode } from './lambda-code';

/** Lambda's limit on the total size of a function's environment variables, names included (Lambda quotas). */
const LAMBDA_ENVIRONMENT_BYTES = 4096;

export interface PipelineFunctionProps {
  /** Folder under `lambda/` whose `index.ts` exports the handler. */
  readonly entry: string;
  /** The export of `index.ts` that Lambda calls. @default 'handler' */
  readonly handler?: string;
  readonly description: string;
  /** Environment variables of the function, besides NODE_OPTIONS. @default - none */
  readonly environment?: { readonly [key: string]: string };
  /** @default 30 seconds */
  readonly timeout?: Duration;
  /** @default 256 MiB */
  readonly memorySize?: number;
  /** The key of the function's log group. */
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  /** What happens to the function's log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A Node.js 24 arm64 Lambda function bundled by the local esbuild (lambda-code.ts; no Docker), with its own encrypted log group,
 * X-Ray tracing, and a role that can write only to that log group until the caller grants more.
 */
export class PipelineFunction extends Construct {
  readonly function: lambda.IFunction;
  readonly role: iam.IRole;

  constructor(scope: Construct, id: string, props: PipelineFunctionProps) {
    super(scope, id);
    const logGroup = new EncryptedLogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const environment = { ...props.environment, NODE_OPTIONS: '--enable-source-maps' };
    const environmentBytes = Object.entries(environment).reduce(
      (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value),
      0,
    );
    if (environmentBytes > LAMBDA_ENVIRONMENT_BYTES) {
      const [largest] = Object.entries(environment).sort(([, a], [, b]) => b.length - a.length);
      throw new Error(
        `PipelineFunction ${this.node.path}: environment takes ${environmentBytes} bytes, over the ` +
          `${LAMBDA_ENVIRONMENT_BYTES} Lambda allows for all variables together; the largest, ${largest[0]}, takes ` +
          `${largest[1].length}. Pass less through the environment`,
      );
    }
    const fn = new lambda.Function(this, 'Function', {
      code: bundledCode(this, path.join(__dirname, '..', '..', 'lambda', props.entry, 'index.ts')),
      handler: `index.${props.handler ?? 'handler'}`,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment,
    });
    this.function = fn;
    this.role = role;
    Validations.of(fn).acknowledge({
      id: 'cdk-validator-cfnguard::lambda_inside_vpc_check',
      reason: 'The function calls only AWS APIs; the pipeline has no VPC, and one would add NAT or endpoint cost.',
    });
  }
}
