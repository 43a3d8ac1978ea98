import { join, resolve } from "node:path";

export const APP_DIR = resolve(__dirname, "..", "..");
/** Server logs of a test run, kept for reading after a failure. */
export const LOG_DIR = join(APP_DIR, "test-results", "servers");
/** Screenshots of the main screens, looked at by people and copied into docs/. */
export const SCREENSHOT_DIR = join(APP_DIR, "test-results", "screens");
