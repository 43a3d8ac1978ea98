// Runs the ChartApp component (components/chart.ts) under pulumi.runtime.setMocks with a
// stack's configuration, the way index.ts would in `todo:deployMethod: chart`, and returns
// every resource it registered: the Secrets it creates with Pulumi and the Helm Release with
// the values it computed.
import type * as pulumiType from "@pulumi/pulumi";

import { type CapturedResource, type Inputs, PROJECT, type RunOptions, type StackName, stackConfig } from "../harness";

export interface ChartAppRun {
    resources: CapturedResource[];
}

/** The Pulumi wire format's secret marker: {[SIGNATURE_KEY]: SECRET_SIGNATURE, value}. */
const SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

/** A value with its secret wrappers removed, and the paths where they were (as the harness records them). */
function unwrapSecrets(value: unknown, at: string, secretPaths: string[]): unknown {
    if (Array.isArray(value)) {
        return value.map((item, index) => unwrapSecrets(item, `${at}[${String(index)}]`, secretPaths));
    }
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SIGNATURE_KEY] === SECRET_SIGNATURE) {
            secretPaths.push(at);
            return unwrapSecrets(record.value, at, []);
        }
        return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, unwrapSecrets(item, at === "" ? key : `${at}.${key}`, secretPaths)]));
    }
    return value;
}

/**
 * Runs ChartApp for a stack, with the image references the native run deployed.
 * @param images backend and frontend references, as index.ts passes them
 */
export async function runChartApp(stack: StackName, images: { backend: string; frontend: string }, options: RunOptions = {}): Promise<ChartAppRun> {
    const config: Record<string, string> = stackConfig(stack);
    for (const [key, value] of Object.entries(options.config ?? {})) {
        config[`${PROJECT}:${key}`] = value;
    }
    const secretKeys = (options.secretKeys ?? []).map((key) => `${PROJECT}:${key}`);
    const resources: CapturedResource[] = [];
    await jest.isolateModulesAsync(async () => {
        process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(secretKeys);
        const pulumi = (await import("@pulumi/pulumi")) as typeof pulumiType;
        pulumi.runtime.setAllConfig(config, secretKeys);
        await pulumi.runtime.setMocks(
            {
                newResource: (args) => {
                    const secretPaths: string[] = [];
                    const inputs = unwrapSecrets(args.inputs, "", secretPaths) as Inputs;
                    resources.push({ type: args.type, name: args.name, inputs, secretPaths });
                    const state: Inputs =
                        args.type === "random:index/randomPassword:RandomPassword"
                            ? { ...inputs, result: `generated${args.name.replace(/[^a-z0-9]/gi, "")}`.padEnd(Number(inputs.length), "x") }
                            : inputs;
                    return { id: `${args.name}-id`, state };
                },
                call: (args) => args.inputs as Record<string, unknown>,
            },
            PROJECT,
            stack,
            false,
        );
        const { loadStackConfig } = await import("../../stacks/config");
        const { ChartApp } = await import("../../components/chart");
        const stackSettings = loadStackConfig();
        new ChartApp("todo", {
            namespace: stackSettings.namespace,
            config: stackSettings,
            images,
            jwtSecret: pulumi.secret(stackSettings.jwtSecret ?? pulumi.output("a-generated-jwt-secret-of-48-characters-xxxxxxxx")),
        });
        const settings = (await import("@pulumi/pulumi/runtime/settings")) as { waitForRPCs?: () => Promise<void> };
        await settings.waitForRPCs?.();
    });
    return { resources };
}
