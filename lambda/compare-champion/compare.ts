/**
 * Compares a training run's candidate with the champion, the model the endpoint serves, on the same validation
 * split: both models' figures come from the same batch transform of the same records (`<label>,<score>` lines, see
 * championScoresPrefix and challengerScoresPrefix). Step Functions' JSONPath can neither rank scores nor subtract
 * two AUCs, so the figures and the decision are made here.
 */

import { CONTAINER_CLASS_CUT, type ChampionFigures, type ModelComparison } from '../../lib/contract/training-run';

/** One validation record as a model scored it. */
export interface ScoredRecord {
  /** 1 for fraud, 0 otherwise. */
  readonly label: 0 | 1;
  /** The champion's probability of fraud. */
  readonly score: number;
}

/** A transform output the comparison cannot read: the run fails with where it is wrong, nothing is guessed. */
export class UnreadableScoresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableScores';
  }
}

/**
 * The records of one transform output file: a line per record, the label, a comma, the score. Blank lines (the
 * file's last newline) are skipped; anything else that is not two numbers, a 0/1 label and a probability, is an
 * error naming the file and line.
 */
export function parseScores(text: string, source: string): ScoredRecord[] {
  const records: ScoredRecord[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const fields = line.split(',');
    const label = Number(fields[0]);
    const score = Number(fields[1]);
    const where = `${source} line ${index + 1} ('${line.slice(0, 80)}')`;
    if (fields.length !== 2 || fields[0].trim() === '' || fields[1].trim() === '') {
      throw new UnreadableScoresError(
        `${where} has ${fields.length} field(s); a score line is <label>,<score> (the transform's ` +
          "OutputFilter '$[0,-1]' keeps the label and the score)",
      );
    }
    if (label !== 0 && label !== 1) {
      throw new UnreadableScoresError(`${where}: the label must be 0 or 1, the export's encoding of the label`);
    }
    if (!(score >= 0 && score <= 1)) {
      throw new UnreadableScoresError(`${where}: the score must be a probability from 0 to 1 (binary:logistic)`);
    }
    records.push({ label, score });
  }
  return records;
}

/**
 * The rank-based AUC (Mann–Whitney U over positives times negatives), tied scores given their average rank: the
 * chance that a random fraud scores above a random legitimate record, ties counting half. Null without a record of
 * either class, where it is undefined.
 */
export function rankAuc(records: readonly ScoredRecord[]): number | null {
  const sorted = [...records].sort((a, b) => a.score - b.score);
  let positives = 0;
  let positiveRankSum = 0;
  for (let start = 0; start < sorted.length;) {
    let end = start;
    while (end + 1 < sorted.length && sorted[end + 1].score === sorted[start].score) end += 1;
    // Ranks are 1-based: the tied run from start to end shares the mean of ranks start+1 … end+1.
    const averageRank = (start + end) / 2 + 1;
    for (let i = start; i <= end; i += 1) {
      if (sorted[i].label === 1) {
        positives += 1;
        positiveRankSum += averageRank;
      }
    }
    start = end + 1;
  }
  const negatives = sorted.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Recall and precision with a record flagged when its score is above `cut`; precision is null if none is. */
export function ratesAt(
  records: readonly ScoredRecord[],
  cut: number,
): { recall: number | null; precision: number | null } {
  let truePositives = 0;
  let positives = 0;
  let flagged = 0;
  for (const { label, score } of records) {
    const flag = score > cut;
    if (label === 1) positives += 1;
    if (flag) flagged += 1;
    if (flag && label === 1) truePositives += 1;
  }
  return {
    recall: positives === 0 ? null : truePositives / positives,
    precision: flagged === 0 ? null : truePositives / flagged,
  };
}

/**
 * Throws unless both models scored the same records: as many, with the same labels in the same order (both outputs
 * are named after the same input files, so they list alike). A partial output would otherwise compare two AUCs over
 * different records.
 */
export function checkSameRecords(champion: readonly ScoredRecord[], challenger: readonly ScoredRecord[]): void {
  const differs =
    champion.length !== challenger.length ? -1 : champion.findIndex((r, i) => r.label !== challenger[i].label);
  if (champion.length !== challenger.length || differs >= 0) {
    throw new UnreadableScoresError(
      champion.length !== challenger.length
        ? `The champion scored ${champion.length} record(s) and the challenger ${challenger.length}; both transforms ` +
            'read the same split, so one output is incomplete'
        : `The champion's and the challenger's outputs disagree on the label of record ${differs + 1}; both ` +
            'transforms read the same split, in the same order',
    );
  }
}

/** A model's figures on its scores; an output without both classes cannot be compared with, and fails. */
export function modelFigures(modelName: string, records: readonly ScoredRecord[]): ChampionFigures {
  const auc = rankAuc(records);
  const { recall, precision } = ratesAt(records, CONTAINER_CLASS_CUT);
  if (auc === null || recall === null) {
    throw new UnreadableScoresError(
      `${modelName} scored ${records.length} record(s) without both a fraud and a legitimate one, so it has no ` +
        'AUC; the export window must hold both classes (the candidate was gated on the same split)',
    );
  }
  return { modelName, auc, recall, precision, records: records.length };
}

/** Rounding that keeps a figure readable and makes 0.93 − 0.92 compare as 0.01. */
const round = (value: number) => Math.round(value * 1e6) / 1e6;

/**
 * The decision: the challenger wins when its AUC minus the champion's is at least `minImprovement`. A negative
 * `minImprovement` is a tolerance: a challenger a little worse still replaces the champion, for example to move to
 * fresher data.
 */
export function compareWithChampion(
  challenger: { readonly auc: number; readonly recall: number | null },
  champion: ChampionFigures,
  minImprovement: number,
): ModelComparison {
  const improvement = round(challenger.auc - champion.auc);
  const rounded = (value: number | null) => (value === null ? null : round(value));
  return {
    decision: improvement >= round(minImprovement) ? 'challenger-wins' : 'champion-kept',
    minImprovement,
    challenger: { auc: round(challenger.auc), recall: rounded(challenger.recall) },
    champion: {
      ...champion,
      auc: round(champion.auc),
      recall: round(champion.recall),
      precision: rounded(champion.precision),
    },
    improvement,
  };
}

/** `MIN_IMPROVEMENT` and `MODELS_BUCKET`, checked once when the function loads. */
export function settingsFromEnvironment(environment: NodeJS.ProcessEnv): { minImprovement: number; bucket: string } {
  const minImprovement = Number(environment.MIN_IMPROVEMENT);
  if (environment.MIN_IMPROVEMENT === undefined || !(minImprovement >= -1 && minImprovement <= 1)) {
    throw new Error(`MIN_IMPROVEMENT '${environment.MIN_IMPROVEMENT}' must be a number from -1 to 1`);
  }
  const bucket = environment.MODELS_BUCKET;
  if (bucket === undefined || bucket === '') throw new Error('MODELS_BUCKET is not set');
  return { minImprovement, bucket };
}
