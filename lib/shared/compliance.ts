import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Registers the synth-time checks: cdk-nag's AWS Solutions rules and the Control Tower proactive controls as
 * cfn-guard rules. CDK's own CloudFormation schema validation runs on every synth without registration.
 * A finding fails synthesis unless it is acknowledged on its resource with a reason.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new CfnGuardValidator());
}
