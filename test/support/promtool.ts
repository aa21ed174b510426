import { execFile, spawnSync } from 'node:child_process';

/** Whether Prometheus's promtool (Debian's `prometheus` package) is on PATH. */
export function hasPromtool(): boolean {
  return spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** `promtool check metrics` on Prometheus text: its exit code and what it said (nothing when clean). */
export function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      if (code === -1) reject(error ?? new Error('promtool failed'));
      else resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
    child.stdin!.end(text);
  });
}
