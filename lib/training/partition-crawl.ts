import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { retryOrFail } from '../shared/retries';

export interface PartitionCrawlProps {
  /** The Glue crawler that adds the raw table's new partitions to the catalog. */
  readonly crawlerName: string;
  /** Where a failed crawl, and any error while crawling, goes: the pipeline's failure path. */
  readonly onFailure: sfn.IChainable;
  /** How long to wait between polls of the crawler, in whole seconds. @default Duration.seconds(30) */
  readonly pollInterval?: Duration;
}

/**
 * The pipeline's first step: start the crawler and wait until it is ready again, so the export sees every partition
 * that has landed. A crawler that is already running (its own schedule started it) is waited for instead; a crawl
 * that failed fails the run. Glue's start is fire-and-forget, so this is the Start / Wait / Get / Choice loop that
 * Step Functions needs for any integration without `.sync`.
 */
export class PartitionCrawl extends Construct {
  /** From StartCrawler to the state after a successful crawl. */
  readonly chain: sfn.Chain;

  constructor(scope: Construct, id: string, props: PartitionCrawlProps) {
    super(scope, id);
    const { crawlerName, onFailure } = props;
    const pollInterval = props.pollInterval ?? Duration.seconds(30);
    const pollSeconds = pollInterval.toSeconds({ integral: false });
    if (!Number.isInteger(pollSeconds) || pollSeconds < 1) {
      throw new Error(
        `PartitionCrawl ${this.node.path}: pollInterval (${pollInterval.toHumanString()}) must be a whole number ` +
          'of seconds, at least 1 (a Wait state counts in seconds); pass for example Duration.seconds(30)',
      );
    }
    if (!Token.isUnresolved(crawlerName) && !/^.{1,255}$/s.test(crawlerName)) {
      throw new Error(
        `PartitionCrawl ${this.node.path}: crawlerName '${crawlerName}' must be 1 to 255 characters; pass the name of the Glue crawler`,
      );
    }
    const crawlerArn = Stack.of(this).formatArn({ service: 'glue', resource: 'crawler', resourceName: crawlerName });
    const start = retryOrFail(
      new tasks.CallAwsService(this, 'StartCrawler', {
        service: 'glue',
        action: 'startCrawler',
        parameters: { Name: crawlerName },
        iamResources: [crawlerArn],
        resultPath: sfn.JsonPath.DISCARD,
      }),
      'glueSdk',
      onFailure,
    );
    const wait = new sfn.Wait(this, 'WaitForCrawler', { time: sfn.WaitTime.duration(pollInterval) });
    const getCrawler = retryOrFail(
      new tasks.CallAwsService(this, 'GetCrawler', {
        service: 'glue',
        action: 'getCrawler',
        parameters: { Name: crawlerName },
        iamResources: [crawlerArn],
        // Only the crawler object: LastCrawl is absent until a crawler's first run ends, so it is tested, not selected.
        resultSelector: { 'state.$': '$.Crawler.State', 'details.$': '$.Crawler' },
        resultPath: '$.crawler',
      }),
      'glueSdk',
      onFailure,
    );
    start.addCatch(wait, { errors: ['Glue.CrawlerRunningException'], resultPath: sfn.JsonPath.DISCARD });
    const crawled = new sfn.Pass(this, 'Crawled');
    const crawlFailed = new sfn.Pass(this, 'CrawlFailed', {
      parameters: {
        Error: 'CrawlFailed',
        Cause: `Crawler ${crawlerName} failed its last crawl; see its CloudWatch logs`,
      },
      resultPath: '$.failure',
    }).next(onFailure);
    // Choice rules are tried in order, so a path is only read once an earlier rule has shown it is present.
    const lastCrawlStatus = '$.crawler.details.LastCrawl.Status';
    const succeeded = new sfn.Choice(this, 'DidCrawlSucceed')
      .when(sfn.Condition.not(sfn.Condition.isPresent(lastCrawlStatus)), crawled)
      .when(sfn.Condition.stringEquals(lastCrawlStatus, 'FAILED'), crawlFailed)
      .otherwise(crawled);
    const ready = new sfn.Choice(this, 'IsCrawlerReady')
      .when(sfn.Condition.stringEquals('$.crawler.state', 'READY'), succeeded)
      .otherwise(wait);
    start.next(wait);
    wait.next(getCrawler).next(ready);
    this.chain = sfn.Chain.custom(start, [crawled], crawled);
  }
}
