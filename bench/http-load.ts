// The stand-in HTTP driver's highest sustainable rate against a trivial server in another process (so the
// two do not share a CPU): rates double until the driver falls behind its schedule or latency climbs.
// Usage: node --import tsx bench/http-load.ts [--from 500] [--to 64000] [--seconds 3] [--max-p99-ms 50]
import { execa } from 'execa';
import { parseArgs } from 'node:util';
import { runHttpStandIn } from '../src/5-workload/http/stand-in.ts';

const { values } = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, seconds: { type: 'string' }, 'max-p99-ms': { type: 'string' } } });
const from = Number(values.from ?? 500);
const to = Number(values.to ?? 64_000);
const seconds = Number(values.seconds ?? 3);
const maxP99Ms = Number(values['max-p99-ms'] ?? 50);

const SERVER = `
const server = require('node:http').createServer((req, res) => res.end('ok'));
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;
const server = execa(process.execPath, ['-e', SERVER]);
const port = await new Promise<number>((resolve, reject) => {
  server.stdout.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim())));
  server.catch(reject);
});

let sustained = 0;
try {
  console.log(`stand-in vs node:http in another process, ${seconds}s per rate; sustainable: every arrival sent on time (≥ 99%), none dropped, p99 ≤ ${maxP99Ms}ms`);
  console.log('rate/s   sent     achieved  dropped  p50 ms   p99 ms   max ms   failed');
  for (let rate = from; rate <= to; rate *= 2) {
    const result = await runHttpStandIn({
      baseUrl: `http://127.0.0.1:${port}`,
      paths: [{ path: '/', weight: 1 }],
      startPerSecond: rate,
      stages: [{ targetPerSecond: rate, durationMs: seconds * 1_000 }],
      maxInFlight: 10_000,
      signal: new AbortController().signal,
    });
    const row = [rate, result.requests.started, result.achievedRatio.toFixed(3), result.requests.dropped, result.latencyMs.p50, result.latencyMs.p99, result.latencyMs.max, result.requests.failed];
    console.log(row.map((v) => String(v).padEnd(8)).join(' '));
    const ok = result.achievedRatio >= 0.99 && result.requests.dropped === 0 && result.requests.failed === 0 && result.latencyMs.p99 <= maxP99Ms;
    if (!ok) break;
    sustained = rate;
  }
  console.log(sustained > 0 ? `highest sustainable rate: ${sustained}/s` : `not sustainable even at ${from}/s`);
} finally {
  server.kill();
  await server.catch(() => {});
}
