// The import rules of the TypeScript code (npm run lint): no cycle, type-only imports included,
// and no product code that reaches into the test suites. Product: the program (index.ts,
// components/, stacks/), the policy pack, the up:dev launcher and the project's own cluster.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycle",
      comment: "A module must not import itself through others: a reader could not start anywhere.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "product-imports-no-test-code",
      comment: "The program, the policy pack, the launcher and the cluster are shipped; test/ and e2e/ are not.",
      severity: "error",
      from: { path: "^(index\\.ts|components|stacks|policy|launcher|local-cluster)(/|$)" },
      to: { path: "^(test|e2e)/" },
    },
    {
      name: "stack-config-stands-alone",
      comment: "stacks/ is the configuration every component takes: it imports no component (only its generator reads the contract).",
      severity: "error",
      from: { path: "^stacks/", pathNot: "^stacks/generate\\.ts$" },
      to: { path: "^components/" },
    },
    {
      name: "no-unresolvable",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: a cycle through types is still one a reader must untangle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(apps|helm|node_modules|bin)/" },
  },
};
