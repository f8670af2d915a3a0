import { IncompleteTrainingJobError, evaluateTraining } from '../../lambda/evaluate-training/evaluate';
import { COMPLETED_JOB as job } from './completed-job';

describe('evaluateTraining', () => {
  test("reads the gate's metric, every validation metric and the spot saving", () => {
    expect(evaluateTraining(job, 'validation:auc')).toEqual({
      jobName: 'mlpipe-sandbox-1',
      modelArtifacts: 's3://models/models/mlpipe-sandbox-1/output/model.tar.gz',
      metricName: 'validation:auc',
      metricValue: 0.912,
      validationMetrics: { accuracy: 0.981, precision: 0.541, recall: 0.773, f1_binary: 0.637, auc: 0.912 },
      billableSeconds: 300,
      trainingSeconds: 1000,
      spotSavingPercent: 70,
    });
  });

  test('reports a metric the job did not report as null, next to those it did', () => {
    const partial = { ...job, FinalMetricDataList: [{ MetricName: 'validation:auc', Value: 0.9 }] };
    expect(evaluateTraining(partial, 'validation:auc')).toMatchObject({
      validationMetrics: { accuracy: null, precision: null, recall: null, f1_binary: null, auc: 0.9 },
    });
  });

  test('reports a missing metric as null so the quality gate rejects the model', () => {
    expect(evaluateTraining({ ...job, FinalMetricDataList: [] }, 'validation:auc').metricValue).toBeNull();
    expect(evaluateTraining({ ...job, FinalMetricDataList: undefined }, 'validation:auc').metricValue).toBeNull();
  });

  test('reports no saving for on-demand training, where billable equals training time', () => {
    expect(evaluateTraining({ ...job, BillableTimeInSeconds: 1000 }, 'validation:auc').spotSavingPercent).toBe(0);
    expect(evaluateTraining({ ...job, BillableTimeInSeconds: undefined }, 'validation:auc').spotSavingPercent).toBe(0);
  });

  test('fails with a named error for a job without model artifacts', () => {
    expect(() => evaluateTraining({ TrainingJobName: 'j' }, 'validation:auc')).toThrow(IncompleteTrainingJobError);
    expect(() => evaluateTraining({ TrainingJobName: 'j' }, 'validation:auc')).toThrow(
      'Training job j has no model artifacts; was it completed?',
    );
  });
});
