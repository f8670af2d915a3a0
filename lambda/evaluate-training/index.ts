// Wiring only: the logic is in evaluate.ts.
import { evaluateTraining, type TrainingJobDescription } from './evaluate';

const metricName = process.env.METRIC_NAME;
if (metricName === undefined || metricName === '') throw new Error('METRIC_NAME is not set');

export const handler = async (event: TrainingJobDescription) => evaluateTraining(event, metricName);
