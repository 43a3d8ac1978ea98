// Copies of the program for the stacks to run: the sources and the backend copied (the suite
// changes backend code), the frontend, the chart, the up:dev launcher, the project's own cluster
// and node_modules linked. Stack files,
// encryption salts and code changes never touch the checkout.
import { cpSync, mkdirSync, symlinkSync } from "node:fs";
import * as path from "node:path";

const COPIED = [".github", "index.ts", "components", "stacks", "policy", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "package.json", "tsconfig.json"];
const BACKEND_COPIED = ["Dockerfile", ".dockerignore", "requirements.lock", "src"];

export function copyProject(rootDir: string, projectDir: string): void {
    mkdirSync(path.join(projectDir, "apps", "backend"), { recursive: true });
    for (const entry of COPIED) cpSync(path.join(rootDir, entry), path.join(projectDir, entry), { recursive: true });
    for (const entry of ["node_modules", "helm", "launcher", "local-cluster"]) symlinkSync(path.join(rootDir, entry), path.join(projectDir, entry));
    symlinkSync(path.join(rootDir, "apps", "frontend"), path.join(projectDir, "apps", "frontend"));
    for (const entry of BACKEND_COPIED) {
        cpSync(path.join(rootDir, "apps", "backend", entry), path.join(projectDir, "apps", "backend", entry), {
            recursive: true,
            filter: (source) => path.basename(source) !== "__pycache__",
        });
    }
}
