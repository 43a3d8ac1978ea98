// Runs once as the server starts. Client connections are kept for a limited time, so that new pods
// get traffic (src/lib/connection-age.ts). The Deployments set METRICS_PORT, and the frontend then
// serves its request metrics there for Prometheus (src/lib/request-metrics.ts); local runs and the
// tests leave it unset, and start no second server.
export async function register(): Promise<void> {
  // The proxy may run on the edge runtime, which has no HTTP server to observe.
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { limitConnectionAge } = await import("./lib/connection-age");
  limitConnectionAge();
  const port = process.env.METRICS_PORT;
  if (port === undefined || port === "") return;
  const { metricsPort, serveMetrics } = await import("./lib/request-metrics");
  await serveMetrics(metricsPort(port));
}
