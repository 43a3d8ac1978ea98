// A bounded closed-loop load generator that records time to first byte.
// Each virtual user sends its next request as soon as the previous one ends.

import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";

export type LoadOptions = {
  url: string;
  headers: Record<string, string>;
  users: number;
  durationMs: number;
  /** Hard cap on requests, so the run ends even if the clock misbehaves. */
  maxRequests: number;
  /** A 200 whose body lacks this text counts as an error (e.g. a page showing an outage). */
  expectText: string;
};

export type LoadResult = {
  requests: number;
  errors: number;
  statusCounts: Record<string, number>;
  durationSeconds: number;
  requestsPerSecond: number;
  ttfbMs: Percentiles;
  totalMs: Percentiles;
};

export type Percentiles = { p50: number; p90: number; p95: number; p99: number; max: number };

export function percentiles(samples: number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (fraction: number): number => {
    if (sorted.length === 0) return Number.NaN;
    const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
    return Math.round((sorted[Math.max(0, index)] ?? Number.NaN) * 10) / 10;
  };
  return { p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: at(1) };
}

type Sample = { status: number; ttfb: number; total: number; complete: boolean } | { error: string };

function once(agent: Agent, options: LoadOptions): Promise<Sample> {
  return new Promise((resolve) => {
    const started = performance.now();
    const outgoing = request(options.url, { agent, headers: options.headers, timeout: 30_000 }, (response) => {
      const ttfb = performance.now() - started;
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => {
        resolve({
          status: response.statusCode ?? 0,
          ttfb,
          total: performance.now() - started,
          complete: body.includes(options.expectText),
        });
      });
      response.on("error", (error) => {
        resolve({ error: error.message });
      });
    });
    outgoing.on("timeout", () => outgoing.destroy(new Error("timeout")));
    outgoing.on("error", (error) => {
      resolve({ error: error.message });
    });
    outgoing.end();
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.users });
  const deadline = performance.now() + options.durationMs;
  const ttfb: number[] = [];
  const total: number[] = [];
  const statusCounts: Record<string, number> = {};
  let started = 0;
  let errors = 0;

  const user = async (): Promise<void> => {
    while (performance.now() < deadline && started < options.maxRequests) {
      started += 1;
      const sample = await once(agent, options);
      if ("error" in sample) {
        errors += 1;
        statusCounts[sample.error] = (statusCounts[sample.error] ?? 0) + 1;
        continue;
      }
      const outcome = sample.status === 200 && !sample.complete ? "200 without the expected content" : String(sample.status);
      statusCounts[outcome] = (statusCounts[outcome] ?? 0) + 1;
      if (sample.status !== 200 || !sample.complete) errors += 1;
      ttfb.push(sample.ttfb);
      total.push(sample.total);
    }
  };

  const began = performance.now();
  await Promise.all(Array.from({ length: options.users }, user));
  const seconds = (performance.now() - began) / 1000;
  agent.destroy();
  return {
    requests: started,
    errors,
    statusCounts,
    durationSeconds: Math.round(seconds * 10) / 10,
    requestsPerSecond: Math.round((started / seconds) * 10) / 10,
    ttfbMs: percentiles(ttfb),
    totalMs: percentiles(total),
  };
}
