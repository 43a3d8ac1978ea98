import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { APP_NAME } from "./contract";

/** The Pod Security Admission level every pod of the app must meet. */
export const POD_SECURITY_LEVEL = "restricted";

export interface AppNamespaceArgs {
    /** Namespace name (config todo:namespace, default "todo-app"). */
    name: string;
}

/**
 * The app's namespace, with Pod Security Admission enforcing the `restricted` profile (the
 * successor of PodSecurityPolicy, removed in Kubernetes 1.25): a pod that runs as root, keeps
 * capabilities or lacks a seccomp profile is refused at admission.
 */
export class AppNamespace extends pulumi.ComponentResource {
    readonly name: pulumi.Output<string>;

    constructor(name: string, args: AppNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("todo:components:AppNamespace", name, {}, opts);
        const labels: Record<string, string> = { "app.kubernetes.io/part-of": APP_NAME };
        for (const mode of ["enforce", "audit", "warn"]) {
            labels[`pod-security.kubernetes.io/${mode}`] = POD_SECURITY_LEVEL;
            labels[`pod-security.kubernetes.io/${mode}-version`] = "latest";
        }
        const namespace = new k8s.core.v1.Namespace(name, { metadata: { name: args.name, labels } }, { parent: this });
        this.name = namespace.metadata.name;
        this.registerOutputs({ name: this.name });
    }
}
