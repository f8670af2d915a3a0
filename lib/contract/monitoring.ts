/**
 * The monitor's contract between its state machine, its alarms and the dashboard: where its metrics are published.
 * No aws-cdk-lib here.
 */

/** CloudWatch namespace of the monitor's measures, shared with the predict function's own metrics. */
export const MONITOR_METRICS_NAMESPACE = 'MlPipeline';

/** The `service` dimension of the monitor's metrics, one per stage. */
export const monitorServiceName = (namePrefix: string) => `${namePrefix}-monitor`;
