// Runs the commands the suite needs (kubectl, helm, docker, the cluster scripts) as child
// processes: arguments as arrays, never through a shell, each with a deadline.
import { spawn } from "node:child_process";

export interface RunOptions {
    /** Text written to the command's stdin. */
    input?: string;
    /** Kill the command after this many seconds. Default: 300. */
    timeoutSeconds?: number;
    /** Extra environment variables. */
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Also show the command's stderr as it comes (long builds print their progress there). */
    showProgress?: boolean;
}

export interface RunResult {
    command: string;
    status: number | null;
    stdout: string;
    stderr: string;
}

const DEFAULT_TIMEOUT_SECONDS = 300;

export function describeCommand(command: string, args: readonly string[]): string {
    return [command, ...args].map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part))).join(" ");
}

/** Runs a command to its end and returns what it printed, whatever its exit status. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    return new Promise((resolve) => {
        const child = spawn(command, args, {
            cwd: options.cwd,
            env: { ...process.env, ...options.env },
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
            stderr += chunk;
            if (options.showProgress) process.stderr.write(chunk);
        });
        const timer = setTimeout(() => {
            stderr += `\n(killed after ${timeoutSeconds} s)`;
            child.kill("SIGKILL");
        }, timeoutSeconds * 1000);
        child.on("error", (error) => {
            clearTimeout(timer);
            resolve({ command: describeCommand(command, args), status: null, stdout, stderr: `${stderr}${String(error)}` });
        });
        child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ command: describeCommand(command, args), status, stdout, stderr });
        });
        child.stdin.on("error", () => undefined);
        child.stdin.end(options.input ?? "");
    });
}

/** Runs a command and returns its stdout; any exit status but 0 throws with what it printed. */
export async function output(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await run(command, args, options);
    if (result.status !== 0) {
        throw new Error(`${result.command} exited with ${result.status ?? "a signal"}: ${(result.stderr || result.stdout).trim().slice(-2000)}`);
    }
    return result.stdout;
}

export const sleep = (milliseconds: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * Polls `probe` every two seconds until it returns a value other than undefined, for at most
 * `seconds`; then throws with the last thing it saw.
 */
export async function eventually<Value>(seconds: number, what: string, probe: () => Promise<Value | undefined>): Promise<Value> {
    const deadline = Date.now() + seconds * 1000;
    let lastSeen = "";
    for (;;) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
            lastSeen = "";
        } catch (error) {
            lastSeen = error instanceof Error ? `: ${error.message}` : `: ${String(error)}`;
        }
        if (Date.now() >= deadline) throw new Error(`${what}: not within ${seconds} s${lastSeen}`);
        await sleep(2000);
    }
}
