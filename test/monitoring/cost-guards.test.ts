import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { CostGuards, type CostGuardsProps } from '../../lib/monitoring/cost-guards';
import { testApp } from '../helpers';

function guards(overrides: Partial<CostGuardsProps> = {}, region?: string): Template {
  const stack = new Stack(testApp(), 'Guards', region === undefined ? {} : { env: { region } });
  new CostGuards(stack, 'CostGuards', {
    namePrefix: 'mlpipe-sandbox',
    endpointName: 'mlpipe-sandbox-fraud',
    endpointIdleAfter: Duration.hours(24),
    alarmTopic: new sns.Topic(stack, 'Topic'),
    monthlyBudgetUsd: 20,
    budgetEmail: 'ml-team@example.com',
    ...overrides,
  });
  return Template.fromStack(stack);
}

describe('cost guards', () => {
  test('e-mail the budget address at 80% of actual and 100% of forecast monthly spend', () => {
    const subscribers = [{ SubscriptionType: 'EMAIL', Address: 'ml-team@example.com' }];
    guards().hasResourceProperties('AWS::Budgets::Budget', {
      Budget: {
        BudgetName: 'mlpipe-sandbox-monthly',
        BudgetType: 'COST',
        TimeUnit: 'MONTHLY',
        BudgetLimit: { Amount: 20, Unit: 'USD' },
      },
      NotificationsWithSubscribers: [
        {
          Notification: {
            NotificationType: 'ACTUAL',
            ComparisonOperator: 'GREATER_THAN',
            Threshold: 80,
            ThresholdType: 'PERCENTAGE',
          },
          Subscribers: subscribers,
        },
        {
          Notification: {
            NotificationType: 'FORECASTED',
            ComparisonOperator: 'GREATER_THAN',
            Threshold: 100,
            ThresholdType: 'PERCENTAGE',
          },
          Subscribers: subscribers,
        },
      ],
    });
  });

  test('create no budget when no one would be told', () => {
    guards({ budgetEmail: null }).resourceCountIs('AWS::Budgets::Budget', 0);
  });

  test('count the idle time in hourly periods', () => {
    guards({ endpointIdleAfter: Duration.hours(6) }).hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'mlpipe-sandbox-EndpointIdle',
      Period: 3600,
      EvaluationPeriods: 6,
      DatapointsToAlarm: 6,
    });
  });

  test('refuse an idle time CloudWatch cannot evaluate, naming the setting', () => {
    expect(() => guards({ endpointIdleAfter: Duration.hours(169) })).toThrow(
      'CostGuards: endpointIdleAfter (7 days 1 hour) must be 1 to 168 whole hours, the longest an hourly alarm can look back',
    );
    expect(() => guards({ endpointIdleAfter: Duration.minutes(90) })).toThrow(/must be 1 to 168 whole hours/);
  });

  test('refuse a budget in a region where CloudFormation has no AWS::Budgets::Budget', () => {
    expect(() => guards({}, 'eu-central-2')).toThrow(
      'CostGuards: budgetEmail needs a budget, but CloudFormation has no AWS::Budgets::Budget in eu-central-2',
    );
    guards({}, 'eu-west-1').resourceCountIs('AWS::Budgets::Budget', 1);
    guards({ budgetEmail: null }, 'eu-central-2').resourceCountIs('AWS::Budgets::Budget', 0);
  });
});
