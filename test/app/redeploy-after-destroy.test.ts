import { synthPipeline } from '../helpers';

/**
 * What `cdk destroy` keeps in prod must not block the next `cdk deploy`: a kept resource with a fixed physical name
 * makes CloudFormation fail to create it again ("already exists"). Data is kept (buckets and the key have generated
 * names); everything with a fixed name is deleted with its stack and re-created from code.
 */
const { app } = synthPipeline({ stage: 'prod' });
const assembly = app.synth();

/** Where each resource type the app keeps carries its physical name; a type missing here fails the test. */
const NAME_PROPERTIES: { readonly [type: string]: readonly string[] } = {
  'AWS::S3::Bucket': ['BucketName'],
  'AWS::KMS::Key': [],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::Logs::LogStream': ['LogStreamName'],
  'AWS::IAM::Role': ['RoleName'],
  'AWS::ApiGateway::Account': [],
  'AWS::Glue::Database': ['DatabaseInput.Name'],
  'AWS::Glue::Table': ['TableInput.Name'],
  'AWS::Glue::SecurityConfiguration': ['Name'],
  'AWS::KMS::Alias': ['AliasName'],
};

type Json = { [key: string]: unknown };
const at = (properties: Json, path: string) =>
  path.split('.').reduce<unknown>((node, key) => (node as Json | undefined)?.[key], properties);

/**
 * A name is fixed when nothing in it refers to another resource, whose generated id would make it new on every
 * deploy: literals and pseudo parameters (account, region) give the same name again.
 */
function isFixed(value: unknown): boolean {
  if (value === undefined) return false;
  const text = JSON.stringify(value);
  const references = [...text.matchAll(/"(?:Ref|Fn::GetAtt|Fn::ImportValue)":\s*(\[?"[^"]+")/g)].map((m) => m[1]);
  return references.every((ref) => /"AWS::/.test(ref));
}

const kept = assembly.stacks.flatMap((stack) =>
  Object.entries(
    (stack.template as { Resources: Record<string, { Type: string; DeletionPolicy?: string; Properties?: Json }> })
      .Resources,
  )
    .filter(([, resource]) => ['Retain', 'RetainExceptOnCreate'].includes(resource.DeletionPolicy ?? 'Delete'))
    .map(([logicalId, resource]) => ({ stack: stack.stackName, logicalId, ...resource })),
);

describe('prod after cdk destroy', () => {
  test('keeps the data: every bucket and the key', () => {
    const types = kept.map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::S3::Bucket')).toHaveLength(6);
    expect(types).toContain('AWS::KMS::Key');
  });

  test.each(kept.map((r) => [`${r.stack}/${r.logicalId}`, r] as const))(
    'keeps %s only under a name the next deploy will not ask for again',
    (_, resource) => {
      const nameProperties = NAME_PROPERTIES[resource.Type];
      expect({ type: resource.Type, modelled: nameProperties !== undefined }).toEqual({
        type: resource.Type,
        modelled: true,
      });
      const fixed = nameProperties.filter((path) => isFixed(at(resource.Properties ?? {}, path)));
      expect({ resource: `${resource.stack}/${resource.logicalId}`, fixedNames: fixed }).toEqual({
        resource: `${resource.stack}/${resource.logicalId}`,
        fixedNames: [],
      });
    },
  );
});
