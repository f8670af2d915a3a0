import { S3Client } from '@aws-sdk/client-s3';
import {
  UnreadableScoresError,
  checkSameRecords,
  modelFigures,
  compareWithChampion,
  parseScores,
  rankAuc,
  ratesAt,
  settingsFromEnvironment,
  type ScoredRecord,
} from '../../lambda/compare-champion/compare';
import { readScores } from '../../lambda/compare-champion/scores';
import { championScoresPrefix } from '../../lib/contract/training-run';
import { startLocalServer, type LocalServer } from '../local-server';

/** The reference AUC: every fraud/legitimate pair counted, a tie as half (the definition rankAuc must match). */
function pairwiseAuc(records: readonly ScoredRecord[]): number {
  const positives = records.filter((r) => r.label === 1);
  const negatives = records.filter((r) => r.label === 0);
  let wins = 0;
  for (const p of positives) {
    for (const n of negatives) wins += p.score > n.score ? 1 : p.score === n.score ? 0.5 : 0;
  }
  return wins / (positives.length * negatives.length);
}

/** A deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('parseScores', () => {
  test("reads the transform's <label>,<score> lines and skips the last newline", () => {
    expect(parseScores('1,0.93\n0,1.2E-4\n0.0,0.5\n', 'f')).toEqual([
      { label: 1, score: 0.93 },
      { label: 0, score: 0.00012 },
      { label: 0, score: 0.5 },
    ]);
  });

  test.each([
    ['1,0.5,0.2', /has 3 field\(s\)/],
    ['0.3', /has 1 field/],
    ['2,0.4', /label must be 0 or 1/],
    ['1,', /has 2 field|score/],
    ['1,1.5', /probability from 0 to 1/],
    ['1,abc', /probability/],
  ])('names the file and line of a malformed line %p', (line, message) => {
    expect(() => parseScores(`1,0.2\n${line}\n`, 's3://b/k.out')).toThrow(UnreadableScoresError);
    expect(() => parseScores(`1,0.2\n${line}\n`, 's3://b/k.out')).toThrow(/s3:\/\/b\/k.out line 2/);
    expect(() => parseScores(`1,0.2\n${line}\n`, 's3://b/k.out')).toThrow(message);
  });
});

describe('rankAuc', () => {
  test('matches the pairwise reference on random scores with many ties', () => {
    const next = random(7);
    for (let round = 0; round < 20; round += 1) {
      const records: ScoredRecord[] = Array.from({ length: 300 }, () => {
        const label = next() < 0.1 ? 1 : 0;
        // Two decimals give ties; frauds score higher on average.
        const score = Math.round(Math.min(1, next() * 0.7 + label * 0.3) * 100) / 100;
        return { label: label as 0 | 1, score };
      });
      records.push({ label: 1, score: 0.5 }, { label: 0, score: 0.5 });
      expect(rankAuc(records)).toBeCloseTo(pairwiseAuc(records), 12);
    }
  });

  test('is 1 for a perfect ranking, 0 for a reversed one, 0.5 when every score ties', () => {
    const one = (label: 0 | 1, score: number): ScoredRecord => ({ label, score });
    expect(rankAuc([one(1, 0.9), one(0, 0.1)])).toBe(1);
    expect(rankAuc([one(1, 0.1), one(0, 0.9)])).toBe(0);
    expect(rankAuc([one(1, 0.3), one(0, 0.3), one(0, 0.3)])).toBe(0.5);
  });

  test('is null without a record of either class', () => {
    expect(rankAuc([{ label: 0, score: 0.2 }])).toBeNull();
    expect(rankAuc([])).toBeNull();
  });
});

describe('ratesAt', () => {
  test('flags a record above the cut, not at it', () => {
    const records: ScoredRecord[] = [
      { label: 1, score: 0.9 },
      { label: 1, score: 0.5 },
      { label: 0, score: 0.6 },
      { label: 0, score: 0.1 },
    ];
    expect(ratesAt(records, 0.5)).toEqual({ recall: 0.5, precision: 0.5 });
    expect(ratesAt(records, 0.95)).toEqual({ recall: 0, precision: null });
  });
});

describe('compareWithChampion', () => {
  const champion = modelFigures('m-old', [
    { label: 1, score: 0.9 },
    { label: 1, score: 0.4 },
    { label: 0, score: 0.6 },
    { label: 0, score: 0.1 },
  ]);

  test('the champion has AUC 0.75 on these scores', () => {
    expect(champion).toEqual({ modelName: 'm-old', auc: 0.75, recall: 0.5, precision: 0.5, records: 4 });
  });

  test('the challenger wins at or above the minimum improvement, however floats round', () => {
    expect(compareWithChampion({ auc: 0.76, recall: 0.6 }, champion, 0.01).decision).toBe('challenger-wins');
    expect(compareWithChampion({ auc: 0.75, recall: 0.6 }, champion, 0).decision).toBe('challenger-wins');
    expect(compareWithChampion({ auc: 0.7599, recall: 0.6 }, champion, 0.01)).toMatchObject({
      decision: 'champion-kept',
      improvement: 0.0099,
    });
  });

  test('a negative minimum improvement tolerates a slightly worse challenger', () => {
    expect(compareWithChampion({ auc: 0.74, recall: null }, champion, -0.02).decision).toBe('challenger-wins');
    expect(compareWithChampion({ auc: 0.72, recall: null }, champion, -0.02).decision).toBe('champion-kept');
  });

  test('a champion output without both classes fails with what to check', () => {
    expect(() => modelFigures('m', [{ label: 0, score: 0.1 }])).toThrow(/without both a fraud and a legitimate/);
  });
});

describe('checkSameRecords', () => {
  const scored = (...labels: (0 | 1)[]) => labels.map((label) => ({ label, score: 0.5 }));

  test('passes two outputs of the same records, whatever the scores', () => {
    expect(() =>
      checkSameRecords(
        scored(1, 0, 0),
        [0.9, 0.1, 0.2].map((score, i) => ({ label: ([1, 0, 0] as const)[i], score })),
      ),
    ).not.toThrow();
  });

  test('refuses outputs of different lengths, or of different labels in the same place', () => {
    expect(() => checkSameRecords(scored(1, 0, 0), scored(1, 0))).toThrow(/scored 3 record\(s\) and the challenger 2/);
    expect(() => checkSameRecords(scored(1, 0, 0), scored(1, 1, 0))).toThrow(/disagree on the label of record 2/);
  });
});

describe('settingsFromEnvironment', () => {
  test('reads the minimum improvement and the bucket', () => {
    expect(settingsFromEnvironment({ MIN_IMPROVEMENT: '-0.01', MODELS_BUCKET: 'b' })).toEqual({
      minImprovement: -0.01,
      bucket: 'b',
    });
  });

  test.each([{ MODELS_BUCKET: 'b' }, { MIN_IMPROVEMENT: '2', MODELS_BUCKET: 'b' }, { MIN_IMPROVEMENT: 'x' }])(
    'refuses %p',
    (environment) => {
      expect(() => settingsFromEnvironment(environment)).toThrow(/MIN_IMPROVEMENT|MODELS_BUCKET/);
    },
  );
});

describe('readScores, with the real S3 client against a local stand-in', () => {
  let server: LocalServer;
  const objects: Record<string, string> = {};
  const requests: string[] = [];

  beforeAll(async () => {
    server = await startLocalServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://local');
      requests.push(`${request.method} ${url.pathname}${url.search}`);
      const [, bucket, ...key] = url.pathname.split('/');
      if (url.searchParams.get('list-type') === '2') {
        // ListObjectsV2, one key per page, so the reader must follow continuation tokens.
        const prefix = url.searchParams.get('prefix') ?? '';
        const keys = Object.keys(objects)
          .filter((k) => k.startsWith(prefix))
          .sort();
        const start = Number(url.searchParams.get('continuation-token') ?? '0');
        const page = keys.slice(start, start + 1);
        const truncated = start + 1 < keys.length;
        response.writeHead(200, { 'content-type': 'application/xml' });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${prefix}</Prefix>` +
            `<KeyCount>${page.length}</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
            page.map((k) => `<Contents><Key>${k}</Key><Size>${objects[k].length}</Size></Contents>`).join('') +
            (truncated ? `<NextContinuationToken>${start + 1}</NextContinuationToken>` : '') +
            '</ListBucketResult>',
        );
        return;
      }
      const body = objects[decodeURIComponent(key.join('/'))];
      if (body === undefined) {
        response.writeHead(404, { 'content-type': 'application/xml' });
        response.end('<Error><Code>NoSuchKey</Code><Message>missing</Message></Error>');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(body);
    });
  });
  afterAll(() => server.close());
  beforeEach(() => {
    for (const k of Object.keys(objects)) delete objects[k];
    requests.length = 0;
  });

  const client = () =>
    new S3Client({
      endpoint: server.url,
      forcePathStyle: true,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });

  test("reads every output file under the run's prefix, across pages, and nothing of another run", async () => {
    objects['models/run-1/champion-scores/a.gz.out'] = '1,0.9\n0,0.2\n';
    objects['models/run-1/champion-scores/b.gz.out'] = '0,0.4\n';
    objects['models/run-2/champion-scores/a.gz.out'] = '1,0.1\n';
    const records = await readScores(client(), 'models-bucket', championScoresPrefix('run-1'), 'champion');
    expect(records).toEqual([
      { label: 1, score: 0.9 },
      { label: 0, score: 0.2 },
      { label: 0, score: 0.4 },
    ]);
    expect(requests.filter((r) => r.includes('list-type=2'))).toHaveLength(2);
    expect(requests.some((r) => r.includes('run-2/champion-scores/a'))).toBe(false);
  });

  test('reads a file of 200,000 records, more than a spread into push() survives', async () => {
    objects['models/run-1/champion-scores/big.gz.out'] = Array.from({ length: 200_000 }, (_, i) =>
      i % 50 === 0 ? '1,0.9' : '0,0.1',
    ).join('\n');
    const records = await readScores(client(), 'models-bucket', championScoresPrefix('run-1'), 'champion');
    expect(records).toHaveLength(200_000);
    expect(modelFigures('m', records)).toMatchObject({ auc: 1, recall: 1, records: 200_000 });
  });

  test('fails with the prefix when the transform wrote nothing', async () => {
    objects['models/run-1/champion-scores/empty.out'] = '';
    await expect(readScores(client(), 'models-bucket', championScoresPrefix('run-1'), 'champion')).rejects.toThrow(
      /s3:\/\/models-bucket\/models\/run-1\/champion-scores\/ holds 1 file\(s\) and no scored record; the champion's/,
    );
  });
});
