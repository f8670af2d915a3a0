/**
 * The monitor's contract between its state machine, its alarms and the dashboard: where its metrics are published.
 * No aws-cdk-lib here.
 */

/**
 * CloudWatch namespace of the monitor's measures: its own, so the monitor's role, which may publish only here, cannot
 * touch the predict function's metrics (and their alarms) in `MlPipeline`.
 */
export const MONITOR_METRICS_NAMESPACE = 'MlPipeline/Monitor';

/** The `service` dimension of the monitor's metrics, one per stage. */
export const monitorServiceName = (namePrefix: string) => `${namePrefix}-monitor`;
