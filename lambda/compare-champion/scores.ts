/** Reads a run's scores from S3: every object under one of its score prefixes, page by page. */

import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { UnreadableScoresError, parseScores, type ScoredRecord } from './compare';

export async function readScores(
  s3: S3Client,
  bucket: string,
  prefix: string,
  model: 'champion' | 'challenger',
): Promise<ScoredRecord[]> {
  const records: ScoredRecord[] = [];
  let files = 0;
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const { Key: key } of page.Contents ?? []) {
      if (key === undefined) continue;
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = (await object.Body?.transformToString('utf8')) ?? '';
      // One by one: spreading a file's records into push() overflows the stack past about 100,000 of them.
      for (const record of parseScores(text, `s3://${bucket}/${key}`)) records.push(record);
      files += 1;
    }
  }
  if (records.length === 0) {
    throw new UnreadableScoresError(
      `s3://${bucket}/${prefix} holds ${files} file(s) and no scored record; the ${model}'s batch transform ` +
        'wrote nothing to compare with',
    );
  }
  return records;
}
