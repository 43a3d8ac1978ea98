// Lint for the Pulumi program (the apps under apps/ have their own linters).
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["apps/**", "helm/**", "e2e/support/load.cjs", "e2e/jest.config.js", ".dependency-cruiser.cjs", "loadtest/**/*.py", "bin/**", "node_modules/**", "*.js", "*.mjs"] },
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { pulumi },
    rules: {
      "pulumi/no-output-in-template-literal": "error",
      "pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
    },
  },
  {
    // Tests read manifests: free-form JSON, where `any` member access is the point.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
);
