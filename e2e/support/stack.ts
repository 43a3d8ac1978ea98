// A stack of the program's copy, driven by the Pulumi Automation API (the CLI on PATH, the
// local backend and passphrase the launcher set in the environment).
import { type EngineEvent, LocalWorkspace, type OpType, type Stack } from "@pulumi/pulumi/automation";

/** A setting: a plain value, or one that Pulumi stores encrypted. */
export type Setting = string | { secret: string };

export interface PlannedStep {
    op: OpType;
    urn: string;
    /** The resource's type token, e.g. kubernetes:apps/v1:Deployment. */
    type: string;
    /** The resource's logical name. */
    name: string;
}

export interface StateResource {
    type: string;
    urn: string;
    outputs?: Record<string, unknown>;
}

// Seconds one `pulumi up` may take (two cold image builds on a busy 2-core machine).
export const UP_TIMEOUT_SECONDS = 2400;

/** Prints a command's output indented under its check. */
export const print = (text: string): void => {
    process.stdout.write(text.replace(/^/gm, "      "));
};

/** type::name of a URN (urn:pulumi:STACK::PROJECT::PARENT$...$TYPE::NAME). */
export function describeUrn(urn: string): { type: string; name: string } {
    const [, , typePath = "", name = ""] = urn.split("::");
    return { type: typePath.split("$").pop() ?? typePath, name };
}

export class TestStack {
    private constructor(readonly stack: Stack) {}

    /** A new stack with SETTINGS; a key with an index (`todo:list[0]`) sets one item of a list setting. */
    static async create(projectDir: string, stackName: string, settings: Record<string, Setting>): Promise<TestStack> {
        const stack = await LocalWorkspace.createStack({ stackName, workDir: projectDir });
        for (const [key, value] of Object.entries(settings)) {
            await stack.setConfig(key, typeof value === "string" ? { value } : { value: value.secret, secret: true }, /\[\d+\]$/.test(key));
        }
        return new TestStack(stack);
    }

    /** Selects the stack when it exists (a teardown after an early stop); undefined when it does not. */
    static async existing(projectDir: string, stackName: string): Promise<TestStack | undefined> {
        try {
            return new TestStack(await LocalWorkspace.selectStack({ stackName, workDir: projectDir }));
        } catch {
            return undefined;
        }
    }

    /** The steps a preview plans. */
    async preview(options: { expectNoChanges?: boolean } = {}): Promise<PlannedStep[]> {
        const steps: PlannedStep[] = [];
        const onEvent = (event: EngineEvent): void => {
            const metadata = event.resourcePreEvent?.metadata;
            if (metadata) steps.push({ op: metadata.op, urn: metadata.urn, ...describeUrn(metadata.urn) });
        };
        // A preview that must plan nothing prints its property diff: a failure then says what changed.
        const { expectNoChanges } = options;
        await this.stack.preview({ onEvent, color: "never", expectNoChanges, diff: expectNoChanges, onOutput: expectNoChanges ? print : undefined });
        return steps;
    }

    /**
     * `pulumi preview --policy-pack DIR...`: resolves to the engine's events (the packs' policy
     * events and summaries among them); rejects when a mandatory policy is violated.
     */
    async previewWithPolicies(policyPacks: string[]): Promise<EngineEvent[]> {
        const events: EngineEvent[] = [];
        await this.stack.preview({ policyPacks, color: "never", onOutput: print, onEvent: (event) => events.push(event) });
        return events;
    }

    /** Runs `body` with a stack setting changed, then unsets it again (for keys the stack file leaves to their default). */
    async withSetting<T>(key: string, value: string, body: () => Promise<T>): Promise<T> {
        await this.stack.setConfig(key, { value });
        try {
            return await body();
        } finally {
            await this.stack.removeConfig(key);
        }
    }

    /** `pulumi up`; ON_EVENT sees the engine's events (steps and their times). */
    async up(options: { targets?: string[]; expectNoChanges?: boolean; onEvent?: (event: EngineEvent) => void } = {}): Promise<void> {
        const signal = AbortSignal.timeout(UP_TIMEOUT_SECONDS * 1000);
        const { expectNoChanges, onEvent } = options;
        await this.stack.up({ target: options.targets, expectNoChanges, diff: expectNoChanges, onOutput: print, onEvent, color: "never", signal });
    }

    /** `pulumi refresh --expect-no-changes`: the cluster still matches the state. */
    async refreshFindsNoDrift(): Promise<void> {
        await this.stack.refresh({ expectNoChanges: true, onOutput: print, color: "never" });
    }

    async destroy(): Promise<void> {
        const signal = AbortSignal.timeout(UP_TIMEOUT_SECONDS * 1000);
        await this.stack.destroy({ onOutput: print, color: "never", signal });
    }

    async remove(): Promise<void> {
        await this.stack.workspace.removeStack(this.stack.name);
    }

    /** A stack output as the engine returns it (objects too); undefined when the stack has none by that name. */
    async outputValue(name: string): Promise<unknown> {
        return (await this.stack.outputs())[name]?.value;
    }

    async output(name: string): Promise<string> {
        const value = await this.outputValue(name);
        if (typeof value !== "string") throw new Error(`stack output ${name} is ${JSON.stringify(value)}, not a string`);
        return value;
    }

    /** The resources the stack's state holds, the stack itself included. */
    async resources(): Promise<StateResource[]> {
        const state = await this.stack.exportStack();
        return (state.deployment as { resources?: StateResource[] }).resources ?? [];
    }
}
