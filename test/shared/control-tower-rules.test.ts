import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_TOWER_RULES, RESOURCE_TYPE } from '../../lib/shared/control-tower-guard';

/**
 * ControlTowerGuardValidator gives a template only the rule files that name one of its resource types. That drops
 * no finding only if every rule that can fire on a template fires only on resources selected by a type the file
 * names. This reads every bundled rule file and checks exactly that, so a plugin upgrade that ships a rule written
 * another way fails here instead of losing its findings silently.
 */
const ruleFiles = readdirSync(CONTROL_TOWER_RULES, { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.guard'))
  .sort();

/** The problems of one rule file, as a reader would state them; none for a file written the expected way. */
function problemsOf(source: string): string[] {
  const code = source
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('\n');
  const problems: string[] = [];
  // Constants that hold a resource type: let S3_BUCKET_TYPE = "AWS::S3::Bucket"
  const typeConstants = new Map(
    [...code.matchAll(/^\s*let\s+(\w+)\s*=\s*["'](AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)["']/gm)].map((m) => [m[1], m[2]]),
  );
  // Collections selected by type: let buckets = Resources.*[ Type == %S3_BUCKET_TYPE ], or several types joined by
  // `or`, each a constant or a literal.
  const selections = new Set<string>();
  const literalType = new RegExp(`^${RESOURCE_TYPE.source}$`);
  for (const m of code.matchAll(/^\s*let\s+(\w+)\s*=\s*Resources(?:\.\*)?\[([^\]]*)\]/gm)) {
    const [, name, filter] = m;
    const operands = filter.split(/\bor\b/).map((part) => /^\s*Type\s*==\s*(\S+)\s*$/.exec(part)?.[1]);
    const types = operands.map((operand) =>
      operand?.startsWith('%') ? typeConstants.get(operand.slice(1)) : operand?.replace(/["']/g, ''),
    );
    if (types.every((type) => type !== undefined && literalType.test(type))) selections.add(name);
    else problems.push(`${name} is selected by ${filter.trim()}, not only by literal resource types`);
  }
  if (/Type\s*(==|!=|in|IN)\s*\//.test(code)) problems.push('a resource type is matched by a regular expression');
  // Every rule that runs on a template must be guarded by a non-empty collection selected by type.
  for (const m of code.matchAll(/^rule\s+(\w+)\s+when\s+([\s\S]*?)\{/gm)) {
    const [, name, condition] = m;
    if (/is_cfn_hook\(/.test(condition)) continue; // hook input, never a template's
    if (!/is_cfn_template\(/.test(condition)) {
      problems.push(`rule ${name} runs on a condition other than is_cfn_template or is_cfn_hook`);
      continue;
    }
    const guards = [...condition.matchAll(/%(\w+)\s+not\s+empty/g)].map((g) => g[1]);
    if (!guards.some((guard) => selections.has(guard))) {
      problems.push(`rule ${name} does not require a collection selected by resource type to be non-empty`);
    }
  }
  return problems;
}

describe('the bundled Control Tower rules', () => {
  test('are there to check', () => {
    expect(ruleFiles.length).toBeGreaterThan(200);
  });

  test.each(ruleFiles)('%s runs only on resources selected by a type it names', (file) => {
    expect(problemsOf(readFileSync(join(CONTROL_TOWER_RULES, file), 'utf8'))).toEqual([]);
  });

  test('the check finds a rule that looks at the whole template, and one that matches types by pattern', () => {
    const wholeTemplate = [
      'rule no_outputs when is_cfn_template(this) {',
      '  Outputs empty',
      '}',
      'rule is_cfn_template(doc) { %doc { Resources exists } }',
    ].join('\n');
    expect(problemsOf(wholeTemplate)).toEqual([
      'rule no_outputs does not require a collection selected by resource type to be non-empty',
    ]);
    const byPattern = [
      'let ec2 = Resources.*[ Type == /AWS::EC2::.*/ ]',
      'rule any_ec2 when is_cfn_template(this)',
      '    %ec2 not empty {',
      '  %ec2.Properties exists',
      '}',
    ].join('\n');
    expect(problemsOf(byPattern)).toEqual(
      expect.arrayContaining(['a resource type is matched by a regular expression']),
    );
  });
});
