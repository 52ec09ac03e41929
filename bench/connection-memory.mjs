// Memory per connection, idle and busy: opens N connections to a server on 127.0.0.1:PORT (root, password pw,
// database feed), reads the container's anon (cgroup v1 total_rss) before and after, then runs SQL on all at
// once and samples anon every 50 ms. Usage: node bench/connection-memory.mjs PORT N CGROUP_DIR [SQL with one ?]
import { createConnection } from 'mysql2/promise';
import { readFileSync } from 'node:fs';
const [port, n, cg, ...sqlParts] = process.argv.slice(2);
const sql = sqlParts.join(' ');
const rss = () => {
  const s = readFileSync(`${cg}/memory.stat`, 'utf8');
  return Number(/^total_rss (\d+)/m.exec(s)[1]);
};
const MiB = (b) => (b / 1048576).toFixed(1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const base = rss();
const conns = [];
for (let i = 0; i < Number(n); i++) conns.push(await createConnection({ host: '127.0.0.1', port: Number(port), user: 'root', password: 'pw', database: 'feed' }));
await sleep(1000);
const idle = rss();
console.log(`base ${MiB(base)} idle ${MiB(idle)} per idle conn ${((idle - base) / n / 1024).toFixed(0)} KiB`);
if (sql) {
  let peak = idle;
  const t = setInterval(() => {
    peak = Math.max(peak, rss());
  }, 50);
  const t0 = Date.now();
  await Promise.all(conns.map((c, i) => c.query(sql, [i]).catch((e) => console.log(e.message))));
  clearInterval(t);
  await sleep(500);
  const after = rss();
  console.log(
    `busy peak ${MiB(peak)} per busy conn ${((peak - idle) / n / 1024).toFixed(0)} KiB; after ${MiB(after)} (retained ${((after - idle) / n / 1024).toFixed(0)} KiB/conn) in ${Date.now() - t0} ms`,
  );
}
await Promise.all(conns.map((c) => c.end()));
await sleep(500);
console.log(`closed ${MiB(rss())}`);
