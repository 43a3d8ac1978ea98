// Security settings that satisfy Pod Security Admission `restricted`, shared by every pod.
import type * as k8s from "@pulumi/kubernetes";

type PodSecurityContext = k8s.types.input.core.v1.PodSecurityContext;
type SecurityContext = k8s.types.input.core.v1.SecurityContext;

/** UID and GID the application images run as (set in their Dockerfiles). */
export const APP_UID = 10001;

/** Non-root numeric user, group-owned volumes, the runtime's default seccomp profile. */
export function podSecurityContext(uid: number = APP_UID): PodSecurityContext {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        fsGroup: uid,
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** No privilege escalation, no capabilities, a read-only root filesystem. */
export function containerSecurityContext(): SecurityContext {
    return {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ["ALL"] },
    };
}
