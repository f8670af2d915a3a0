import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { BUDGETS_REGIONS } from '../contract/service-limits';
import { alarmName, endpointMetric } from './pipeline-monitoring';

export interface CostGuardsProps {
  readonly namePrefix: string;
  /** The endpoint the pipeline rolls models out to. */
  readonly endpointName: string;
  /** Time without one invocation after which the idle alarm notifies. At most 7 days (CloudWatch's longest span). */
  readonly endpointIdleAfter: Duration;
  /** Where the idle alarm goes: the pipeline's notification topic. */
  readonly alarmTopic: sns.ITopic;
  /** Monthly cost budget for the account, in USD. */
  readonly monthlyBudgetUsd: number;
  /** Who the budget alerts, or `null` for no budget (a budget that alerts no one guards nothing). */
  readonly budgetEmail: string | null;
}

/** Percent of the budget at which AWS Budgets e-mails: actual spend nearing the limit, forecast spend above it. */
export const BUDGET_ALERTS = { actualPercent: 80, forecastPercent: 100 } as const;

/**
 * Cost guards shipped in code: an AWS Budgets monthly cost budget that e-mails before the month's spend reaches its
 * limit, and an alarm when the endpoint has served nothing for a configured time. An idle instance endpoint bills
 * every hour it runs; an idle serverless one costs nothing itself, but a sandbox no one has called for a day is
 * probably forgotten, and `cdk destroy` is the cheapest next step.
 */
export class CostGuards extends Construct {
  readonly idleAlarm: cloudwatch.IAlarm;
  readonly budget?: budgets.CfnBudget;

  constructor(scope: Construct, id: string, props: CostGuardsProps) {
    super(scope, id);
    const idleHours = props.endpointIdleAfter.toHours({ integral: false });
    if (!Number.isInteger(idleHours) || idleHours < 1 || idleHours > 168) {
      throw new Error(
        `CostGuards: endpointIdleAfter (${props.endpointIdleAfter.toHumanString()}) must be 1 to 168 whole hours, ` +
          'the longest an hourly alarm can look back; pass Duration.hours(1) to Duration.hours(168)',
      );
    }

    // SageMaker publishes Invocations only for hours with traffic, so a missing hour is an idle hour: breaching.
    const idleAlarm = new cloudwatch.Alarm(this, 'EndpointIdle', {
      alarmName: alarmName(props.namePrefix, 'EndpointIdle'),
      alarmDescription:
        `Endpoint ${props.endpointName} has had no invocations for ${idleHours} h. An instance endpoint bills while ` +
        'idle: if the sandbox is no longer needed, run npx cdk destroy --all.',
      metric: endpointMetric(props.endpointName, 'Invocations', 'Sum', Duration.hours(1)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: idleHours,
      datapointsToAlarm: idleHours,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    idleAlarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
    this.idleAlarm = idleAlarm;

    if (props.budgetEmail !== null) {
      const region = Stack.of(this).region;
      if (!Token.isUnresolved(region) && !BUDGETS_REGIONS.includes(region)) {
        throw new Error(
          `CostGuards: budgetEmail needs a budget, but CloudFormation has no AWS::Budgets::Budget in ${region}; ` +
            `deploy the stack to one of ${BUDGETS_REGIONS.join(', ')}, or pass budgetEmail null`,
        );
      }
      const subscribers = [{ subscriptionType: 'EMAIL', address: props.budgetEmail }];
      this.budget = new budgets.CfnBudget(this, 'MonthlyBudget', {
        budget: {
          budgetName: `${props.namePrefix}-monthly`,
          budgetType: 'COST',
          timeUnit: 'MONTHLY',
          budgetLimit: { amount: props.monthlyBudgetUsd, unit: 'USD' },
        },
        notificationsWithSubscribers: [
          {
            notification: {
              notificationType: 'ACTUAL',
              comparisonOperator: 'GREATER_THAN',
              threshold: BUDGET_ALERTS.actualPercent,
              thresholdType: 'PERCENTAGE',
            },
            subscribers,
          },
          {
            notification: {
              notificationType: 'FORECASTED',
              comparisonOperator: 'GREATER_THAN',
              threshold: BUDGET_ALERTS.forecastPercent,
              thresholdType: 'PERCENTAGE',
            },
            subscribers,
          },
        ],
      });
    }
  }
}
