// The guard that keeps report.json's schemas and their types one fact: it fails to compile when either drifts.
import type { z } from 'zod';
import type { RunReport } from './report.ts';
import type { RunReportFile } from './report-file.ts';
import type { runReportSchemaV1, runReportSchemaV2 } from './report-schema.ts';

// Each schema and its type describe the same JSON: when they differ, tsc names each path that differs on
// the lines below, e.g. `"configs[].observations[]<kernel-oom>.constraintLine?: string"`.
type Leaf<T> = T extends string ? (string extends T ? 'string' : `'${T}'`) : T extends number ? (number extends T ? 'number' : `${T}`) : T extends boolean ? 'boolean' : 'null';
/** Every path of a JSON shape with its leaf type; a key typed `T | undefined` is optional (JSON.stringify drops it). */
type Paths<T, P extends string> = T extends readonly (infer U)[]
  ? Paths<U, `${P}[]`>
  : T extends object
    ? string extends keyof T
      ? Paths<T[keyof T], `${P}{}`>
      : { [K in keyof T & string]-?: Paths<Exclude<T[K], undefined>, `${P}${T extends { kind: infer D extends string } ? `<${D}>` : ''}.${K}${undefined extends T[K] ? '?' : ''}`> }[keyof T & string]
    : `${P}: ${Leaf<T>}`;
type Drift<S, T> = Exclude<Paths<S, 'report'>, Paths<T, 'report'>> | Exclude<Paths<T, 'report'>, Paths<S, 'report'>>;
type InSync<D> = [D] extends [never] ? 'in sync' : D extends infer P extends string ? `drift: ${P}` : never;
export const SCHEMA_V1_MATCHES_TYPES: InSync<Drift<z.infer<typeof runReportSchemaV1>, RunReport>> = 'in sync';
export const SCHEMA_V2_MATCHES_TYPES: InSync<Drift<z.infer<typeof runReportSchemaV2>, RunReportFile>> = 'in sync';
