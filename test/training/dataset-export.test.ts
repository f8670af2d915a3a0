import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DatasetExport, type DatasetExportProps } from '../../lib/training/dataset-export';
import { TRANSACTION_SCHEMA } from '../../lib/schema/feature-schema';
import { bareStack, importedBucket, placeholder, render } from './bare-stack';

function datasets(overrides: Partial<DatasetExportProps> = {}) {
  const stack = bareStack();
  const step = new DatasetExport(stack, 'Export', {
    schema: TRANSACTION_SCHEMA,
    databaseName: 'lake',
    tableName: 'transactions',
    workgroupName: 'pipeline',
    rawBucket: importedBucket(stack, 'raw'),
    curatedBucket: importedBucket(stack, 'curated'),
    athenaResultsBucket: importedBucket(stack, 'results'),
    modelsBucket: importedBucket(stack, 'models'),
    onFailure: placeholder(stack, 'Failed'),
    ...overrides,
  });
  return { stack, step };
}

describe('DatasetExport', () => {
  test('unloads the window and split it is given, under a prefix of the run', () => {
    const { stack, step } = datasets({ validationPercent: 25, window: Duration.days(7) });
    const { states } = render(stack, step.startState);
    const query = (states.ExportDatasets.Parameters as Record<string, string>)['QueryString.$'];
    expect(states.ExportDatasets.Comment).toBe('One UNLOAD of the last 7 day(s): split=train/ and split=validation/');
    expect(query).toContain("% 100 < 75 THEN \\'train\\'");
    expect(query).toContain("INTERVAL \\'6\\' DAY");
    expect(query).toContain("TO \\'s3://curated/training-exports/{}/\\'");
    expect(step.splitUri('validation')).toMatch(/^\$\{Token/);
  });

  test("then writes the baseline of the same window's train split next to the run's model", () => {
    const { stack, step } = datasets({ validationPercent: 25, window: Duration.days(7) });
    const { states } = render(stack, step.startState);
    expect(states.ExportDatasets.Next).toBe('WriteBaseline');
    const query = (states.WriteBaseline.Parameters as Record<string, string>)['QueryString.$'];
    expect(query).toContain("States.Format('-- The feature baseline of a run");
    expect(query).toContain("% 100 < 75 THEN \\'train\\' ELSE \\'validation\\' END = \\'train\\'");
    expect(query).toContain("INTERVAL \\'6\\' DAY");
    expect(query).toContain("TO \\'s3://models/models/{}/baseline/\\'");
    expect(states.WriteBaseline.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
    expect(states.WriteBaseline.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'] })]);
  });

  test('grants the queries the workgroup, the raw events and the export and result prefixes, and the table', () => {
    const { stack, step } = datasets();
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    step.grantExportQueries(role);
    step.grantCatalogRead(role);
    const { statements } = render(stack, step.startState);
    const bySid = Object.fromEntries(statements.filter((s) => s.Sid).map((s) => [s.Sid, s]));
    expect(Object.keys(bySid)).toEqual(
      expect.arrayContaining(['RunExportQueries', 'ReadRawEvents', 'WriteExportsAndResults', 'ReadTrainingTable']),
    );
    expect(JSON.stringify(bySid.ReadRawEvents.Resource)).toContain('raw/events/*');
    expect(JSON.stringify(bySid.WriteExportsAndResults.Resource)).toContain('models/models/*/baseline/*');
    expect(JSON.stringify(bySid.ReadTrainingTable.Resource)).toContain(':table/lake/transactions');
  });
});

describe('DatasetExport validation', () => {
  test.each([0, 100, 12.5])('rejects a validation percent of %d', (validationPercent) => {
    expect(() => datasets({ validationPercent })).toThrow(
      `DatasetExport Test/Export: validationPercent ${validationPercent} must be a whole number from 1 to 99, so that both splits get records; pass for example 20`,
    );
  });

  test('rejects a window that is not whole days', () => {
    expect(() => datasets({ window: Duration.hours(36) })).toThrow(
      'DatasetExport Test/Export: window (1 day 12 hours) must be a whole number of days, at least 1 (the raw table is partitioned by day); pass for example Duration.days(30)',
    );
  });
});
