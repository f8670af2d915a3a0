/**
 * The synthesized app as CloudFormation would deploy it into one account and region: every intrinsic function of
 * every template resolved to the string CloudFormation would produce, physical names generated where a template
 * leaves them to CloudFormation, and cross-stack imports followed to their exports.
 *
 * It exists so a real IAM evaluator can read the policies as they would be deployed: the identity policies of a
 * role, and the resource policies of a bucket, key, topic, function or role trust, with no token left in them.
 * Anything it cannot resolve is an error naming the template and the value, never a guess.
 */
import { CfnElement, Stack, type App } from 'aws-cdk-lib';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const PARTITION = 'aws';

type Json = unknown;
type JsonObject = { [key: string]: Json };

interface TemplateResource {
  readonly Type: string;
  readonly Properties?: JsonObject;
}

interface Template {
  readonly Resources: { readonly [logicalId: string]: TemplateResource };
  readonly Outputs?: { readonly [id: string]: { readonly Value: Json; readonly Export?: { readonly Name: Json } } };
  readonly Mappings?: { readonly [name: string]: { readonly [key: string]: { readonly [key: string]: Json } } };
  readonly Parameters?: { readonly [name: string]: { readonly Default?: Json } };
}

/** A resource of the deployed app, found by its construct path. */
export interface DeployedResource {
  readonly stackName: string;
  readonly logicalId: string;
  readonly type: string;
  /** The construct path, e.g. `Ingest/Delivery/DeliveryRole/Resource`. */
  readonly path: string;
  /** Its properties with every intrinsic resolved. */
  readonly properties: JsonObject;
  /** What `Ref` returns. */
  readonly ref: string;
  /** What `Fn::GetAtt` returns for an attribute. */
  attribute(name: string): string;
}

const isObject = (value: Json): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A deterministic stand-in for the random suffix CloudFormation appends to generated names. */
function suffix(text: string): string {
  let hash = 2166136261;
  for (const char of text) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash.toString(36).toUpperCase().padStart(7, '0').slice(0, 7);
}

export class DeployedApp {
  readonly resources: readonly DeployedResource[];
  private readonly templates = new Map<string, Template>();
  private readonly exports = new Map<string, { stackName: string; value: Json }>();
  private readonly resolved = new Map<string, DeployedResource>();

  private readonly paths = new Map<string, string>();

  /** Synthesizes `app` and reads its templates; construct paths come from the construct tree. */
  constructor(app: App) {
    for (const construct of app.node.findAll()) {
      if (!CfnElement.isCfnElement(construct)) continue;
      const stack = Stack.of(construct);
      this.paths.set(`${stack.stackName}/${stack.resolve(construct.logicalId)}`, construct.node.path);
    }
    for (const stack of app.synth().stacks) {
      const template = stack.template as Template;
      this.templates.set(stack.stackName, template);
      for (const output of Object.values(template.Outputs ?? {})) {
        if (output.Export === undefined) continue;
        const name = this.resolve(stack.stackName, output.Export.Name);
        this.exports.set(String(name), { stackName: stack.stackName, value: output.Value });
      }
    }
    const resources: DeployedResource[] = [];
    for (const [stackName, template] of this.templates) {
      for (const logicalId of Object.keys(template.Resources)) resources.push(this.resource(stackName, logicalId));
    }
    this.resources = resources;
  }

  /** The one resource whose construct path is `path` (with or without the trailing `/Resource`). */
  at(path: string): DeployedResource {
    const found = this.resources.filter((r) => r.path === path || r.path === `${path}/Resource`);
    if (found.length !== 1) {
      throw new Error(`expected one resource at ${path}, found ${found.map((r) => r.path).join(', ') || 'none'}`);
    }
    return found[0];
  }

  ofType(type: string): DeployedResource[] {
    return this.resources.filter((r) => r.type === type);
  }

