// The InnoDB semaphore waits of a configuration in report.md (0-model/semaphore-text.ts words them).
import type { ConfigResult } from '../0-model/report.ts';
import { semaphoreBlocks } from '../0-model/semaphore-text.ts';

/** A paragraph per server, its sites as a list, its last section with waits; old reports keep their excerpt. */
export function semaphoreMarkdown(config: ConfigResult): string[] {
  const blocks = semaphoreBlocks(config);
  if (blocks.length === 0) {
    // A report written before the summary: its excerpt alone, and no claim the version cannot back.
    const excerpt = config.metrics.innodbSemaphoreExcerpt;
    if (excerpt) return ['Last InnoDB SEMAPHORES section:', '', '```', excerpt, '```', ''];
    return excerpt === '' ? ['InnoDB SEMAPHORES section: empty.', ''] : [];
  }
  return blocks.flatMap((block) => [
    `InnoDB semaphores on ${block.instance}: ${block.heading}.`,
    '',
    ...(block.sites.length > 0 ? [...block.sites.map((site) => `- ${site.replace(/^(\S+)/, '`$1`')}`), ''] : []),
    ...(block.excerpt ? [`Last SEMAPHORES section with waits on ${block.instance}:`, '', '```', block.excerpt, '```', ''] : []),
  ]);
}
