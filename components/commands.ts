// What a command the program or the launcher runs printed, and the program's way to run one and
// wait for it: the program must know some answers (is the monitoring API served?) before it
// registers a single resource, so it cannot await a promise.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";

/** How long any one question to a tool (kubectl, docker, minikube, pulumi) may take. */
export const COMMAND_TIMEOUT_MS = 20_000;

/** What a command printed; `missing` when it is not on PATH. */
export interface CommandResult {
    status: number | null;
    stdout: string;
    stderr: string;
    missing: boolean;
}

/** The first non-empty line a command printed (stderr first), for one-line problem reports. */
export const firstLine = (result: CommandResult): string =>
    `${result.stderr}\n${result.stdout}`
        .split("\n")
        .map((line) => line.trim())
        .find((line) => line !== "") ?? `exit ${result.status}`;

/** Runs one command and waits for it: for the program, which must know before it registers anything. */
export type SyncRunner = (command: string, args: string[]) => CommandResult;

/** The real one: through PATH, with the program's environment (KUBECONFIG...), bounded in time. */
export function systemSyncRunner(): SyncRunner {
    return (command, args) => {
        // A command that could not start or was stopped has no output: its error says why.
        const { error, status, stdout, stderr } = spawnSync(command, args, { env: process.env, timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" }) as Partial<SpawnSyncReturns<string>>;
        if (error) {
            return { status: null, stdout: "", stderr: error.message, missing: (error as NodeJS.ErrnoException).code === "ENOENT" };
        }
        return { status: status ?? null, stdout: stdout ?? "", stderr: stderr ?? "", missing: false };
    };
}