  private resource(stackName: string, logicalId: string): DeployedResource {
    const key = `${stackName}/${logicalId}`;
    const cached = this.resolved.get(key);
    if (cached !== undefined) return cached;
    const template = this.templates.get(stackName);
    const raw = template?.Resources[logicalId];
    if (raw === undefined) throw new Error(`${stackName} has no resource ${logicalId}`);
    // Names first, so a property that refers to the resource itself (a bucket policy's ARN) can resolve.
    const physical = this.physicalIdentity(stackName, logicalId, raw);
    let resolvedProperties: JsonObject | undefined;
    const properties = () => (resolvedProperties ??= this.resolve(stackName, raw.Properties ?? {}) as JsonObject);
    const resource: DeployedResource = {
      stackName,
      logicalId,
      type: raw.Type,
      path: this.paths.get(key) ?? key,
      get properties() {
        return properties();
      },
      ref: physical.ref,
      attribute: (name) => {
        const value = physical.attributes[name];
        if (value === undefined) throw new Error(`${raw.Type} ${key}: attribute ${name} is not modelled`);
        return value;
      },
    };
    this.resolved.set(key, resource);
    return resource;
  }

  /** What Ref and GetAtt return for each resource type the app uses, as CloudFormation documents them. */
  private physicalIdentity(
    stackName: string,
    logicalId: string,
    raw: TemplateResource,
  ): { ref: string; attributes: { [name: string]: string } } {
    const props = raw.Properties ?? {};
    const named = (property: string, maxLength = 64) => {
      const given = props[property];
      if (given !== undefined) return String(this.resolve(stackName, given));
      return `${stackName}-${logicalId}`.slice(0, maxLength - 8) + `-${suffix(stackName + logicalId)}`;
    };
    const arn = (service: string, resource: string, region = REGION, account = ACCOUNT) =>
      `arn:${PARTITION}:${service}:${region}:${account}:${resource}`;
    switch (raw.Type) {
      case 'AWS::S3::Bucket': {
        const name = named('BucketName', 63).toLowerCase();
        return {
          ref: name,
          attributes: { Arn: `arn:${PARTITION}:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` },
        };
      }
      case 'AWS::IAM::Role': {
        const name = named('RoleName');
        return {
          ref: name,
          attributes: { Arn: `arn:${PARTITION}:iam::${ACCOUNT}:role/${name}`, RoleId: `AROA${suffix(name)}` },
        };
      }
      case 'AWS::KMS::Key': {
        const id = `${suffix(logicalId).toLowerCase()}-0000-4000-8000-${suffix(stackName).toLowerCase()}00000`;
        return { ref: id, attributes: { Arn: arn('kms', `key/${id}`), KeyId: id } };
      }
      case 'AWS::SNS::Topic': {
        const name = named('TopicName', 256);
        return { ref: arn('sns', name), attributes: { TopicArn: arn('sns', name), TopicName: name } };
      }
      case 'AWS::Lambda::Function': {
        const name = named('FunctionName');
        return { ref: name, attributes: { Arn: arn('lambda', `function:${name}`) } };
      }
      case 'AWS::StepFunctions::StateMachine': {
        const name = named('StateMachineName', 80);
        const machineArn = arn('states', `stateMachine:${name}`);
        return { ref: machineArn, attributes: { Arn: machineArn, Name: name } };
      }
      case 'AWS::Logs::LogGroup': {
        const name = named('LogGroupName', 512);
        return { ref: name, attributes: { Arn: arn('logs', `log-group:${name}:*`) } };
      }
      case 'AWS::CloudWatch::Alarm': {
        const name = named('AlarmName', 255);
        return { ref: name, attributes: { Arn: arn('cloudwatch', `alarm:${name}`) } };
      }
      case 'AWS::KinesisFirehose::DeliveryStream': {
        const name = named('DeliveryStreamName');
        return { ref: name, attributes: { Arn: arn('firehose', `deliverystream/${name}`) } };
      }
      case 'AWS::Glue::Database': {
        const input = props.DatabaseInput as JsonObject;
        return { ref: String(this.resolve(stackName, input.Name)), attributes: {} };
      }
      case 'AWS::Glue::Table': {
        const input = props.TableInput as JsonObject;
        return { ref: String(this.resolve(stackName, input.Name)), attributes: {} };
      }
      case 'AWS::Glue::Crawler':
      case 'AWS::Athena::WorkGroup':
      case 'AWS::Glue::SecurityConfiguration':
        return { ref: named('Name'), attributes: {} };
      case 'AWS::ApiGateway::RestApi': {
        const id = suffix(logicalId).toLowerCase().slice(0, 10).padEnd(10, '0');
        return { ref: id, attributes: { RootResourceId: `root${id.slice(0, 6)}` } };
      }
      case 'AWS::ApiGateway::Stage':
        return { ref: named('StageName'), attributes: {} };
      default:
        // Resources no policy refers to by name (an alarm's dashboard, a deployment) still get a stable Ref.
        return { ref: `${logicalId}-${suffix(stackName + logicalId)}`, attributes: {} };
    }
  }

