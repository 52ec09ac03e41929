import { afterEach, describe, expect, it } from 'vitest';
import { currentSession, labelsFor, sessionLabels, SESSION_ENV } from '../../src/3-runtime/docker/labels.ts';

const before = process.env[SESSION_ENV];
afterEach(() => {
  if (before === undefined) delete process.env[SESSION_ENV];
  else process.env[SESSION_ENV] = before;
});

describe('session label', () => {
  it('comes from OOMLAB_SESSION, and is absent when it is unset or blank', () => {
    expect(sessionLabels({ OOMLAB_SESSION: 'ci-1234' })).toEqual({ 'oomlab.session': 'ci-1234' });
    expect(sessionLabels({ OOMLAB_SESSION: '  ' })).toEqual({});
    expect(sessionLabels({})).toEqual({});
    expect(currentSession({ OOMLAB_SESSION: ' ci-1234\n' })).toBe('ci-1234');
  });

  it("is on every run's labels when set, read at creation time", () => {
    delete process.env[SESSION_ENV];
    expect(labelsFor({ runId: 'r1', scenario: 's' }, 'c', 'db')).not.toHaveProperty(['oomlab.session']);
    process.env[SESSION_ENV] = 'test-cli-42';
    expect(labelsFor({ runId: 'r1', scenario: 's' }, 'c', 'db')).toEqual({
      'oomlab.run': 'r1',
      'oomlab.scenario': 's',
      'oomlab.config': 'c',
      'oomlab.instance': 'db',
      'oomlab.owner-pid': String(process.pid),
      'oomlab.session': 'test-cli-42',
    });
  });
});
