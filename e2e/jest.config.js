/** The end-to-end paths (npm run test:e2e runs them through e2e/run.ts, one path at a time). */
/** @type {import('jest').Config} */
module.exports = {
    rootDir: "..",
    testEnvironment: "node",
    testMatch: ["<rootDir>/e2e/paths/*.e2e.ts"],
    // Types are checked once by `tsc --noEmit` (npm run lint); per-file transpiling keeps jest fast.
    transform: { "^.+\\.ts$": "ts-jest" },
    verbose: true,
    // Each check sets its own deadline (e2e/support/path.ts).
    testTimeout: 3_600_000,
};
