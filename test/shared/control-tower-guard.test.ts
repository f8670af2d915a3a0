import { appendFileSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { CONTROL_TOWER_RULES, ControlTowerGuardValidator } from '../../lib/shared/control-tower-guard';
import { bareStack } from '../helpers';
import { tempDir } from '../temp-dirs';

/** A template with one unencrypted, unlogged bucket, which several Control Tower rules report. */
function bucketTemplate(dir: string, name: string, extra: object = {}): string {
  const file = join(dir, `${name}.template.json`);
  writeFileSync(file, JSON.stringify({ Resources: { Plain: { Type: 'AWS::S3::Bucket', Properties: extra } } }));
  return file;
}

const rulesOf = (report: PolicyValidationPluginReport) => report.violations.map((v) => v.ruleName).sort();
const validate = (guard: ControlTowerGuardValidator, templatePaths: string[]) =>
  guard.validate({ templatePaths, stackTemplates: [], appConstruct: bareStack().node.root });

describe('ControlTowerGuardValidator and its result cache', () => {
  test('gives an unchanged template the report the cache holds, and checks a changed one afresh', () => {
    const templates = tempDir('guard-templates');
    const cacheDirectory = tempDir('guard-cache');
    const template = bucketTemplate(templates, 'Bucket');
    const first = validate(new ControlTowerGuardValidator({ cacheDirectory }), [template]);
    expect(rulesOf(first)).toContain('s3_bucket_default_encryption_kms_check');
    const [entry] = readdirSync(cacheDirectory);

    // Tampered with, the entry shows that a second synth reads it instead of running the rules.
    const stored = JSON.parse(readFileSync(join(cacheDirectory, entry), 'utf8')) as PolicyValidationPluginReport;
    const marked = {
      ...stored,
      violations: stored.violations.map((v) => ({ ...v, ruleName: `cached_${v.ruleName}` })),
    };
    writeFileSync(join(cacheDirectory, entry), JSON.stringify(marked));
    const second = validate(new ControlTowerGuardValidator({ cacheDirectory }), [template]);
    expect(rulesOf(second).every((rule) => rule.startsWith('cached_'))).toBe(true);

    bucketTemplate(templates, 'Bucket', { BucketName: 'changed' });
    const third = validate(new ControlTowerGuardValidator({ cacheDirectory }), [template]);
    expect(rulesOf(third)).toEqual(rulesOf(first));
    expect(readdirSync(cacheDirectory)).toHaveLength(2);
  });

  test('names the template a cached report is read for, wherever the same content was checked before', () => {
    const cacheDirectory = tempDir('guard-cache');
    const original = bucketTemplate(tempDir('guard-templates'), 'Bucket');
    validate(new ControlTowerGuardValidator({ cacheDirectory }), [original]);
    const moved = join(tempDir('guard-templates'), 'Bucket.template.json');
    copyFileSync(original, moved);
    const report = validate(new ControlTowerGuardValidator({ cacheDirectory }), [moved]);
    const paths = report.violations.flatMap((v) => v.violatingResources.map((resource) => resource.templatePath));
    expect(paths.length).toBeGreaterThan(0);
    expect(new Set(paths)).toEqual(new Set([moved]));
  });

  test('checks afresh when a rule file it was checked against changes', () => {
    const rulesDirectory = tempDir('guard-rules');
    for (const rule of ['s3/ct-s3-pr-10.guard', 's3/ct-s3-pr-1.guard']) {
      copyFileSync(join(CONTROL_TOWER_RULES, rule), join(rulesDirectory, rule.split('/')[1]));
    }
    const cacheDirectory = tempDir('guard-cache');
    const template = bucketTemplate(tempDir('guard-templates'), 'Bucket');
    const guard = () => new ControlTowerGuardValidator({ cacheDirectory, rulesDirectory });
    const first = validate(guard(), [template]);
    expect(rulesOf(first).length).toBeGreaterThan(0);
    validate(guard(), [template]);
    expect(readdirSync(cacheDirectory)).toHaveLength(1);
    appendFileSync(join(rulesDirectory, 'ct-s3-pr-1.guard'), '\n# a changed rule file\n');
    expect(rulesOf(validate(guard(), [template]))).toEqual(rulesOf(first));
    expect(readdirSync(cacheDirectory)).toHaveLength(2);
  });

  test('reports success for a template no rule applies to', () => {
    const templates = tempDir('guard-templates');
    const file = join(templates, 'Topic.template.json');
    writeFileSync(file, JSON.stringify({ Resources: { Custom: { Type: 'Custom::Nothing', Properties: {} } } }));
    expect(validate(new ControlTowerGuardValidator({ cacheDirectory: tempDir('guard-cache') }), [file])).toEqual({
      success: true,
      violations: [],
    });
  });
});
