import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseShard } from '../../src/2-plan/index.ts';
import { CLI_COMMANDS } from '../../src/9-cli/commands/table.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const SHELL_OPERATORS = new Set(['||', '&&', ';', '|', '>', '>>', '2>/dev/null']);

/** Words of one shell line, quotes honoured; enough for the lines these files hold. */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Every `oomlab …`/`./oomlab …` invocation in a script: the words after it, up to a shell operator. */
function oomlabCommands(script: string): string[][] {
  const found: string[][] = [];
  for (const line of script.split('\n')) {
    const w = words(line.replace(/#.*$/, ''));
    w.forEach((word, i) => {
      if (word !== 'oomlab' && word !== './oomlab') return;
      const end = w.findIndex((x, j) => j > i && (SHELL_OPERATORS.has(x) || x.endsWith(';')));
      found.push(w.slice(i + 1, end === -1 ? undefined : end));
    });
  }
  return found;
}

/** Parses the words as the CLI will, with its own flag table: an unknown flag or a flag without its value throws. */
function checkAgainstCli(args: string[]): { command: string; values: Record<string, unknown>; positionals: string[] } {
  const [command, ...rest] = args;
  let spec = CLI_COMMANDS[command ?? ''];
  if (!spec) throw new Error(`\`oomlab ${args.join(' ')}\`: no command \`${command}\`; the CLI has ${Object.keys(CLI_COMMANDS).join(', ')}`);
  let tail = rest;
  if (spec.sub && rest[0] && spec.sub[rest[0]]) {
    spec = spec.sub[rest[0]]!;
    tail = rest.slice(1);
  }
  const { values, positionals } = parseArgs({ args: tail, options: spec.options, allowPositionals: true, strict: true });
  return { command: command!, values, positionals };
}

describe('the CLI flag table', () => {
  it('has every command main.ts dispatches, and no other', () => {
    const dispatched = [...read('src/9-cli/main.ts').matchAll(/case '([a-z]+)':/g)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(Object.keys(CLI_COMMANDS).sort()).toEqual(dispatched.sort());
  });

  it('refuses a flag the command does not take (the check can fail)', () => {
    expect(() => checkAgainstCli(['run', 'scenarios/nofile-oom.ts', '--shards', '1/3'])).toThrow("Unknown option '--shards'");
    expect(() => checkAgainstCli(['merge', 'shards/a', '--out'])).toThrow("Option '--out <value>' argument missing");
    expect(() => checkAgainstCli(['bisekt'])).toThrow('no command `bisekt`');
  });
});

interface GithubStep {
  run?: string;
  uses?: string;
}
interface GithubJob {
  needs?: string | string[];
  strategy?: { matrix?: Record<string, unknown[]> };
  steps: GithubStep[];
}

describe('docs/ci/github-actions.yml', () => {
  const workflow = parse(read('docs/ci/github-actions.yml')) as { jobs: Record<string, GithubJob> };
  const jobs = Object.entries(workflow.jobs);
  // GitHub expands the matrix expression before the shell splits words: so does the check.
  const MATRIX_SHARD = ['$', '{{ matrix.shard }}'].join('');
  const commandsOf = (job: GithubJob, shard = 1) => job.steps.flatMap((s) => (s.run ? oomlabCommands(s.run.replaceAll(MATRIX_SHARD, String(shard))) : []));

  it('runs only commands and flags the CLI has', () => {
    const all = jobs.flatMap(([, job]) => commandsOf(job));
    expect(all.map((a) => a[0])).toEqual(['run', 'merge']);
    for (const args of all) checkAgainstCli(args);
  });

  it('runs shards 1..N, each once, N being the count the command gives', () => {
    const [name, job] = jobs.find(([, j]) => commandsOf(j).some((a) => a.includes('--shard')))!;
    const values = job.strategy?.matrix?.shard ?? [];
    const shards = values.map((v) => parseShard(checkAgainstCli(commandsOf(job, Number(v))[0]!).values.shard as string));
    const count = shards[0]!.count;
    expect(shards.map((s) => s.index).sort()).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(new Set(shards.map((s) => s.count))).toEqual(new Set([count]));
    expect(name).toBe('shard');
  });

  it('merges in a job that needs the shard job, posts report.md as the summary and publishes junit.xml', () => {
    const [, merge] = jobs.find(([, j]) => commandsOf(j).some((a) => a[0] === 'merge'))!;
    expect([merge.needs].flat()).toContain('shard');
    const { values } = checkAgainstCli(commandsOf(merge)[0]!);
    const out = values.out as string;
    expect(merge.steps.some((s) => s.run?.includes(`${out}/report.md >> "$GITHUB_STEP_SUMMARY"`))).toBe(true);
    expect(merge.steps.some((s) => s.uses?.startsWith('mikepenz/action-junit-report') && JSON.stringify(s).includes(`${out}/junit.xml`))).toBe(true);
  });
});

interface GitlabJob {
  stage?: string;
  parallel?: number;
  needs?: (string | { job: string })[];
  script: string[];
  artifacts?: { reports?: { junit?: string } };
}

describe('docs/ci/gitlab-ci.yml', () => {
  const pipeline = parse(read('docs/ci/gitlab-ci.yml')) as Record<string, unknown>;
  const jobs = Object.entries(pipeline).filter((entry): entry is [string, GitlabJob] => typeof entry[1] === 'object' && entry[1] !== null && 'script' in entry[1]);
  const commandsOf = (job: GitlabJob) => job.script.flatMap((line) => oomlabCommands(line));

  it('runs only commands and flags the CLI has', () => {
    const all = jobs.flatMap(([, job]) => commandsOf(job));
    expect(all.map((a) => a[0])).toEqual(['run', 'merge']);
    for (const args of all) checkAgainstCli(args);
  });

  it('runs shards 1..N: parallel N with CI_NODE_INDEX/CI_NODE_TOTAL', () => {
    const [, job] = jobs.find(([, j]) => commandsOf(j).some((a) => a.includes('--shard')))!;
    const { values } = checkAgainstCli(commandsOf(job)[0]!);
    expect(values.shard).toBe('$CI_NODE_INDEX/$CI_NODE_TOTAL');
    const count = job.parallel!;
    expect(count).toBeGreaterThan(1);
    // GitLab numbers parallel jobs 1..parallel: each gives a valid, distinct shard.
    const shards = Array.from({ length: count }, (_, i) => parseShard(`${i + 1}/${count}`));
    expect(shards.map((s) => s.index)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });

  it('merges in a job that needs the shard job, after it, with junit.xml as its test report', () => {
    const [shardName, shardJob] = jobs.find(([, j]) => commandsOf(j).some((a) => a.includes('--shard')))!;
    const [, merge] = jobs.find(([, j]) => commandsOf(j).some((a) => a[0] === 'merge'))!;
    expect((merge.needs ?? []).map((n) => (typeof n === 'string' ? n : n.job))).toContain(shardName);
    const stages = pipeline.stages as string[];
    expect(stages.indexOf(merge.stage!)).toBeGreaterThan(stages.indexOf(shardJob.stage!));
    const { values, positionals } = checkAgainstCli(commandsOf(merge)[0]!);
    expect(merge.artifacts?.reports?.junit).toBe(`${values.out as string}/junit.xml`);
    // The merge reads the folders the shards wrote.
    const reportsDir = checkAgainstCli(commandsOf(shardJob)[0]!).values['reports-dir'] as string;
    expect(positionals[0]!.startsWith(reportsDir.split('/$')[0]!)).toBe(true);
  });
});
