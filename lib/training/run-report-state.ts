import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { REPORT_STATE } from '../contract/training-run';

export interface RunReportStateProps {
  /** The endpoint the run rolled the model out to, or will once the version is approved. */
  readonly endpointName: string;
  /** Whether the run rolled the version out, or left it awaiting approval. @default 'Approved' */
  readonly approval?: 'Approved' | 'PendingManualApproval';
}

/**
 * The last state of a successful run: its output, and so the execution's, is the run's report (`RunReport` in
 * lib/contract/training-run.ts, which `npm run train` prints): what was trained, how well, where it lives, and what
 * spot saved. Expects `$.training` (the quality gate's evaluation), `$.comparison` (champion-challenger.ts),
 * `$.registry`, and, for a rolled-out version,
 * `$.endpoint` (the rollout's last description).
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
        comparison: sfn.JsonPath.objectAt('$.comparison'),
        modelPackageArn: sfn.JsonPath.stringAt('$.registry.packageArn'),
        approval: props.approval ?? 'Approved',
        endpointName: props.endpointName,
        // A literal null would be dropped from the rendered state; the intrinsic keeps the field, as null.
        ...(props.approval === 'PendingManualApproval'
          ? { 'endpointConfigName.$': "States.StringToJson('null')" }
          : { endpointConfigName: sfn.JsonPath.stringAt('$.endpoint.EndpointConfigName') }),
      },
    });
  }
}
