// Wiring only: read the environment once, build the client once; the logic is in compare.ts and scores.ts.
import { S3Client } from '@aws-sdk/client-s3';
import { championFigures, compareWithChampion, settingsFromEnvironment } from './compare';
import { readChampionScores } from './scores';

const { minImprovement, bucket } = settingsFromEnvironment(process.env);
const s3 = new S3Client({});

export interface CompareChampionEvent {
  /** The run whose validation split the champion scored. */
  readonly runId: string;
  /** The champion's model name. */
  readonly championModel: string;
  /** The candidate's validation AUC and recall, from its training job. */
  readonly challenger: { readonly auc: number; readonly recall: number | null };
}

export const handler = async (event: CompareChampionEvent) => {
  const records = await readChampionScores(s3, bucket, event.runId);
  const comparison = compareWithChampion(
    event.challenger,
    championFigures(event.championModel, records),
    minImprovement,
  );
  console.log(JSON.stringify({ runId: event.runId, ...comparison }));
  return comparison;
};
