import { defineConfig } from "@playwright/test";

import { CHROMIUM_LAUNCH_OPTIONS } from "./e2e/support/browser";

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results/playwright",
  globalSetup: "./e2e/support/global-setup.ts",
  // One worker: the tests share one backend, and one of them stops it on purpose.
  workers: 1,
  fullyParallel: false,
  forbidOnly: process.env.CI !== undefined,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    launchOptions: CHROMIUM_LAUNCH_OPTIONS,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
});
