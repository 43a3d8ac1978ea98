// The migration Job on the native path: `python -m todo_api migrate` with the backend image, one
// Job per image, after the database is ready and before the backend rolls out.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

import { MIGRATION, migrationJobName, objectLabels } from "./contract";
import { type PodBasics, podSpec } from "./workload";

type Container = k8s.types.input.core.v1.Container;

export interface MigrationArgs {
    namespace: pulumi.Input<string>;
    backendImage: pulumi.Input<string>;
    /** The backend's container settings (image, env, resources, security) the Job runs with. */
    container: Omit<Container, "name" | "command">;
    pod: PodBasics;
    /** Resources to wait for before it runs, e.g. the Postgres StatefulSet. */
    databaseReady: pulumi.Resource[];
}

export function deployMigration(args: MigrationArgs, parent: pulumi.Resource): k8s.batch.v1.Job {
    return new k8s.batch.v1.Job(
        "migrate",
        {
            metadata: { name: pulumi.output(args.backendImage).apply(migrationJobName), namespace: args.namespace, labels: objectLabels("migration") },
            spec: {
                backoffLimit: MIGRATION.backoffLimit,
                activeDeadlineSeconds: MIGRATION.activeDeadlineSeconds,
                template: {
                    metadata: { labels: objectLabels("migration") },
                    spec: { ...podSpec(args.pod, [{ ...args.container, name: "migrate", command: [...MIGRATION.command] }]), restartPolicy: "Never" },
                },
            },
        },
        { parent, dependsOn: args.databaseReady },
    );
}
