// A configuration of the matrix and what can happen to a server in it: the words every stage shares.

export type AxisValue = string | number;
export type Matrix = Record<string, readonly AxisValue[]>;
/** One point of the matrix: a value for every axis. */
export type Config<M extends Matrix = Matrix> = { readonly [K in keyof M]: M[K][number] };
export const OUTCOMES = ['survived', 'oom-killed-at-startup', 'oom-killed-under-load', 'oom-killed-after-load', 'crashed', 'never-ready'] as const;
export type Outcome = (typeof OUTCOMES)[number];
