// Every command and the flags it takes, as its parser reads them: what CI workflow files are checked against.
import type { ParseArgsOptionsConfig } from 'node:util';
import { BISECT_OPTIONS } from './bisect.ts';
import { CLEAN_OPTIONS } from './clean.ts';
import { COMPARE_OPTIONS } from './compare.ts';
import { DOCTOR_OPTIONS } from './doctor.ts';
import { IMAGES_LOAD_OPTIONS, IMAGES_OPTIONS } from './images.ts';
import { MERGE_OPTIONS } from './merge.ts';
import { REPORT_OPTIONS } from './report.ts';
import { RUN_OPTIONS } from './run.ts';

export interface CommandSpec {
  options: ParseArgsOptionsConfig;
  /** Sub-commands, by their first positional (`images load`). */
  sub?: Record<string, CommandSpec>;
}

export const CLI_COMMANDS: Record<string, CommandSpec> = {
  run: { options: RUN_OPTIONS },
  merge: { options: MERGE_OPTIONS },
  bisect: { options: BISECT_OPTIONS },
  report: { options: REPORT_OPTIONS },
  compare: { options: COMPARE_OPTIONS },
  images: { options: IMAGES_OPTIONS, sub: { load: { options: IMAGES_LOAD_OPTIONS } } },
  // probe and list read their arguments by hand: `--json` and scenario files.
  probe: { options: { json: { type: 'boolean' } } },
  list: { options: {} },
  doctor: { options: DOCTOR_OPTIONS },
  clean: { options: CLEAN_OPTIONS },
};
