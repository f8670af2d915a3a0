import type { TrainingJobDescription } from '../../lambda/evaluate-training/evaluate';

/**
 * What DescribeTrainingJob returns for a finished spot job: every evaluation metric on the validation channel (the
 * container publishes no training-channel metric), 70% of the time saved.
 */
export const COMPLETED_JOB: TrainingJobDescription = {
  TrainingJobName: 'mlpipe-sandbox-1',
  ModelArtifacts: { S3ModelArtifacts: 's3://models/models/mlpipe-sandbox-1/output/model.tar.gz' },
  FinalMetricDataList: [
    { MetricName: 'validation:accuracy', Value: 0.981 },
    { MetricName: 'validation:precision', Value: 0.541 },
    { MetricName: 'validation:recall', Value: 0.773 },
    { MetricName: 'validation:f1_binary', Value: 0.637 },
    { MetricName: 'validation:auc', Value: 0.912 },
  ],
  BillableTimeInSeconds: 300,
  TrainingTimeInSeconds: 1000,
};
