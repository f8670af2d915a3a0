import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { REPORT_STATE } from '../contract/training-run';

export interface RunReportStateProps {
  /** The endpoint the run rolled the model out to. */
  readonly endpointName: string;
}

/**
 * The last state of a successful run: its output, and so the execution's, is the run's report (`RunReport` in
 * lib/contract/training-run.ts, which `npm run train` prints): what was trained, how well, where it lives, and what
 * spot saved. Expects `$.training` (the quality gate's evaluation) and `$.endpoint` (the rollout's last description).
 */
export class RunReportState extends sfn.Pass {
  constructor(scope: Construct, id: string, props: RunReportStateProps) {
    super(scope, id, {
      stateName: REPORT_STATE,
      comment: 'The execution output: what was trained, how well, where it lives, and what spot saved',
      parameters: {
        trainingJobName: sfn.JsonPath.stringAt('$.training.jobName'),
        validationAuc: sfn.JsonPath.numberAt('$.training.metricValue'),
        validationMetrics: sfn.JsonPath.objectAt('$.training.validationMetrics'),
        modelArtifacts: sfn.JsonPath.stringAt('$.training.modelArtifacts'),
        billableSeconds: sfn.JsonPath.numberAt('$.training.billableSeconds'),
        trainingSeconds: sfn.JsonPath.numberAt('$.training.trainingSeconds'),
        spotSavingPercent: sfn.JsonPath.numberAt('$.training.spotSavingPercent'),
        modelPackageArn: sfn.JsonPath.stringAt('$.registry.packageArn'),
        endpointName: props.endpointName,
        endpointConfigName: sfn.JsonPath.stringAt('$.endpoint.EndpointConfigName'),
      },
    });
  }
}
