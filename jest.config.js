/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testTimeout: 60000,
  // Types are checked once by `tsc --noEmit` (npm run lint); per-file transpiling keeps jest fast.
  transform: { "^.+\\.ts$": "ts-jest" },
};
