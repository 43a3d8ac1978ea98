// The command line of `npm run up:dev` / `down:dev` (launcher/main-job.ts).

export const USAGE = "usage: npm run up:dev|down:dev -- [--context KUBE_CONTEXT] [--config KEY=VALUE ...] [pulumi arguments...]";

/** A command line the main job cannot run; the message says what to write instead. */
export class UsageError extends Error {}

export interface MainJobArgs {
    action: "up" | "down";
    /** The kube context named with --context; undefined lets the preflight choose. */
    context: string | undefined;
    /** Everything else, for `pulumi up` / `pulumi destroy`. */
    pulumiArgs: string[];
    /** pulumiArgs split by `configArguments`: the --config settings and the other arguments. */
    config: ConfigArguments;
}

export interface ConfigArguments {
    settings: Record<string, string>;
    rest: string[];
}

/** The main job's command line; `--config` keys without a namespace go into PROJECT's. */
export function parseMainJobArgs(argv: readonly string[], project: string): MainJobArgs {
    const [action, ...rest] = argv;
    if (action !== "up" && action !== "down") throw new UsageError(`unknown action '${action ?? ""}'; accepted: up, down`);
    let context: string | undefined;
    const pulumiArgs: string[] = [];
    for (let index = 0; index < rest.length; index++) {
        const arg = rest[index] ?? "";
        if (arg === "--context") {
            context = rest[++index];
            if (context === undefined) throw new UsageError("--context needs the name of a kube context");
        } else if (arg.startsWith("--context=")) context = arg.slice("--context=".length);
        else pulumiArgs.push(arg);
    }
    return { action, context, pulumiArgs, config: configArguments(pulumiArgs, project) };
}

/**
 * Splits `--config KEY=VALUE` (`-c`, `--config=`) from Pulumi's other arguments, keys without a
 * namespace in PROJECT's. On the project's own cluster the settings go into its config file, so
 * that the image build before the `up` sees them too.
 */
export function configArguments(args: readonly string[], project: string): ConfigArguments {
    const settings: Record<string, string> = {};
    const rest: string[] = [];
    for (let index = 0; index < args.length; index++) {
        const arg = args[index] ?? "";
        let pair: string | undefined;
        if (arg === "--config" || arg === "-c") {
            pair = args[++index];
            if (pair === undefined) throw new UsageError(`${arg} needs KEY=VALUE, e.g. ${arg} ${project}:backendMinReplicas=2`);
        } else if (arg.startsWith("--config=")) pair = arg.slice("--config=".length);
        if (pair === undefined) {
            rest.push(arg);
            continue;
        }
        const equals = pair.indexOf("=");
        if (equals <= 0) throw new UsageError(`--config ${pair}: accepted: KEY=VALUE, e.g. --config ${project}:backendMinReplicas=2`);
        const key = pair.slice(0, equals);
        settings[key.includes(":") ? key : `${project}:${key}`] = pair.slice(equals + 1);
    }
    return { settings, rest };
}
