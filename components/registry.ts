import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { objectLabels } from "./contract";

export const PULL_SECRET_NAME = "registry-credentials";

export interface RegistryCredentials {
    /** Registry host, e.g. docker.io or 127.0.0.1:5000. */
    address: string;
    username: string;
    password: pulumi.Input<string>;
}

/** An image pull Secret (kubernetes.io/dockerconfigjson) for a private registry, its content secret. */
export function imagePullSecret(namespace: pulumi.Input<string>, credentials: RegistryCredentials, parent: pulumi.Resource): k8s.core.v1.Secret {
    // Docker Hub's credentials are keyed by its v1 index URL, every other registry by host.
    const server = credentials.address === "docker.io" ? "https://index.docker.io/v1/" : credentials.address;
    const dockerConfig = pulumi.output(credentials.password).apply((password) =>
        JSON.stringify({
            auths: {
                [server]: {
                    username: credentials.username,
                    password,
                    auth: Buffer.from(`${credentials.username}:${password}`).toString("base64"),
                },
            },
        }),
    );
    return new k8s.core.v1.Secret(
        "registry-credentials",
        {
            metadata: { name: PULL_SECRET_NAME, namespace, labels: objectLabels("backend") },
            type: "kubernetes.io/dockerconfigjson",
            stringData: { ".dockerconfigjson": pulumi.secret(dockerConfig) },
        },
        { parent, deleteBeforeReplace: true },
    );
}
