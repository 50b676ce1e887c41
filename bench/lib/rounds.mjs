// The in-process benches' timing: `run(count)` once to warm up (compiled, tables full), then
// `rounds` more, each timed by the process's CPU time; nanoseconds per unit (`count * per` units a
// round), the least and the median of the rounds.
export function cpuRounds(run, { rounds, count, per = 1 }) {
  run(count);
  const ns = [];
  for (let r = 0; r < rounds; r++) {
    const before = process.cpuUsage();
    run(count);
    const used = process.cpuUsage(before);
    ns.push(((used.user + used.system) * 1000) / (count * per));
  }
  ns.sort((a, b) => a - b);
  return { min: Math.round(ns[0]), median: Math.round(ns[Math.floor(rounds / 2)]) };
}
