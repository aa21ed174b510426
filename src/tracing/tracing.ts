import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { TracingSettings } from '../config/settings.js';

let sdk: NodeSDK | undefined;

/**
 * Starts OpenTelemetry tracing with the official Node SDK when an OTLP endpoint is set
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); otherwise nothing runs and
 * every span below is the API's no-op. The SDK reads the standard OTEL_* variables itself
 * (protocol, headers, sampler, batch delays, resource attributes). Traces only: metrics are
 * Prometheus's (/metrics) and logs are JSON lines on stdout, which carry the trace id. The SDK is
 * loaded only then: it costs about half a second and 40 MB to load.
 */
export async function startTracing(settings: TracingSettings): Promise<boolean> {
  if (!settings.enabled || sdk) return Boolean(sdk);
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  sdk = new NodeSDK({ serviceName: settings.serviceName, metricReaders: [], logRecordProcessors: [] });
  sdk.start();
  return true;
}

/** Sends the spans still buffered; called once the application has shut down. */
export async function stopTracing(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  await running?.shutdown().catch(() => undefined);
}
