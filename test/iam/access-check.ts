/**
 * One call between services, decided by a real IAM policy evaluator (@cloud-copilot/iam-simulate) over the policies
 * the app would deploy: the caller's identity policies, and the resource policy of what it calls (bucket policy, key
 * policy, topic policy, the function's permissions, the role's trust policy). Nothing here decides an outcome; it only
 * collects the policies and the request context, and explains the evaluator's verdict.
 */
import {
  anonymousPrincipal,
  getDenialReasons,
  getGrantReasons,
  runSimulation,
  runUnsafeSimulation,
  type RequestAnalysis,
  type Simulation,
  type SimulationIdentityPolicy,
} from '@cloud-copilot/iam-simulate';
import { createValidatedPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy';
import { ACCOUNT, type DeployedApp, type DeployedResource } from './deployed-app';

type Context = { readonly [key: string]: string | string[] };
type PolicyDocument = { readonly Statement: readonly { readonly [key: string]: unknown }[] };

/** Who makes the call. */
export type Caller =
  /** A session of one of the app's roles (a Lambda function, Firehose, Glue, SageMaker, Step Functions). */
  | { readonly role: DeployedResource }
  /** An AWS service acting on its own behalf, e.g. CloudWatch publishing an alarm, with its source. */
  | { readonly service: string; readonly sourceArn?: string; readonly sourceAccount?: string }
  /** Someone outside the app: an unsigned request, or a principal of another account. */
  | { readonly anonymous: true }
  | { readonly arn: string };

export interface Call {
  /** The call as a sentence, e.g. "Firehose writes a Parquet file under events/". */
  readonly name: string;
  readonly caller: Caller;
  readonly action: string;
  readonly resource: string;
  /** Request context beyond the defaults (TLS on, the caller's identity). */
  readonly context?: Context;
  /**
   * The resource policy of a resource the app does not own (e.g. AWS's algorithm image repository), stated here
   * with the reason it is assumed.
   */
  readonly assumedResourcePolicy?: { readonly policy: PolicyDocument; readonly why: string };
  readonly expect: 'allowed' | 'denied';
}

export interface Verdict {
  readonly allowed: boolean;
  /** The decisive statements, or why nothing allowed the call. */
  readonly explanation: string;
}

/**
 * Context keys the evaluator's request validation drops although IAM evaluates them: KMS's encryption context keys
 * (`kms:EncryptionContext:aws:logs:arn`, ...). Calls carrying one are evaluated by the same engine without request
 * validation (runUnsafeSimulation), which keeps the key; that path returns a verdict without the statement detail.
 */
const KEYS_DROPPED_BY_VALIDATION = /^kms:EncryptionContext:/i;

export class AccessChecker {
  constructor(private readonly app: DeployedApp) {}

  async check(call: Call): Promise<Verdict> {
    const simulation = this.simulation(call);
    const result = await runSimulation(simulation, {});
    if (result.resultType === 'error') {
      throw new Error(`${call.name}: the evaluator rejected the input: ${JSON.stringify(result.errors)}`);
    }
    const analysis = result.resultType === 'single' ? result.result.analysis : result.results[0]?.analysis;
    const ignored =
      result.resultType === 'single' ? result.result.ignoredContextKeys : result.results[0]?.ignoredContextKeys;
    const dropped = (ignored ?? []).filter((key) => KEYS_DROPPED_BY_VALIDATION.test(key));
    const unexpected = (ignored ?? []).filter((key) => !KEYS_DROPPED_BY_VALIDATION.test(key));
    if (unexpected.length > 0) {
      throw new Error(
        `${call.name}: the evaluator ignores context key(s) ${unexpected.join(', ')} for ${call.action}, ` +
          'so the call would be decided without them; remove them from the call or model them',
      );
    }
    if (dropped.length > 0) {
      // The unsafe path reads the resource policy's name from its metadata, which only a validated policy carries.
      const resourcePolicy =
        simulation.resourcePolicy === undefined
          ? undefined
          : createValidatedPolicy(simulation.resourcePolicy, validateResourcePolicy, { name: 'resource policy' });
      const verdict = runUnsafeSimulation({ ...simulation, resourcePolicy }, {});
      return {
        allowed: verdict === 'Allowed',
        explanation: `${verdict} (evaluated without request validation, which would drop ${dropped.join(', ')})`,
      };
    }
    const allowed = result.overallResult === 'Allowed';
    const explanation = analysis === undefined ? result.overallResult : explain(analysis, allowed);
    const assumed = call.assumedResourcePolicy;
    return { allowed, explanation: assumed === undefined ? explanation : `${explanation}; assumed: ${assumed.why}` };
  }

  private simulation(call: Call): Simulation {
    const { caller } = call;
    const base = { 'aws:SecureTransport': 'true', 'aws:CurrentTime': '2026-12-01T12:00:00Z' };
    let principal: Simulation['request']['principal'];
    let identityPolicies: SimulationIdentityPolicy[] = [];
    let context: Context;
    if ('role' in caller) {
      const roleArn = caller.role.attribute('Arn');
      principal = `arn:aws:sts::${ACCOUNT}:assumed-role/${caller.role.ref}/session`;
      identityPolicies = this.identityPolicies(caller.role);
      context = {
        ...base,
        'aws:PrincipalArn': roleArn,
        'aws:PrincipalAccount': ACCOUNT,
        'aws:PrincipalType': 'AssumedRole',
        'aws:PrincipalIsAWSService': 'false',
      };
    } else if ('service' in caller) {
      principal = caller.service;
      context = {
        ...base,
        'aws:PrincipalIsAWSService': 'true',
        'aws:PrincipalServiceName': caller.service,
        ...(caller.sourceArn === undefined ? {} : { 'aws:SourceArn': caller.sourceArn }),
        ...(caller.sourceAccount === undefined ? {} : { 'aws:SourceAccount': caller.sourceAccount }),
      };
    } else if ('anonymous' in caller) {
      principal = anonymousPrincipal;
      context = base;
    } else {
      principal = caller.arn;
      context = { ...base, 'aws:PrincipalArn': caller.arn, 'aws:PrincipalIsAWSService': 'false' };
    }
    const resourcePolicy = call.assumedResourcePolicy?.policy ?? this.resourcePolicy(call);
    return {
      request: {
        principal,
        action: call.action,
        resource: { resource: call.resource, accountId: accountOf(call.resource) },
        contextVariables: { ...context, ...call.context },
      },
      identityPolicies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
    };
  }

  /** The role's inline policies and every AWS::IAM::Policy attached to it, named by construct path. */
  private identityPolicies(role: DeployedResource): SimulationIdentityPolicy[] {
    const props = role.properties as {
      Policies?: { PolicyName: string; PolicyDocument: PolicyDocument }[];
      ManagedPolicyArns?: string[];
    };
    if ((props.ManagedPolicyArns ?? []).length > 0) {
      throw new Error(`${role.path}: managed policies ${props.ManagedPolicyArns!.join(', ')} are not modelled`);
    }
    const inline = (props.Policies ?? []).map((p) => ({
      name: `${role.path}#${p.PolicyName}`,
      policy: p.PolicyDocument,
    }));
    const attached = [...this.app.ofType('AWS::IAM::Policy'), ...this.app.ofType('AWS::IAM::ManagedPolicy')]
      .filter((policy) => ((policy.properties.Roles as string[] | undefined) ?? []).includes(role.ref))
      .map((policy) => ({ name: policy.path, policy: policy.properties.PolicyDocument }));
    return [...inline, ...attached];
  }

  /** The resource policy that governs `call.resource`, if the resource is the app's and its type has one. */
  private resourcePolicy(call: Call): PolicyDocument | undefined {
    const { resource, action } = call;
    if (action.toLowerCase() === 'sts:assumerole') {
      return this.app.ofType('AWS::IAM::Role').find((r) => r.attribute('Arn') === resource)?.properties
        .AssumeRolePolicyDocument as PolicyDocument | undefined;
    }
    if (resource.startsWith('arn:aws:s3:::')) {
      const bucket = resource.slice('arn:aws:s3:::'.length).split('/')[0];
      return this.app.ofType('AWS::S3::BucketPolicy').find((p) => p.properties.Bucket === bucket)?.properties
        .PolicyDocument as PolicyDocument | undefined;
    }
    if (resource.startsWith('arn:aws:kms:')) {
      return this.app.ofType('AWS::KMS::Key').find((k) => k.attribute('Arn') === resource)?.properties.KeyPolicy as
        PolicyDocument | undefined;
    }
    if (resource.startsWith('arn:aws:sns:')) return this.topicPolicy(resource);
    if (resource.startsWith('arn:aws:lambda:')) return this.functionPolicy(resource);
    return undefined;
  }

  /**
   * The topic's AWS::SNS::TopicPolicy, which replaces SNS's default policy. A topic of the app without one would need
   * that default modelled; none has one, so that case is an error rather than a guess.
   */
  private topicPolicy(topicArn: string): PolicyDocument | undefined {
    const statements = this.app
      .ofType('AWS::SNS::TopicPolicy')
      .filter((p) => (p.properties.Topics as string[]).includes(topicArn))
      .flatMap((p) => (p.properties.PolicyDocument as PolicyDocument).Statement);
    if (statements.length > 0) return { Statement: statements };
    if (this.app.ofType('AWS::SNS::Topic').some((t) => t.ref === topicArn)) {
      throw new Error(`topic ${topicArn} has no AWS::SNS::TopicPolicy; its default policy is not modelled`);
    }
    return undefined;
  }

  /**
   * A function's resource policy, as Lambda builds it from each AWS::Lambda::Permission: the principal, the action,
   * and SourceArn / SourceAccount as `ArnLike aws:SourceArn` / `StringEquals aws:SourceAccount` conditions.
   */
  private functionPolicy(resource: string): PolicyDocument | undefined {
    const functionArn = resource.split(':').slice(0, 7).join(':');
    const fn = this.app.ofType('AWS::Lambda::Function').find((f) => f.attribute('Arn') === functionArn);
    if (fn === undefined) return undefined;
    const statements = this.app
      .ofType('AWS::Lambda::Permission')
      .filter((p) => p.properties.FunctionName === functionArn || p.properties.FunctionName === fn.ref)
      .map((p) => {
        const { Principal, Action, SourceArn, SourceAccount } = p.properties as { [key: string]: string };
        const conditions: { [op: string]: { [key: string]: string } } = {};
        if (SourceArn !== undefined) conditions.ArnLike = { 'AWS:SourceArn': SourceArn };
        if (SourceAccount !== undefined) conditions.StringEquals = { 'AWS:SourceAccount': SourceAccount };
        return {
          Sid: p.path,
          Effect: 'Allow',
          Principal: /^\d{12}$/.test(Principal) ? { AWS: `arn:aws:iam::${Principal}:root` } : { Service: Principal },
          Action,
          Resource: functionArn,
          ...(Object.keys(conditions).length > 0 ? { Condition: conditions } : {}),
        };
      });
    return statements.length > 0 ? { Statement: statements } : undefined;
  }
}

/** The account that owns a resource ARN; S3 ARNs carry none, and every bucket here is the app's. */
function accountOf(resource: string): string {
  if (resource === '*') return ACCOUNT;
  const account = resource.split(':')[4];
  return account === undefined || account === '' ? ACCOUNT : account;
}

function explain(analysis: RequestAnalysis, allowed: boolean): string {
  if (allowed) {
    return (
      'allowed by ' +
      getGrantReasons(analysis)
        .map((g) => `${g.policyType} ${'policyIdentifier' in g ? g.policyIdentifier : 'policy'} ${statement(g)}`)
        .join(' and ')
    );
  }
  const denials = getDenialReasons(analysis);
  const explicit = denials.filter((d) => d.denialType === 'Explicit');
  if (explicit.length > 0) {
    return (
      'explicitly denied by ' +
      explicit
        .map(
          (d) =>
            `${d.policyType} ${'policyIdentifier' in d ? (d.policyIdentifier ?? 'policy') : 'policy'} ${statement(d)}`,
        )
        .join(' and ')
    );
  }
  const sides = [
    `identity ${analysis.identityAnalysis?.result ?? 'none'}`,
    `resource ${analysis.resourceAnalysis?.result ?? 'none'}`,
  ].join(', ');
  return `no statement allows it (${sides}${analysis.blockedBy?.length ? `; blocked by ${analysis.blockedBy.join(', ')}` : ''})`;
}

function statement(s: { statementId?: string; statementIndex?: number }): string {
  return s.statementId !== undefined ? `statement ${s.statementId}` : `statement #${s.statementIndex}`;
}
