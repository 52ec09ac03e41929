// Production's OOM kill beside the lab's: the figures of both, and whether the lab reproduced it.

/** Production's kill as a scenario made from an incident carries it (`oomlab from-incident`). */
export interface ProductionKill {
  instance: string;
  process: string;
  scope: 'memcg' | 'global' | 'memory-policy' | 'cpuset' | 'unknown';
  constraint?: string;
  anonRssKb?: number;
  /** The scenario sized the lab's server to hold `anonRssKb`: the lab's anon-rss is an input then, not a finding. */
  anonRssSizedTo?: boolean;
  totalVmKb?: number;
  limitBytes?: number;
  /** What the other processes of production's task table held at the kill (absent: no table, or one cut before the victim's row). */
  othersRssKb?: number;
  oomScoreAdj?: number;
  phase: 'start-up' | 'under-load' | 'after-load' | 'unknown';
  line?: string;
  /** Production's server as the evidence named it (`assumed` when only guessed from the process name). */
  server?: { family: 'mysql' | 'mariadb'; version: string; assumed?: boolean };
}

/** `MySQL 5.7`, `MariaDB 10.11 (assumed)`. */
export function serverText(server: NonNullable<ProductionKill['server']>): string {
  return `${server.family === 'mysql' ? 'MySQL' : 'MariaDB'} ${server.version}${server.assumed ? ' (assumed: the evidence did not name the version)' : ''}`;
}

export type SignatureFigure = 'process' | 'server' | 'scope' | 'anon-rss' | 'other processes' | 'total-vm' | 'phase' | 'oom_score_adj';

export interface SignatureRow {
  figure: SignatureFigure;
  production: string;
  lab: string;
  /** `same` within the figure's tolerance; `unknown` when either side lacks it. */
  match: 'same' | 'differs' | 'unknown';
  /** Does this figure decide the verdict? A server family's own total-vm, say, does not. */
  decisive: boolean;
  note?: string;
}

export interface SignatureMatch {
  verdict: 'reproduced' | 'partly' | 'not-reproduced' | 'not-decided';
  /** The configuration whose kill was compared. */
  configId?: string;
  production: ProductionKill;
  /** The lab's image where it is not production's server: what stood in, and for what. */
  standIn?: { image: string; production: string };
  rows: SignatureRow[];
  /** One sentence: the verdict and, for `partly`, which figures differ. */
  summary: string;
}

export const SIGNATURE_WORDS: Record<SignatureMatch['verdict'], string> = {
  reproduced: 'Reproduced',
  partly: 'Partly reproduced',
  'not-reproduced': 'Not reproduced',
  'not-decided': 'Not decided',
};
