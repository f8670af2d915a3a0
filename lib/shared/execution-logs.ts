import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * How every state machine of the app logs: each state's events to its own encrypted group, without the execution's
 * data, which may carry names and query text.
 */
export function executionLogs(destination: logs.ILogGroup): sfn.LogOptions {
  return { destination, level: sfn.LogLevel.ALL, includeExecutionData: false };
}
