import { ApiClient } from './api.js';

/** The server's /metrics, as Prometheus text. */
export async function metricsText(url: string): Promise<string> {
  return (await new ApiClient(url).request<string>('GET', '/metrics')).body;
}

/** One sample's value from Prometheus text, e.g. sample(text, 'x_total{outcome="ok"}'); 0 when absent. */
export function sample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(series + ' '));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
