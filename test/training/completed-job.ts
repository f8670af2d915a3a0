import type { TrainingJobDescription } from '../../lambda/evaluate-training/evaluate';

/** What DescribeTrainingJob returns for a finished spot job: AUC on both channels, 70% of the time saved. */
export const COMPLETED_JOB: TrainingJobDescription = {
  TrainingJobName: 'mlpipe-sandbox-1',
  ModelArtifacts: { S3ModelArtifacts: 's3://models/models/mlpipe-sandbox-1/output/model.tar.gz' },
  FinalMetricDataList: [
    { MetricName: 'train:auc', Value: 0.99 },
    { MetricName: 'validation:auc', Value: 0.912 },
  ],
  BillableTimeInSeconds: 300,
  TrainingTimeInSeconds: 1000,
};
