// Test helpers of the pack: run one policy on resources as the engine would hand them over (type
// token and inputs), and collect what it reports, without starting the pack's server.
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";

export interface TestResource {
    /** Pulumi type token, e.g. kubernetes:apps/v1:Deployment. */
    type: string;
    /** The resource's inputs (a Kubernetes manifest). */
    props: Record<string, unknown>;
}

const urnOf = (resource: TestResource): string => {
    const name = (resource.props.metadata as { name?: string } | undefined)?.name ?? "unnamed";
    return `urn:pulumi:test::todo::${resource.type}::${name}`;
};

const noConfig = (): never => {
    throw new Error("the project's policies take no configuration");
};

const notApplicable = (reason?: string): never => {
    throw new Error(`the policy is not applicable${reason ? `: ${reason}` : ""}`);
};

function resourceArgs(resource: TestResource): ResourceValidationArgs {
    return {
        ...resource,
        urn: urnOf(resource),
        name: urnOf(resource).split("::").pop() ?? "",
        opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 } },
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: noConfig,
        notApplicable,
    };
}

/** The violations a resource policy reports for one resource. */
export async function runResourcePolicy(policy: ResourceValidationPolicy, resource: TestResource): Promise<string[]> {
    const violations: string[] = [];
    const validate = policy.validateResource ?? [];
    const validations = Array.isArray(validate) ? validate : [validate];
    for (const validation of validations) {
        await validation(resourceArgs(resource), (message) => violations.push(message));
    }
    return violations;
}

/** The violations a stack policy reports for a stack of these resources. */
export async function runStackPolicy(policy: StackValidationPolicy, resources: TestResource[]): Promise<string[]> {
    const violations: string[] = [];
    const stackResources: PolicyResource[] = resources.map((resource) => ({
        ...resource,
        urn: urnOf(resource),
        name: urnOf(resource).split("::").pop() ?? "",
        opts: resourceArgs(resource).opts,
        dependencies: [],
        propertyDependencies: {},
        isType: () => false,
        asType: () => undefined,
    }));
    const args: StackValidationArgs = { resources: stackResources, stackTags: new Map(), getConfig: noConfig, notApplicable };
    await policy.validateStack(args, (message) => violations.push(message));
    return violations;
}
