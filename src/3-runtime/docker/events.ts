import type { Engine } from './engine.ts';
import { LABEL_RUN } from './labels.ts';
import type { InstanceEvent } from '../runtime.ts';

/** Streams the engine's container events for one run (oom, die with exit code, start...). */
export async function watchRunEvents(engine: Engine, runId: string, onEvent: (event: InstanceEvent) => void): Promise<{ stop(): void }> {
  const stream = (await engine.streams.getEvents({
    filters: { type: ['container'], label: [`${LABEL_RUN}=${runId}`] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        const event = JSON.parse(line) as { Action: string; Actor?: { ID: string; Attributes?: Record<string, string> }; timeNano?: number; time?: number };
        const exitCode = event.Actor?.Attributes?.exitCode;
        onEvent({
          timeMs: event.timeNano ? Math.round(event.timeNano / 1e6) : (event.time ?? 0) * 1000,
          action: event.Action,
          containerId: event.Actor?.ID ?? '',
          ...(exitCode !== undefined ? { exitCode: Number(exitCode) } : {}),
        });
      } catch {
        // A partial or foreign line; the next one resynchronises.
      }
    }
  });
  stream.on('error', () => {});
  return { stop: () => stream.destroy() };
}
