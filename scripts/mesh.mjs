// `npm run mesh`: three brokers on this machine for trying the mesh out — client ports 8080–8082,
// cluster ports 7946–7948, a development secret. Ctrl-C stops all three.
import { spawn } from 'node:child_process';

const seeds = '127.0.0.1:7946,127.0.0.1:7947,127.0.0.1:7948';
const children = [0, 1, 2].map((i) => {
  const child = spawn(
    process.execPath,
    ['dist/broker/main/cli.js', '--host', '127.0.0.1', '--port', String(8080 + i), '--name', `broker-${i}`, '--cluster-port', String(7946 + i), '--seeds', seeds, '--cluster-secret', process.env.CHORUS_CLUSTER_SECRET ?? 'dev-only-secret'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let rest = '';
  child.stdout.on('data', (chunk) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) process.stdout.write(`[broker-${i}] ${line}\n`);
  });
  return child;
});
const stop = () => {
  for (const child of children) child.kill('SIGTERM');
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
