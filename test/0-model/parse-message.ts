import { parseReport } from '../../src/0-model/parse-report.ts';

/** What `parseReport` says of a report.json text: `parsed`, or its one-line error. */
export function messageOf(text: string): string {
  try {
    parseReport(text, 'run/report.json');
    return 'parsed';
  } catch (error) {
    return (error as Error).message;
  }
}
