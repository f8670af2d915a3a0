// Wiring only: read the environment once, build the client once; the logic is in compare.ts and scores.ts.
import { S3Client } from '@aws-sdk/client-s3';
import { challengerScoresPrefix, championScoresPrefix } from '../../lib/contract/training-run';
import { modelFigures, checkSameRecords, compareWithChampion, settingsFromEnvironment } from './compare';
import { readScores } from './scores';

const { minImprovement, bucket } = settingsFromEnvironment(process.env);
const s3 = new S3Client({});

export interface CompareChampionEvent {
  /** The run whose validation split both models scored. */
  readonly runId: string;
  /** The champion's model name. */
  readonly championModel: string;
  /** The candidate's model name, made for the transform. */
  readonly challengerModel: string;
}

export const handler = async (event: CompareChampionEvent) => {
  const [champion, challenger] = await Promise.all([
    readScores(s3, bucket, championScoresPrefix(event.runId), 'champion'),
    readScores(s3, bucket, challengerScoresPrefix(event.runId), 'challenger'),
  ]);
  checkSameRecords(champion, challenger);
  const comparison = compareWithChampion(
    modelFigures(event.challengerModel, challenger),
    modelFigures(event.championModel, champion),
    minImprovement,
  );
  console.log(JSON.stringify({ runId: event.runId, ...comparison }));
  return comparison;
};
