import { Duration } from 'aws-cdk-lib';
import { PartitionCrawl, type PartitionCrawlProps } from '../../lib/training/partition-crawl';
import { bareStack, placeholder, render } from './bare-stack';

function crawl(overrides: Partial<PartitionCrawlProps> = {}) {
  const stack = bareStack();
  const step = new PartitionCrawl(stack, 'Crawl', {
    crawlerName: 'raw-events',
    onFailure: placeholder(stack, 'Failed'),
    ...overrides,
  });
  return { stack, step };
}

describe('PartitionCrawl', () => {
  test('waits the poll interval between looks at the crawler, and waits for one that is already running', () => {
    const { stack, step } = crawl({ pollInterval: Duration.seconds(45) });
    const { states } = render(stack, step.chain);
    expect(states.WaitForCrawler).toMatchObject({ Type: 'Wait', Seconds: 45, Next: 'GetCrawler' });
    expect(states.StartCrawler.Catch).toEqual([
      { ErrorEquals: ['Glue.CrawlerRunningException'], ResultPath: null, Next: 'WaitForCrawler' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Failed' },
    ]);
  });

  test('may start and read only its own crawler', () => {
    const { stack, step } = crawl();
    const { statements } = render(stack, step.chain);
    const glue = statements.filter((s) => JSON.stringify(s.Action).includes('glue:'));
    expect(glue.flatMap((s) => [s.Action].flat()).sort()).toEqual(['glue:getCrawler', 'glue:startCrawler']);
    for (const statement of glue) expect(JSON.stringify(statement.Resource)).toMatch(/:crawler\/raw-events"\]\]\}$/);
  });
});

describe('PartitionCrawl validation', () => {
  test('rejects a poll interval that is not whole seconds', () => {
    expect(() => crawl({ pollInterval: Duration.millis(1500) })).toThrow(
      'PartitionCrawl Test/Crawl: pollInterval (1 second 500 millis) must be a whole number of seconds, at least 1 (a Wait state counts in seconds); pass for example Duration.seconds(30)',
    );
  });

  test('rejects an empty crawler name', () => {
    expect(() => crawl({ crawlerName: '' })).toThrow(
      "PartitionCrawl Test/Crawl: crawlerName '' must be 1 to 255 characters; pass the name of the Glue crawler",
    );
  });
});