  /** Resolves intrinsic functions in `value` as CloudFormation would in `stackName`. */
  resolve(stackName: string, value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(stackName, v));
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
      return this.intrinsic(stackName, keys[0], value[keys[0]]);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(stackName, v)]));
  }

  private intrinsic(stackName: string, name: string, args: Json): Json {
    const template = this.templates.get(stackName)!;
    const fail = (why: string): never => {
      throw new Error(`${stackName}: cannot resolve ${name} ${JSON.stringify(args)}: ${why}`);
    };
    switch (name) {
      case 'Ref': {
        const ref = String(args);
        const pseudo: { [ref: string]: string } = {
          'AWS::AccountId': ACCOUNT,
          'AWS::Region': REGION,
          'AWS::Partition': PARTITION,
          'AWS::URLSuffix': 'amazonaws.com',
          'AWS::StackName': stackName,
        };
        if (pseudo[ref] !== undefined) return pseudo[ref];
        if (template.Resources[ref] !== undefined) return this.resource(stackName, ref).ref;
        const parameter = template.Parameters?.[ref];
        if (parameter?.Default !== undefined) return parameter.Default;
        return fail('no such resource, pseudo parameter or parameter with a default');
      }
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(args) ? args : String(args).split('.');
        if (template.Resources[String(logicalId)] === undefined) return fail('no such resource');
        return this.resource(stackName, String(logicalId)).attribute(String(attribute));
      }
      case 'Fn::Join': {
        const [separator, parts] = args as [string, Json[]];
        return (this.resolve(stackName, parts) as Json[]).map(String).join(separator);
      }
      case 'Fn::Sub': {
        const [text, variables] = typeof args === 'string' ? [args, {}] : (args as [string, JsonObject]);
        return text.replace(/\$\{([^}!]+)\}/g, (_, variable: string) => {
          if (variables[variable] !== undefined) return String(this.resolve(stackName, variables[variable]));
          const [id, attribute] = variable.split('.');
          return String(
            attribute === undefined
              ? this.intrinsic(stackName, 'Ref', id)
              : this.intrinsic(stackName, 'Fn::GetAtt', [id, attribute]),
          );
        });
      }
      case 'Fn::ImportValue': {
        const exportName = String(this.resolve(stackName, args));
        const exported = this.exports.get(exportName);
        if (exported === undefined) return fail(`no stack exports ${exportName}`);
        return this.resolve(exported.stackName, exported.value);
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = (this.resolve(stackName, args) as Json[]).map(String);
        const found = template.Mappings?.[map]?.[top]?.[second];
        return found === undefined ? fail(`mapping ${map} has no ${top}.${second}`) : found;
      }
      case 'Fn::Select': {
        const [index, list] = this.resolve(stackName, args) as [string, Json[]];
        return list[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, text] = this.resolve(stackName, args) as [string, string];
        return text.split(separator);
      }
      default:
        return fail('not modelled');
    }
  }
}
