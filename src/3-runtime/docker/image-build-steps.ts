// What an offline image build is doing and about how long it has left, told as it goes:
// `building oomlab/mariadb:10.11, step 2 of 5 (installing the packages), about 35 s left`.

/**
 * The steps of a build, each with the seconds it took to build oomlab/mariadb:10.11 on the project's
 * 2-core machines (a cold first run, 7 December 2026: 18.5, 34.6, 1.7, 5.3 and 0.8 s, 61 s in all, on a
 * busy host). Other recipes and hosts are scaled by the time the build has taken so far: it says "about".
 */
export const BUILD_STEPS = [
  { name: 'downloading the Debian packages', typicalS: 18 },
  { name: 'installing the packages', typicalS: 34 },
  { name: 'seeding the data directory', typicalS: 2 },
  { name: 'importing the root filesystem into the engine', typicalS: 5 },
  { name: 'checking the image', typicalS: 1 },
] as const;

export type BuildStep = 0 | 1 | 2 | 3 | 4;

/** The step a line of build.sh's output (debootstrap's `I:` lines) begins, if it begins one. */
export function stepBegunBy(line: string): BuildStep | undefined {
  if (/^I: Extracting /.test(line)) return 1;
  if (/^I: Base system installed successfully/.test(line)) return 2;
  return undefined;
}

/** Seconds left from the start of `step`, `elapsedMs` into the build: the typical rest, scaled by how this build has gone so far. */
export function secondsLeft(step: BuildStep, elapsedMs: number): number {
  const typicalBefore = BUILD_STEPS.slice(0, step).reduce((s, x) => s + x.typicalS, 0);
  const typicalRest = BUILD_STEPS.slice(step).reduce((s, x) => s + x.typicalS, 0);
  // Before a few seconds have passed there is nothing to scale by.
  const pace = typicalBefore >= 5 ? Math.min(3, Math.max(0.5, elapsedMs / 1000 / typicalBefore)) : 1;
  const left = typicalRest * pace;
  // To 5 s above 10 s: a finer figure would claim a precision the estimate does not have.
  return Math.max(1, left >= 10 ? Math.round(left / 5) * 5 : Math.round(left));
}

/** Tells each step once, in order (a step skipped by the output is told with the next). */
export function buildStepTeller(target: string, say: (line: string) => void, startedMs: number, now: () => number = Date.now): (step: BuildStep) => void {
  let current = -1;
  return (step) => {
    if (step <= current) return;
    current = step;
    say(`building ${target}, step ${step + 1} of ${BUILD_STEPS.length} (${BUILD_STEPS[step]!.name}), about ${secondsLeft(step, now() - startedMs)} s left`);
  };
}
