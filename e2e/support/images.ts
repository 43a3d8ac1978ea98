// Stacks that build into the local Docker (`load: true`): the images are built first (a targeted
// `up` of the Images component) and handed to the target's load command, which gets them onto the
// node (the offline cluster's containerd imports them; Minikube's Docker has them already).
import type { E2ePath } from "./path";
import { output } from "../../local-cluster/shell";
import type { PlannedStep, TestStack } from "./stack";

const IMAGE_TYPE = "docker-build:index:Image";

/** The Images component and its two Images, by URN, from a preview. */
export function imageTargets(steps: readonly PlannedStep[]): string[] {
    return steps.filter((step) => step.type === IMAGE_TYPE || step.urn.endsWith("::images")).map((step) => step.urn);
}

/** The tags the stack's Images recorded. */
export async function builtImageTags(stack: TestStack): Promise<string[]> {
    const images = (await stack.resources()).filter((resource) => resource.type === IMAGE_TYPE);
    return images.flatMap((image) => (image.outputs?.tags as string[] | undefined) ?? []);
}

// The URNs stay the same through code changes: one preview per stack finds them.
const targetsOfStack = new WeakMap<TestStack, string[]>();

export async function buildAndLoadImages(path: E2ePath, stack: TestStack): Promise<void> {
    const targets = targetsOfStack.get(stack) ?? imageTargets(await stack.preview());
    targetsOfStack.set(stack, targets);
    if (targets.length !== 3) throw new Error(`expected the Images component and its two Images in the preview, found ${JSON.stringify(targets)}`);
    await stack.up({ targets });
    const tags = await builtImageTags(stack);
    path.say(`built: ${tags.join(" ")}`);
    if (tags.length !== 2) throw new Error(`expected two image tags in the state, found ${JSON.stringify(tags)}`);
    const [command, ...args] = path.run.target.loadImagesCommand;
    if (command) await output(command, [...args, ...tags], { timeoutSeconds: 600 });
}
