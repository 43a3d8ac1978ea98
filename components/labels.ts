// Labels shared by every object of the app, following the app.kubernetes.io conventions, so
// that both deploy paths (native and chart) select and describe pods the same way.

/** The part of the app a workload or object belongs to. */
export type Component = "frontend" | "backend" | "database" | "migration";

export const APP_NAME = "todo-app";
/** Instance label of the native path; the chart path uses its release name, "todo" by default. */
export const DEFAULT_INSTANCE = "todo";

/** The labels a Service or NetworkPolicy selects pods by. */
export function selectorLabels(component: Component, instance: string = DEFAULT_INSTANCE): Record<string, string> {
    return {
        "app.kubernetes.io/name": APP_NAME,
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
    };
}

/** Every label an object carries. */
export function objectLabels(component: Component, instance: string = DEFAULT_INSTANCE): Record<string, string> {
    return {
        ...selectorLabels(component, instance),
        "app.kubernetes.io/part-of": APP_NAME,
        "app.kubernetes.io/managed-by": "pulumi",
    };
}
